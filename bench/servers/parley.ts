/**
 * System under test 3: the Parley hub (`createHub` + `attachHub` on node:http at `/parley`) with
 * its default options, rate limits included (20 frames/s per connection, burst 60): the workload
 * stays within them by having enough sender connections (lib/topology.ts `senderBudget`).
 * BENCH_ENGINE=redis uses the Redis engine on the run's own redis-server (`backingUrl`).
 */
import { createServer } from 'node:http';
import { createHub, type Engine } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { createRedisEngine } from '@parley/server-adapter/redis';
import { host, readConfig } from '../lib/server-host.js';
import { conversationsOfUsers, convId, userIndex } from '../lib/topology.js';

const config = readConfig();
const convsOf = conversationsOfUsers(config.topology).map((cs) => cs.map(convId));

let engine: Engine | undefined;
if (process.env.BENCH_ENGINE === 'redis') {
  if (!config.backingUrl) throw new Error("BENCH_ENGINE=redis needs the run's redis-server URL");
  const prefix = config.redisPrefix ?? `parley-bench:${process.pid}:`;
  engine = createRedisEngine({ redis: config.backingUrl, keyPrefix: prefix });
}

const hub = createHub({
  authenticate: async ({ token }) => (token ? { userId: token } : null),
  conversationsOf: async (userId: string) => convsOf[userIndex(userId)] ?? [],
  ...(engine ? { engine } : {}),
  // BENCH_DEBUG=1 shows the hub's warnings and errors on stderr
  ...(process.env.BENCH_DEBUG
    ? {
        logger: {
          debug() {},
          info() {},
          warn: (o: unknown, m?: string) => console.error('[hub warn]', m, o),
          error: (o: unknown, m?: string) => console.error('[hub error]', m, o),
        },
      }
    : {}),
});
const http = createServer();
const attached = attachHub(hub, http, { path: '/parley' });

await host(config, {
  http,
  connections: () => hub.stats().connections,
  close: async () => {
    await hub.close();
    await attached.close();
    await engine?.close();
    http.close();
  },
});

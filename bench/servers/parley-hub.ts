/**
 * The hub every Parley row runs: `createHub` with its default options, rate limits included (20
 * frames/s per connection, burst 60: the workload stays within them by having enough sender
 * connections, lib/topology.ts `senderBudget`). BENCH_ENGINE=redis uses the Redis engine on the
 * run's own redis-server (`backingUrl`); BENCH_ENGINE=redis-cluster on the run's own 3-primary
 * Redis Cluster (`backingUrl` = `host:port,host:port,…`). Shared by servers/parley.ts (Node) and
 * servers/parley-bun.ts (Bun), so the rows differ only in the runtime and its adapter.
 */
import { createHub, type Engine, type Hub } from '@parley/server-adapter';
import { createRedisEngine } from '@parley/server-adapter/redis';
import type { ServerConfig } from '../lib/server-host.js';
import { conversationsOfUsers, convId, userIndex } from '../lib/topology.js';

export function benchHub(config: ServerConfig): { hub: Hub; engine: Engine | undefined } {
  const convsOf = conversationsOfUsers(config.topology).map((cs) => cs.map(convId));
  let engine: Engine | undefined;
  if (process.env.BENCH_ENGINE === 'redis') {
    if (!config.backingUrl) throw new Error("BENCH_ENGINE=redis needs the run's redis-server URL");
    const prefix = config.redisPrefix ?? `parley-bench:${process.pid}:`;
    engine = createRedisEngine({ redis: config.backingUrl, keyPrefix: prefix });
  } else if (process.env.BENCH_ENGINE === 'redis-cluster') {
    if (!config.backingUrl) throw new Error("BENCH_ENGINE=redis-cluster needs the run's cluster");
    const prefix = config.redisPrefix ?? `parley-bench:${process.pid}:`;
    const nodes = config.backingUrl.split(',').map((n) => {
      const [host, port] = n.split(':');
      return { host: host!, port: Number(port) };
    });
    engine = createRedisEngine({ redis: nodes, keyPrefix: prefix });
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
  return { hub, engine };
}

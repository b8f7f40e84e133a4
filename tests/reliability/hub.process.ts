/**
 * One hub process on the Redis engine, for the multi-process chaos variant (started by
 * chaos.test.ts, SIGKILLed and restarted on the same port). Prints `READY <port>` when listening.
 *   PORT, REDIS_URL, KEY_PREFIX, MEMBERS (JSON: conversationId -> user ids)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHub } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { createRedisEngine } from '@parley/server-adapter/redis';

const members = JSON.parse(process.env.MEMBERS ?? '{}') as Record<string, string[]>;
const engine = createRedisEngine({
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keyPrefix: process.env.KEY_PREFIX ?? 'parley-chaos:',
});
const hub = createHub({
  authenticate: ({ token }) => (token ? { userId: token, profile: { name: token } } : null),
  conversationsOf: (u) => Object.keys(members).filter((c) => members[c]!.includes(u)),
  membersOf: (c) => members[c] ?? [],
  engine,
  limits: { rate: { burst: 10_000, perSecond: 10_000, floodThreshold: 100_000 } },
  heartbeat: { intervalMs: 2_000, timeoutMs: 2_000 },
  presence: { graceMs: 100 },
  shutdown: { retryJitterMs: 200, batchIntervalMs: 5, closeTimeoutMs: 1_000 },
});
const server = createServer();
attachHub(hub, server, { path: '/parley' });
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  void hub
    .close()
    .then(() => engine.close())
    .finally(() => process.exit(0));
});

/**
 * One hub process of the cluster: the same code runs N times, on N ports, all sharing one Redis.
 *
 * Environment:
 * - `PORT` (default 0: any free port; the chosen one is printed)
 * - `REDIS_URL` (default redis://127.0.0.1:6379), `PARLEY_KEY_PREFIX` (default `parley-cluster:`)
 * - `REDIS_CLUSTER_NODES`: `host:port,host:port,…` of a Redis Cluster, used instead of REDIS_URL
 *   (start a local one with `scripts/redis-cluster.sh start`: 127.0.0.1:7101-7106)
 * - `PARLEY_CONVERSATIONS`: JSON `{ "<conversationId>": ["<userId>", ...] }` (default: a demo)
 * - `HEARTBEAT_INTERVAL_MS`, `HEARTBEAT_TIMEOUT_MS`, `PRESENCE_GRACE_MS`: hub timings
 *
 * Prints one JSON line `{"event":"listening","port":…,"pid":…}` once it accepts connections.
 */
import http from 'node:http';
import { createHub } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { createRedisEngine } from '@parley/server-adapter/redis';

const env = process.env;
const conversations: Record<string, string[]> = env.PARLEY_CONVERSATIONS
  ? (JSON.parse(env.PARLEY_CONVERSATIONS) as Record<string, string[]>)
  : { general: ['alice', 'bob', 'carol'], 'alice-bob': ['alice', 'bob'] };
const conversationsOf = (userId: string): string[] =>
  Object.keys(conversations).filter((c) => conversations[c]!.includes(userId));
const num = (v: string | undefined): number | undefined =>
  v === undefined ? undefined : Number(v);

const log = (level: string) => (obj: object, msg?: string) => {
  if (level !== 'debug')
    console.error(JSON.stringify({ level, pid: process.pid, msg, ...serialise(obj) }));
};
const serialise = (obj: object): object =>
  Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, v instanceof Error ? v.message : v]));
const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

const clusterNodes = env.REDIS_CLUSTER_NODES?.split(',').map((node) => {
  const [host, port] = node.trim().split(':');
  return { host: host ?? '127.0.0.1', port: Number(port) };
});
const engine = createRedisEngine({
  redis: clusterNodes ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  keyPrefix: env.PARLEY_KEY_PREFIX ?? 'parley-cluster:',
  logger,
});

const heartbeatIntervalMs = num(env.HEARTBEAT_INTERVAL_MS);
const heartbeatTimeoutMs = num(env.HEARTBEAT_TIMEOUT_MS);
const graceMs = num(env.PRESENCE_GRACE_MS);
const hub = createHub({
  // Toy auth: the token is the user id. Use your real session/JWT check here.
  authenticate: ({ token }) =>
    token ? { userId: token, profile: { name: token.toUpperCase() } } : null,
  conversationsOf,
  membersOf: (conversationId) => conversations[conversationId] ?? [],
  engine,
  logger,
  ...(heartbeatIntervalMs === undefined && heartbeatTimeoutMs === undefined
    ? {}
    : { heartbeat: { intervalMs: heartbeatIntervalMs, timeoutMs: heartbeatTimeoutMs } }),
  ...(graceMs === undefined ? {} : { presence: { graceMs } }),
});

// Users of a crashed process go offline by themselves: their presence entries expire in Redis and
// every hub process sweeps for expired users (each expiry is claimed, and announced, exactly once).

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pid: process.pid, ...hub.stats(), redis: engine.status() }));
    return;
  }
  res.statusCode = 404;
  res.end();
});
attachHub(hub, server, { path: '/parley' });
server.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as import('node:net').AddressInfo;
  console.log(JSON.stringify({ event: 'listening', port, pid: process.pid }));
});

// Graceful shutdown: clients get `shutdown` + 1012 and reconnect to another process, no loss.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await hub.close();
    await engine.close();
    server.close();
  });
}

/**
 * Redis-side capacity figures for docs/deploying.md ("Capacity"): the Redis engine on one
 * redis-server of its own and on the local Redis Cluster (`scripts/redis-cluster.sh start`,
 * 3 primaries + 3 replicas on 7101-7106). For each: Redis CPU per appended message (the whole
 * append script: dedupe, seq, history, idempotency record, publish to one subscribed process),
 * the messages each shard handled, and Redis memory per message, per conversation and per online
 * user.
 *
 *   pnpm exec tsx --conditions=@parley/source bench/capacity.ts [messages=20000]
 *
 * CPU is read from /proc (utime + stime of every redis-server, replicas included on the
 * cluster), memory from `INFO memory` (used_memory) before and after.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createRedisEngine, type RedisEngine } from '@parley/server-adapter/redis';
import { Redis } from 'ioredis';

const MESSAGES = Number(process.argv[2] ?? 20_000);
const CONVERSATIONS = 2000;
const USERS = 10_000;
const CONCURRENCY = 64;
const TEXT = 'x'.repeat(150);
const TICK_US = 1e6 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout);

const cpuUs = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_US;
};

interface Node {
  port: number;
  pid: number;
  primary: boolean;
}

async function describe(port: number): Promise<Node> {
  const r = new Redis(port, '127.0.0.1');
  const info = await r.info();
  r.disconnect();
  return {
    port,
    pid: Number(/process_id:(\d+)/.exec(info)![1]),
    primary: /role:master/.test(info),
  };
}

async function stat(nodes: Node[], key: 'used_memory' | 'spublish' | 'publish'): Promise<number[]> {
  return Promise.all(
    nodes.map(async (n) => {
      const r = new Redis(n.port, '127.0.0.1');
      const info = await r.info(key === 'used_memory' ? 'memory' : 'commandstats');
      r.disconnect();
      const re =
        key === 'used_memory' ? /used_memory:(\d+)/ : new RegExp(`cmdstat_${key}:calls=(\\d+)`);
      return Number(re.exec(info)?.[1] ?? 0);
    }),
  );
}

async function measure(label: string, engine: RedisEngine, nodes: Node[]) {
  const primaries = nodes.filter((n) => n.primary);
  const pubCmd = engine.cluster ? 'spublish' : 'publish';
  const convs = Array.from({ length: CONVERSATIONS }, (_, i) => `cap-${i}`);
  // One subscribed process (this one): every message is fanned out once, as to one hub.
  const subscriber = createRedisEngine({ redis: engine.redis, keyPrefix: engine.keyPrefix });
  let delivered = 0;
  await Promise.all(convs.map((c) => subscriber.subscribe(`conv:${c}`, () => delivered++)));
  const mem0 = await stat(primaries, 'used_memory');
  const pub0 = await stat(primaries, pubCmd);
  const cpu0 = nodes.map((n) => cpuUs(n.pid));
  const t0 = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < MESSAGES; i = next++) {
      const conversationId = convs[i % CONVERSATIONS]!;
      await engine.append({
        draft: {
          id: randomUUID(),
          conversationId,
          clientMsgId: randomUUID(),
          senderId: `user-${i % USERS}`,
          kind: 'user',
          text: TEXT,
          createdAt: Date.now(),
        },
        origin: undefined,
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = nodes.map((n) => cpuUs(n.pid));
  const pub1 = await stat(primaries, pubCmd);
  const mem1 = await stat(primaries, 'used_memory');
  for (let i = 0; i < USERS; i++) await engine.presenceConnect(`user-${i}`, `c-${i}`, 60_000);
  const mem2 = await stat(primaries, 'used_memory');
  // Where a message's bytes go: its history entry, and its idempotency record (kept for the
  // idempotency ttl), from MEMORY USAGE of one conversation's keys.
  const perConv = MESSAGES / CONVERSATIONS;
  const c0 = engine.cluster ? '{c:cap-0}' : 'cap-0';
  const usage = async (key: string): Promise<number> =>
    Number((await engine.redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  const historyBytes = (await usage(`${prefix}log:${c0}`)) / perConv;
  const indexBytes = (await usage(`${prefix}idem-index:${c0}`)) / perConv;
  const idemKeys: string[] = [];
  const sample = primaries[0]!;
  const admin = new Redis(sample.port, '127.0.0.1');
  const [, found] = await admin.scan('0', 'MATCH', `${prefix}idem:*`, 'COUNT', 1000);
  idemKeys.push(...found.slice(0, 20));
  const recordBytes =
    idemKeys.length === 0
      ? 0
      : (
          await Promise.all(idemKeys.map((k) => admin.memory('USAGE', k, 'SAMPLES', 0)))
        ).reduce<number>((a, b) => a + Number(b ?? 0), 0) / idemKeys.length;
  admin.disconnect();
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const cpuPrimaries = sum(nodes.map((n, i) => (n.primary ? cpu1[i]! - cpu0[i]! : 0)));
  const cpuReplicas = sum(nodes.map((n, i) => (n.primary ? 0 : cpu1[i]! - cpu0[i]!)));
  const row = {
    setup: label,
    messages: MESSAGES,
    msgsPerS: Math.round(MESSAGES / seconds),
    redisCpuUsPerMessagePrimaries: Math.round(cpuPrimaries / MESSAGES),
    redisCpuUsPerMessageReplicas: Math.round(cpuReplicas / MESSAGES),
    messagesPerShard: pub1.map((p, i) => p - pub0[i]!),
    bytesPerStoredMessage: Math.round((sum(mem1) - sum(mem0)) / MESSAGES),
    bytesPerOnlineUser: Math.round((sum(mem2) - sum(mem1)) / USERS),
    historyBytesPerMessage: Math.round(historyBytes),
    idempotencyBytesPerMessage: Math.round(recordBytes + indexBytes),
    delivered,
  };
  console.log(JSON.stringify(row));
  await subscriber.close();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const prefix = `parley-capacity-${process.pid}:`;
// 1. One redis-server of our own.
const port = await freePort();
const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no']);
await new Promise<void>((resolve) => {
  child.stdout.on('data', (d: Buffer) => {
    if (d.toString().includes('Ready to accept connections')) resolve();
  });
});
const single = createRedisEngine({ redis: `redis://127.0.0.1:${port}`, keyPrefix: prefix });
await measure('one redis-server', single, [await describe(port)]);
await single.close();
child.kill('SIGKILL');

// 2. The local cluster (3 primaries + 3 replicas).
const ports = [7101, 7102, 7103, 7104, 7105, 7106];
const nodes = await Promise.all(ports.map(describe));
const cluster = createRedisEngine({
  redis: ports.map((p) => ({ host: '127.0.0.1', port: p })),
  keyPrefix: prefix,
});
await measure('redis cluster, 3 primaries + 3 replicas', cluster, nodes);
// Leave the shared cluster as it was.
for (const n of nodes.filter((x) => x.primary)) {
  const r = new Redis(n.port, '127.0.0.1');
  let cursor = '0';
  do {
    const [c, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = c;
    await Promise.all(keys.map((k) => r.unlink(k)));
  } while (cursor !== '0');
  r.disconnect();
}
await cluster.close();

/**
 * Micro-benchmark of the Redis engine's append path (issue 15): N appends over C conversations
 * against a redis-server of its own (free port, no persistence), subscribed like a hub, and the CPU
 * each side spent per message: this process (engine + ioredis) and redis-server (/proc). Not a
 * test and not the product figure (that is `pnpm bench`): a quick before/after for one change.
 *
 *   npx tsx --conditions=@parley/source bench/micro/redis-append.ts [messages=20000] [conversations=500] [inflight=64]
 *
 * `inflight=1` is closest to the benchmark's fixed rate, where an append rarely meets another.
 */
import { readFileSync } from 'node:fs';
import { createRedisEngine } from '@parley/server-adapter/redis';
import { startRedisServer } from './redis-server.js';

const N = Number(process.argv[2] ?? 20_000);
const C = Number(process.argv[3] ?? 500);
const INFLIGHT = Number(process.argv[4] ?? 64);

const redis = await startRedisServer();
const port = redis.port;
const ticks = (): number => {
  const f = readFileSync(`/proc/${redis.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks (100/s)
};
try {
  const engine = createRedisEngine({ redis: `redis://127.0.0.1:${port}`, keyPrefix: 'micro:' });
  let received = 0;
  for (let c = 0; c < C; c++) {
    await engine.subscribe(`conv:c${c}`, () => {
      received++;
    });
  }
  const text = 'x'.repeat(100);
  const one = (i: number, tag = 'm') =>
    engine.append({
      draft: {
        id: globalThis.crypto.randomUUID(),
        conversationId: `c${i % C}`,
        clientMsgId: `${tag}${i}`,
        senderId: `u${i % 1000}`,
        kind: 'user',
        text,
        createdAt: Date.now(),
      },
      origin: 'conn-1',
    });
  for (let i = 0; i < 2_000; i++) await one(i, 'w'); // warm-up (scripts loaded, JIT)
  const r0 = ticks();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const inflight = INFLIGHT;
  let next = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < N) await one(next++);
    }),
  );
  while (received < N + 2_000) await new Promise((r) => setTimeout(r, 5));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const redisMs = (ticks() - r0) * 10;
  const perMsg = (us: number) => (us / N).toFixed(1);
  console.log(
    `${N} appends, ${C} conversations, ${(N / (wall / 1000)).toFixed(0)}/s: ` +
      `node ${perMsg(cpu.user + cpu.system)} µs/msg, redis-server ${perMsg(redisMs * 1000)} µs/msg`,
  );
  if (process.env.STATS) {
    const { Redis } = await import('ioredis');
    const r = new Redis(port, '127.0.0.1');
    console.log(
      (await r.info('commandstats'))
        .split('\n')
        .filter((l) => l.startsWith('cmdstat_'))
        .map((l) => l.replace(/,rejected_calls=.*$/, ''))
        .join('\n'),
    );
    r.disconnect();
  }
  await engine.close();
} finally {
  redis.kill();
}

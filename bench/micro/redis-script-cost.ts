/**
 * Where the Redis engine's append script spends redis-server's time (issue 15): a redis-server of
 * its own (free port, no persistence) is filled by real appends, one real `EVALSHA` of the append
 * script is captured (MONITOR), then variants of the script run with the same kind of arguments:
 * the script cut after each of its sections (`… + return 1`), the whole script, and the whole
 * script without one kind of call. Each variant's time inside redis-server per call comes from
 * `INFO commandstats` (`usec_per_call` of `evalsha`, nested calls included); variants are
 * interleaved over rounds and the median is printed. Not a test and not the product figure (that
 * is `pnpm bench`): it shows what a change to the script could save before it is made.
 *
 *   npx tsx --conditions=@parley/source bench/micro/redis-script-cost.ts [calls=3000] [rounds=5] [kept]
 *
 * `kept` overrides the idempotency records kept per conversation (default: the engine's 10,000,
 * which these short conversations never reach); `kept=20` makes every call evict the oldest
 * record, as every append does in a conversation past the bound.
 */
import { createRedisEngine } from '@parley/server-adapter/redis';
import { Redis } from 'ioredis';
import { defineParleyCommands } from '../../packages/server-adapter/src/engines/redis/scripts.js';
import { startRedisServer } from './redis-server.js';

const CALLS = Number(process.argv[2] ?? 3_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const KEPT = process.argv[4];
const CONVERSATIONS = 500;

const server = await startRedisServer();
const port = server.port;

/** The append script's text, as the engine registers it. */
function appendScript(): string {
  const scripts: Record<string, string> = {};
  const recorder = {
    defineCommand: (name: string, o: { lua: string }) => {
      scripts[name] = o.lua;
    },
  };
  defineParleyCommands(recorder as unknown as Parameters<typeof defineParleyCommands>[0]);
  const lua = scripts.parleyAppend;
  if (lua === undefined) throw new Error('no parleyAppend script');
  return lua;
}

/** The script up to (not including) the first line containing `marker`, then `return 1`. */
function cutBefore(lua: string, marker: string): string {
  const at = lua.indexOf(marker);
  if (at < 0) throw new Error(`marker not in the script: ${marker}`);
  return `${lua.slice(0, lua.lastIndexOf('\n', at))}\nreturn 1\n`;
}

const without = (lua: string, call: string): string => {
  const out = lua.replaceAll(new RegExp(`redis\\.call\\('${call}'[^\\n]*\\n`, 'g'), '');
  if (out === lua) throw new Error(`no ${call} call in the script`);
  return out;
};

try {
  const redis = new Redis(port, '127.0.0.1');
  const engine = createRedisEngine({ redis: `redis://127.0.0.1:${port}`, keyPrefix: 'cost:' });
  const monitor = await redis.monitor();
  let captured: string[] | undefined;
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (captured === undefined && args[0]?.toLowerCase() === 'evalsha' && args.length > 20)
      captured = args;
  });
  const text = 'x'.repeat(100);
  for (let i = 0; i < 20_000; i++) {
    await engine.append({
      draft: {
        id: globalThis.crypto.randomUUID(),
        conversationId: `c${i % CONVERSATIONS}`,
        clientMsgId: `m${i}`,
        senderId: `u${i % 1000}`,
        kind: 'user',
        text,
        createdAt: Date.now(),
      },
      origin: 'conn-1',
    });
  }
  monitor.disconnect();
  if (captured === undefined) throw new Error('no append captured');
  const numKeys = Number(captured[2]);
  const keys = captured.slice(3, 3 + numKeys);
  const argv = captured.slice(3 + numKeys);

  const lua = appendScript();
  const variants: [string, string][] = [
    ['invocation only (return 1)', 'return 1\n'],
    ['epoch check only (HMGET)', cutBefore(lua, 'local function readRecord')],
    ['+ dedupe lookup (GET)', cutBefore(lua, "redis.call('HINCRBY'")],
    ['+ seq and log (HINCRBY, XADD)', cutBefore(lua, 'local maxAge')],
    ['+ trim by age (PEXPIRE)', cutBefore(lua, "redis.call('SET', KEYS[5]")],
    ['+ idempotency record and index', cutBefore(lua, "if ARGV[12] == '1'")],
    ['+ unread index (ZADD, HGET, HSET)', cutBefore(lua, "local origin = ''")],
    ['whole script (+ PUBLISH)', lua],
    ['whole, no PEXPIRE', without(lua, 'PEXPIRE')],
    ['whole, no SET', without(lua, 'SET')],
    ['whole, no ZADD', without(lua, 'ZADD')],
  ];
  const shas = await Promise.all(
    variants.map(([, src]) => redis.script('LOAD', src) as Promise<string>),
  );
  const results = variants.map((): number[] => []);
  let n = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [v, sha] of shas.entries()) {
      await redis.config('RESETSTAT');
      for (let i = 0; i < CALLS; i++, n++) {
        // A new message each call: its own conversation slot, sender and client id.
        const conv = `c${n % CONVERSATIONS}`;
        const k = keys.map((key) => key.replace(/:c\d+/, `:${conv}`).replace(/m\d+$/, `v${n}`));
        const a = argv.slice();
        a[0] = (a[0] ?? '')
          .replace(/"conversationId":"c\d+"/, `"conversationId":"${conv}"`)
          .replace(/"clientMsgId":"m\d+"/, `"clientMsgId":"v${n}"`);
        a[2] = String(Date.now());
        if (KEPT !== undefined) a[10] = KEPT;
        await redis.evalsha(sha, numKeys, ...k, ...a);
      }
      const stats = await redis.info('commandstats');
      const us = /cmdstat_evalsha:[^\n]*usec_per_call=([\d.]+)/.exec(stats)?.[1];
      results[v]?.push(Number(us));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  console.log(
    `append script, µs inside redis-server per call (median of ${ROUNDS} rounds × ${CALLS} calls):`,
  );
  for (const [v, [label]] of variants.entries()) {
    const xs = results[v] ?? [];
    console.log(
      `  ${label.padEnd(38)} ${median(xs).toFixed(1).padStart(6)}  (${xs.map((x) => x.toFixed(1)).join(' ')})`,
    );
  }
  redis.disconnect();
  await engine.close();
} finally {
  server.kill();
}

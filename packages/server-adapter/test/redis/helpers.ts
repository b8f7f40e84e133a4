/**
 * Helpers for the Redis tests: reachability check (loud skip outside CI, failure under CI), a
 * unique key prefix per run with cleanup, and private redis-server processes on free ports for
 * the destructive tests (FLUSHALL, kill and restart) — the shared server is never flushed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import type { MessageDraft } from '../../src/engines/types.js';

export const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether the shared Redis answers PING within a second. */
export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * Call at module level: resolves to whether Redis tests can run. Outside CI a missing Redis skips
 * them with a loud warning; with `CI=true` it throws, so CI cannot pass without running them.
 */
export async function requireRedis(suite: string): Promise<boolean> {
  if (await redisReachable()) return true;
  return missing(suite, `no Redis at ${REDIS_URL}`);
}

/**
 * Like {@link requireRedis}, for tests that start redis-servers of their own (FLUSHALL, kill and
 * restart): also needs the `redis-server` binary on PATH.
 */
export async function requirePrivateRedis(suite: string): Promise<boolean> {
  if (!(await requireRedis(suite))) return false;
  if (spawnSync('redis-server', ['--version']).status === 0) return true;
  return missing(suite, 'no redis-server binary on PATH');
}

function missing(suite: string, why: string): false {
  if (process.env.CI === 'true') throw new Error(`${suite}: ${why} (required under CI=true)`);
  console.warn(
    `\n\n!!! ${suite}: ${why} — these Redis tests are SKIPPED. Start/install redis-server to run them. !!!\n`,
  );
  return false;
}

/** A key prefix no other test run uses. */
export const uniquePrefix = (): string => `parley-test:${randomBytes(6).toString('hex')}:`;

/** Deletes every key under `prefix` (SCAN, bounded by the number of keys). */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A redis-server of the test's own, without persistence; safe to FLUSHALL and kill. */
export interface PrivateRedis {
  port: number;
  url: string;
  /** Starts (or restarts, same port) the server; resolves when it accepts connections. */
  start(): Promise<void>;
  /** SIGKILLs the server; resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOPs the server (frozen: its sockets stay open and answer nothing) or SIGCONTs it. */
  freeze(frozen: boolean): void;
}

export function privateRedis(port: number): PrivateRedis {
  let child: ChildProcess | undefined;
  const api: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    start() {
      return new Promise((resolve, reject) => {
        const c = spawn(
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        child = c;
        let out = '';
        const timer = setTimeout(() => {
          c.kill('SIGKILL');
          reject(new Error(`redis-server on ${port} did not start: ${out}`));
        }, 10_000);
        c.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ready to accept connections')) {
            clearTimeout(timer);
            resolve();
          }
        });
        c.on('exit', (code) => {
          clearTimeout(timer);
          if (!out.includes('Ready to accept connections'))
            reject(new Error(`redis-server exited (${code}): ${out}`));
        });
        c.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    },
    freeze(frozen) {
      child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    },
    kill() {
      const c = child;
      child = undefined;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      });
    },
  };
  return api;
}

/** Resolves with the first value `poll` returns that satisfies `ok`; polls on Redis round trips. */
export async function eventually<T>(
  poll: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await poll();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Collects envelopes and lets a test wait until a condition holds (never a fixed sleep). */
export class Collector<T> {
  readonly items: T[] = [];
  private waiters: { ok: (items: T[]) => boolean; resolve: () => void }[] = [];
  readonly push = (item: T): void => {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.ok(this.items)) return true;
      w.resolve();
      return false;
    });
  };
  until(ok: (items: T[]) => boolean, timeoutMs = 10_000): Promise<void> {
    if (ok(this.items)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out with ${this.items.length} items`)),
        timeoutMs,
      );
      this.waiters.push({
        ok,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** A message draft from alice (fresh ids) to append in an engine test. */
export const draft = (
  conversationId: string,
  text: string,
  over: Partial<MessageDraft> = {},
): MessageDraft => ({
  id: randomUUID(),
  conversationId,
  clientMsgId: randomUUID(),
  senderId: 'alice',
  kind: 'user',
  text,
  createdAt: Date.now(),
  ...over,
});

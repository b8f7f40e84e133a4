/**
 * A Redis link that goes silent without closing (a dead route, a failover behind a virtual IP, a
 * NAT entry dropped): no error, no close, and TCP keepalive only after hours. The engine's health
 * check notices within `health.intervalMs + health.timeoutMs`, drops the link and reconnects;
 * the subscriber then fills the gap from the history. On a redis-server and a proxy of the test's
 * own (never the shared Redis).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as realSetTimeout } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createRedisEngine,
  type RedisEngine,
  type RedisEngineOptions,
  type RedisEngineStatus,
} from '../../src/engines/redis/index.js';
import type { Envelope } from '../../src/engines/types.js';
import {
  Collector,
  draft,
  eventually,
  freePort,
  type PrivateRedis,
  privateRedis,
  requirePrivateRedis,
} from './helpers.js';
import { type TcpProxy, tcpProxy } from './tcp-proxy.js';

const available = await requirePrivateRedis('redis engine silent links');

const seqsOf = (items: Envelope[]) =>
  items.flatMap((e) => (e.kind === 'message' ? [e.message.seq] : []));

describe.skipIf(!available)('redis engine: silent links', () => {
  let server: PrivateRedis;
  const servers: PrivateRedis[] = [];
  const proxies: TcpProxy[] = [];
  const engines: RedisEngine[] = [];
  const engine = (over: Partial<RedisEngineOptions> = {}): RedisEngine => {
    const e = createRedisEngine({ redis: server.url, keyPrefix: 's:', ...over });
    engines.push(e);
    return e;
  };
  const proxy = async (): Promise<TcpProxy> => {
    const p = await tcpProxy(server.port);
    proxies.push(p);
    return p;
  };

  beforeAll(async () => {
    server = privateRedis(await freePort());
    await server.start();
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all([server, ...servers].map((s) => s?.kill()));
  });

  it('a silent subscriber link is dropped and reconnected, and what was published meanwhile arrives in order', async () => {
    const p = await proxy();
    const a = engine({ redis: p.url, health: { intervalMs: 100, timeoutMs: 300 } });
    const b = engine();
    const statuses = new Collector<RedisEngineStatus>();
    a.onStatus(statuses.push);
    const conv = `silent-${randomUUID()}`;
    const seen = new Collector<Envelope>();
    await a.subscribe(`conv:${conv}`, seen.push);
    await b.append({ draft: draft(conv, 'before') });
    await seen.until((items) => seqsOf(items).length === 1);

    p.blackhole();
    await b.append({ draft: draft(conv, 'during') });
    await b.append({ draft: draft(conv, 'after') });
    // The link hears nothing, and says nothing either: only the health check can tell.
    await seen.until((items) => seqsOf(items).length === 3, 5_000);
    expect(seqsOf(seen.items)).toEqual([1, 2, 3]);
    expect(statuses.items).toContainEqual(
      expect.objectContaining({ connection: 'subscriber', state: 'reconnecting' }),
    );
  });

  it('a reconnect whose handshake is never answered is dropped too, until a link answers', async () => {
    const p = await proxy();
    const a = engine({ redis: p.url, health: { intervalMs: 100, timeoutMs: 300 } });
    const b = engine();
    const conv = `silent-hs-${randomUUID()}`;
    const seen = new Collector<Envelope>();
    await a.subscribe(`conv:${conv}`, seen.push);
    p.silenceNew(true);
    p.blackhole();
    const before = p.accepted;
    await b.append({ draft: draft(conv, 'while silent') });
    // Each reconnect connects (the proxy accepts) and is never answered: the check must drop it
    // for ioredis to try again. Two rounds of both links = the first reconnects were dropped.
    await eventually(
      async () => p.accepted,
      (n) => n >= before + 4,
      5_000,
    );
    p.silenceNew(false);
    await seen.until((items) => seqsOf(items).length === 1, 5_000);
  });

  it('a silent command link is dropped and reconnected: a call in flight on it is answered', async () => {
    const p = await proxy();
    const a = engine({ redis: p.url, health: { intervalMs: 100, timeoutMs: 300 } });
    const conv = `silent-cmd-${randomUUID()}`;
    await a.append({ draft: draft(conv, 'before') });
    p.blackhole();
    const d = draft(conv, 'in flight');
    const started = Date.now();
    // Sent into the silent link: ioredis resends it on the new link (the append is idempotent by
    // its client id, so a resend of one Redis did run is answered as a duplicate).
    const r = await a.append({ draft: d });
    expect(r.message.seq).toBe(2);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('health: false turns the check off (the link stays silent)', async () => {
    const p = await proxy();
    const a = engine({ redis: p.url, health: false });
    const b = engine();
    const conv = `silent-off-${randomUUID()}`;
    const seen = new Collector<Envelope>();
    await a.subscribe(`conv:${conv}`, seen.push);
    p.blackhole();
    await b.append({ draft: draft(conv, 'unheard') });
    // A round trip on a healthy link of the same Redis, twice over: enough for a live delivery.
    await b.heads([conv]);
    await b.heads([conv]);
    await expect(seen.until((items) => seqsOf(items).length === 1, 1_000)).rejects.toThrow(
      /timed out/,
    );
    // QUIT is never answered on a silent link: close still ends, after its own deadline.
    const started = Date.now();
    await a.close();
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(a.status()).toEqual({ commands: 'closed', subscriber: 'closed' });
  });

  it('a frozen Redis (sockets open, nothing answered): a call fails within a bound, and calls work again once it thaws', async () => {
    const frozen = privateRedis(await freePort());
    await frozen.start();
    servers.push(frozen);
    const a = engine({
      redis: { host: '127.0.0.1', port: frozen.port },
      health: { intervalMs: 100, timeoutMs: 300 },
      commandTimeoutMs: 1_000,
    });
    const conv = `frozen-${randomUUID()}`;
    await a.append({ draft: draft(conv, 'before') });
    frozen.freeze(true);
    try {
      const started = Date.now();
      // The kernel still accepts connections for the stopped process, so every reconnect
      // "connects" and then waits for an answer to its ready check that never comes.
      await expect(a.append({ draft: draft(conv, 'frozen') })).rejects.toThrow(/timed out/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      frozen.freeze(false);
    }
    const after = await eventually(
      () => a.append({ draft: draft(conv, 'thawed') }).catch(() => undefined),
      (r) => r !== undefined,
    );
    expect(after?.message.text).toBe('thawed');
  });

  it("keeps healthy links under an app's fake timers (its clock racing ahead of real replies)", async () => {
    const a = engine({ health: { intervalMs: 50, timeoutMs: 2_000 } });
    const statuses = new Collector<RedisEngineStatus>();
    a.onStatus(statuses.push);
    await a.subscribe(`conv:fake-${randomUUID()}`, () => {});
    // The check's PINGs on the command link, counted (the event this test waits on).
    const conn = a.redis as Redis;
    const ping = conn.ping.bind(conn);
    let pings = 0;
    conn.ping = ((...args: Parameters<typeof ping>) => {
      pings++;
      return ping(...args);
    }) as typeof conn.ping;
    /** Waits, in real time (the app's clock is faked), for two more rounds of the check. */
    const twoMoreRounds = async (): Promise<void> => {
      const target = pings + 2;
      for (let i = 0; pings < target; i++) {
        if (i > 250) throw new Error(`the check stopped: ${pings} PINGs, waited for ${target}`);
        await realSetTimeout(20);
      }
    };
    vi.useFakeTimers();
    try {
      // The check goes on in real time under the faked clock...
      await twoMoreRounds();
      // ...and when that clock jumps past the 2 s deadline, far ahead of any reply from Redis (a
      // real 2 s leaves a loaded machine plenty of time to answer a PING), nothing is dropped.
      vi.advanceTimersByTime(10_000);
      await twoMoreRounds();
    } finally {
      vi.useRealTimers();
    }
    expect(statuses.items.filter((st) => st.state !== 'ready')).toEqual([]);
    expect(a.status()).toEqual({ commands: 'ready', subscriber: 'ready' });
  });

  it('rejects health and command timeout settings that are not a number of ms', () => {
    for (const health of [{ intervalMs: Number.NaN }, { timeoutMs: 0 }, { intervalMs: -5 }]) {
      expect(() => createRedisEngine({ redis: server.url, health })).toThrow(
        /health\.(intervalMs|timeoutMs) must be a number of ms >= 10/,
      );
    }
    for (const commandTimeoutMs of [Number.NaN, 0, Number.POSITIVE_INFINITY]) {
      expect(() => createRedisEngine({ redis: server.url, commandTimeoutMs })).toThrow(
        /commandTimeoutMs must be a number of ms >= 10, or false/,
      );
    }
  });
});

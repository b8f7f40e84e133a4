/**
 * Data and connection loss, on a redis-server of the test's own (never the shared one): FLUSHALL
 * surfaces as a new epoch (clients get `reset`), a killed and restarted Redis is reported and
 * recovered from, and a lost pub/sub connection does not lose messages.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  freePort,
  type PrivateRedis,
  privateRedis,
  requirePrivateRedis,
} from './helpers.js';

const available = await requirePrivateRedis('redis engine failover');

const seqsOf = (items: Envelope[]) =>
  items.flatMap((e) => (e.kind === 'message' ? [e.message.seq] : []));
const epochOf = (e: Envelope | undefined) => (e as { epoch?: string } | undefined)?.epoch;

describe.skipIf(!available)('redis engine on a private redis-server', () => {
  let server: PrivateRedis;
  const extraServers: PrivateRedis[] = [];
  const engines: RedisEngine[] = [];
  const engine = (over: Partial<RedisEngineOptions> = {}): RedisEngine => {
    const e = createRedisEngine({ redis: server.url, keyPrefix: 'p:', ...over });
    engines.push(e);
    return e;
  };
  const statuses = (e: RedisEngine) => {
    const c = new Collector<RedisEngineStatus>();
    e.onStatus(c.push);
    return c;
  };

  beforeAll(async () => {
    server = privateRedis(await freePort());
    await server.start();
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all([server, ...extraServers].map((s) => s?.kill()));
  });

  it('starts while Redis is down: calls and subscriptions wait, then work once it is up', async () => {
    const late = privateRedis(await freePort());
    extraServers.push(late);
    const e = createRedisEngine({ redis: late.url, keyPrefix: 'late:' });
    engines.push(e);
    const st = statuses(e);
    expect(e.status()).toEqual({ commands: 'reconnecting', subscriber: 'reconnecting' });
    const seen = new Collector<Envelope>();
    const subscribed = e.subscribe('conv:late', seen.push);
    const head = e.heads(['late']);
    await late.start();
    await subscribed;
    expect((await head).get('late')?.seq).toBe(0);
    await e.append({ draft: draft('late', 'hello') });
    await seen.until((i) => i.length === 1);
    await st.until((s) => s.filter((x) => x.state === 'ready').length === 2);
  });

  it('FLUSHALL: heads and range report a new epoch (-> reset), and the engine keeps working', async () => {
    const e = engine();
    const conv = `flush-${randomUUID()}`;
    const seen = new Collector<Envelope>();
    await e.subscribe(`conv:${conv}`, seen.push);
    for (let i = 0; i < 5; i++) await e.append({ draft: draft(conv, `m${i}`) });
    await seen.until((i) => i.length === 5);
    const before = (await e.heads([conv])).get(conv)!;
    expect(before.seq).toBe(5);

    await e.redis.flushall();

    const after = (await e.heads([conv])).get(conv)!;
    expect(after.seq).toBe(0);
    expect(after.epoch).not.toBe(before.epoch);
    const r = await e.range(conv, 5, 100);
    expect(r.head.epoch).toBe(after.epoch);
    const appended = await e.append({ draft: draft(conv, 'after flush') });
    expect(appended.message.seq).toBe(1);
    // The live envelope carries the new epoch, so a hub can tell seq 1 from a duplicate.
    await seen.until((i) => i.length === 6);
    expect(seqsOf(seen.items)).toEqual([1, 2, 3, 4, 5, 1]);
    expect(epochOf(seen.items[0])).toBe(before.epoch);
    expect(epochOf(seen.items[5])).toBe(after.epoch);
    expect((await e.range(conv, 0, 10)).messages.map((m) => m.text)).toEqual(['after flush']);
  });

  it('a lost pub/sub connection is refilled from the history: nothing missed, nothing twice, in order', async () => {
    // The subscriber reconnects only after 300 ms, so the appends below are published while it
    // is away and must come back through the gap fill.
    const infos: string[] = [];
    const noop = () => {};
    const logger = {
      debug: noop,
      warn: noop,
      error: noop,
      info: (_o: object, m?: string) => infos.push(m ?? ''),
    };
    const a = engine({
      redis: { port: server.port, host: '127.0.0.1', retryStrategy: () => 300 },
      logger,
    });
    const b = engine();
    const aStatus = statuses(a);
    const conv = `gap-${randomUUID()}`;
    const seen = new Collector<Envelope>();
    await a.subscribe(`conv:${conv}`, seen.push);
    await b.append({ draft: draft(conv, 'first') });
    await seen.until((i) => i.length === 1);

    await b.redis.client('KILL', 'TYPE', 'pubsub');
    await aStatus.until((s) =>
      s.some((x) => x.connection === 'subscriber' && x.state === 'reconnecting'),
    );
    for (let i = 0; i < 10; i++)
      await b.append({ draft: draft(conv, `while away ${i}`), origin: `conn-${i}` });
    await aStatus.until((s) => s.some((x) => x.connection === 'subscriber' && x.state === 'ready'));
    for (let i = 0; i < 5; i++) await b.append({ draft: draft(conv, `after ${i}`) });
    await seen.until((i) => seqsOf(i).includes(16));
    expect(seqsOf(seen.items)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(infos).toContain('parley redis engine: delivered missed messages from the history');
    // Filled messages keep their origin, so the hub still answers their sender with an ack.
    const away = seen.items.filter(
      (e) => e.kind === 'message' && e.message.text.startsWith('while away'),
    );
    expect(away.map((e) => (e.kind === 'message' ? e.origin : undefined))).toEqual(
      Array.from({ length: 10 }, (_, i) => `conn-${i}`),
    );
    // A quiet conversation is refilled too (nothing arrives live to reveal the gap).
    await b.redis.client('KILL', 'TYPE', 'pubsub');
    await aStatus.until(
      (s) =>
        s.filter((x) => x.connection === 'subscriber' && x.state === 'reconnecting').length === 2,
    );
    await b.append({ draft: draft(conv, 'quiet') });
    await seen.until((i) => seqsOf(i).includes(17));
    expect(seqsOf(seen.items)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
  });

  it('a lost pub/sub connection is refilled for a conversation that had delivered nothing yet', async () => {
    // Subscribed (a socket holds the conversation) while the conversation is quiet; the
    // subscriber is lost before any message reached it, and one is published meanwhile.
    const a = engine({ redis: { port: server.port, host: '127.0.0.1', retryStrategy: () => 300 } });
    const b = engine();
    const aStatus = statuses(a);
    const conv = `gap-quiet-${randomUUID()}`;
    await b.append({ draft: draft(conv, 'before the subscription') });
    const seen = new Collector<Envelope>();
    await a.subscribe(`conv:${conv}`, seen.push);
    await b.redis.client('KILL', 'TYPE', 'pubsub');
    await aStatus.until((s) =>
      s.some((x) => x.connection === 'subscriber' && x.state === 'reconnecting'),
    );
    await b.append({ draft: draft(conv, 'while away') });
    await aStatus.until((s) => s.some((x) => x.connection === 'subscriber' && x.state === 'ready'));
    await seen.until((i) => seqsOf(i).includes(2), 5_000);
    // Only what was published after the subscription: the earlier message is not delivered.
    expect(seqsOf(seen.items)).toEqual([2]);
  });

  it('Redis killed and restarted: reported, recovered, no crash; the new (empty) store gets a new epoch', async () => {
    const warnings: string[] = [];
    const noop = () => {};
    const e = engine({
      logger: { debug: noop, info: noop, error: noop, warn: (_o, m) => warnings.push(m ?? '') },
    });
    const st = statuses(e);
    const conv = `kill-${randomUUID()}`;
    const seen = new Collector<Envelope>();
    await e.subscribe(`conv:${conv}`, seen.push);
    await e.append({ draft: draft(conv, 'before') });
    await seen.until((i) => i.length === 1);
    const epoch1 = (await e.heads([conv])).get(conv)!.epoch;

    await server.kill();
    await st.until((s) => s.some((x) => x.connection === 'commands' && x.state === 'reconnecting'));
    await st.until((s) =>
      s.some((x) => x.connection === 'subscriber' && x.state === 'reconnecting'),
    );
    expect(e.status()).toEqual({ commands: 'reconnecting', subscriber: 'reconnecting' });
    // A call made during the outage waits in ioredis' offline queue and completes after recovery.
    const during = e.append({ draft: draft(conv, 'during') });
    await server.start();
    await st.until((s) => s.filter((x) => x.state === 'ready').length >= 2);
    const r = await during;
    expect(r.message.seq).toBe(1);
    const head = (await e.heads([conv])).get(conv)!;
    expect(head).toEqual({ seq: 1, epoch: expect.not.stringMatching(epoch1) });
    await seen.until((i) => i.length === 2);
    expect(epochOf(seen.items[1])).toBe(head.epoch);
    expect(warnings).toContain('parley redis engine: connection lost, reconnecting');
  });
});

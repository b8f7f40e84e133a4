/**
 * Redis-specific behaviour of the Redis engine on the shared Redis (unique key prefix per run):
 * several engine instances (separate connections, as separate processes would have) sharing one
 * conversation, de-duplication across instances, trimming, epochs, presence expiry and the sweep,
 * and pub/sub reference counting.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createRedisEngine,
  type RedisEngine,
  type RedisEngineOptions,
} from '../../src/engines/redis/index.js';
import type { Envelope } from '../../src/engines/types.js';
import { Collector, deleteKeys, draft, REDIS_URL, requireRedis, uniquePrefix } from './helpers.js';

const available = await requireRedis('redis engine');

const messagesOf = (items: Envelope[]) =>
  items.flatMap((e) => (e.kind === 'message' ? [e.message] : []));

describe.skipIf(!available)('redis engine on a shared Redis', () => {
  const prefix = uniquePrefix();
  const engines: RedisEngine[] = [];
  const engine = (over: Partial<RedisEngineOptions> = {}): RedisEngine => {
    const e = createRedisEngine({ redis: REDIS_URL, keyPrefix: prefix, ...over });
    engines.push(e);
    return e;
  };
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await deleteKeys(prefix);
  });

  it('gives concurrent appends from 3 instances unique, gap-free seqs; every subscriber sees each once, in order', async () => {
    const [a, b, c] = [engine(), engine(), engine()];
    const conv = `conc-${randomUUID()}`;
    const seen = [new Collector<Envelope>(), new Collector<Envelope>(), new Collector<Envelope>()];
    await Promise.all([a, b, c].map((e, i) => e.subscribe(`conv:${conv}`, seen[i]!.push)));
    const perInstance = 40;
    const results = await Promise.all(
      [a, b, c].map((e, i) =>
        Promise.all(
          Array.from({ length: perInstance }, (_, n) =>
            e.append({ draft: draft(conv, `${i}-${n}`), origin: `conn-${i}` }),
          ),
        ),
      ),
    );
    const seqs = results
      .flat()
      .map((r) => r.message.seq)
      .sort((x, y) => x - y);
    const total = 3 * perInstance;
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const col of seen) {
      await col.until((items) => items.length >= total);
      const got = messagesOf(col.items).map((m) => m.seq);
      expect(got).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    }
    // The envelope carries the origin of the appending connection, and the epoch of the history.
    const first = seen[0]!.items[0] as Envelope & { epoch?: string };
    const head = (await a.heads([conv])).get(conv)!;
    expect(head).toEqual({ seq: total, epoch: first.epoch });
    expect(first.kind === 'message' && first.origin?.startsWith('conn-')).toBe(true);
  });

  it('de-duplicates a retried append that lands on another instance; it is published once', async () => {
    const [a, b] = [engine(), engine()];
    const conv = `dup-${randomUUID()}`;
    const seen = new Collector<Envelope>();
    await a.subscribe(`conv:${conv}`, seen.push);
    const d = draft(conv, 'once', {
      data: { big: 2 ** 60, small: 0.1, n: [1, 2.5e-8, -0.000001] },
    });
    const first = await a.append({ draft: d, origin: 'x' });
    const retry = await b.append({
      draft: { ...d, id: 'other-id', text: 'changed', createdAt: d.createdAt + 5 },
      origin: 'y',
    });
    expect(first.duplicate).toBe(false);
    expect(retry).toEqual({ duplicate: true, message: first.message });
    expect(first.message).toEqual({ ...d, seq: 1 });
    expect(await b.findByClientId(conv, 'alice', d.clientMsgId)).toEqual(first.message);
    expect(await b.findByClientId(conv, 'bob', d.clientMsgId)).toBeUndefined();
    // Another sender may reuse the client id.
    const bob = await b.append({ draft: { ...d, senderId: 'bob' } });
    expect(bob).toMatchObject({ duplicate: false, message: { seq: 2 } });
    await seen.until((items) => items.length >= 2);
    expect(messagesOf(seen.items).map((m) => m.seq)).toEqual([1, 2]);
  });

  it('bounds idempotency records per conversation: the oldest record keys are deleted', async () => {
    const e = engine({ idempotency: { maxEntries: 3 } });
    const conv = `idem-${randomUUID()}`;
    const drafts = Array.from({ length: 5 }, (_, i) => draft(conv, `m${i}`));
    for (const d of drafts) await e.append({ draft: d });
    expect(await e.redis.zcard(`${prefix}idem-index:${conv}`)).toBe(3);
    // SCAN returns one page per call: walk the whole cursor (the shared Redis may hold many keys).
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await e.redis.scan(
        cursor,
        'MATCH',
        `${prefix}idem:*:${conv}:*`,
        'COUNT',
        1000,
      );
      keys.push(...page);
      cursor = next;
    } while (cursor !== '0');
    expect(keys.length).toBe(3);
    expect(await e.findByClientId(conv, 'alice', drafts[1]!.clientMsgId)).toBeUndefined();
    expect((await e.findByClientId(conv, 'alice', drafts[2]!.clientMsgId))?.seq).toBe(3);
    expect((await e.append({ draft: drafts[4]! })).duplicate).toBe(true);
  });

  it('trims by count: range is all-or-nothing, paging sees only what is kept', async () => {
    const e = engine({ history: { maxMessages: 5 } });
    const conv = `trim-${randomUUID()}`;
    for (let i = 1; i <= 8; i++) await e.append({ draft: draft(conv, `m${i}`) });
    expect(await e.redis.xlen(`${prefix}log:${conv}`)).toBe(5);
    const incomplete = await e.range(conv, 0, 100);
    expect(incomplete).toMatchObject({ complete: false, messages: [], head: { seq: 8 } });
    expect((await e.range(conv, 2, 100)).complete).toBe(false);
    const ok = await e.range(conv, 3, 100);
    expect(ok.complete).toBe(true);
    expect(ok.messages.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(await e.range(conv, 3, 4)).toMatchObject({ complete: false, messages: [] });
    expect(await e.range(conv, 8, 100)).toMatchObject({ complete: true, messages: [] });
    const p1 = await e.page(conv, undefined, 3);
    expect(p1.messages.map((m) => m.seq)).toEqual([6, 7, 8]);
    expect(p1.hasMore).toBe(true);
    const p2 = await e.page(conv, 6, 3);
    expect(p2.messages.map((m) => m.seq)).toEqual([4, 5]);
    expect(p2.hasMore).toBe(false);
  });

  it('trims by age: old messages are hidden at once and removed by the appends that follow (checked every 16th seq)', async () => {
    let clock = 1_000_000;
    const e = engine({ history: { maxAgeMs: 1000 }, now: () => clock });
    const conv = `age-${randomUUID()}`;
    for (let i = 1; i <= 3; i++)
      await e.append({ draft: draft(conv, `old${i}`, { createdAt: clock }) });
    expect((await e.range(conv, 0, 100)).complete).toBe(true);
    clock += 2000;
    expect(await e.range(conv, 0, 100)).toMatchObject({ complete: false, head: { seq: 3 } });
    expect(await e.page(conv, undefined, 10)).toMatchObject({ messages: [], hasMore: false });
    await e.append({ draft: draft(conv, 'new', { createdAt: clock }) });
    // Seqs 5..16: the age check runs at seq 16 and drops the three old ones.
    for (let i = 5; i <= 16; i++)
      await e.append({ draft: draft(conv, `n${i}`, { createdAt: clock }) });
    expect(await e.redis.xlen(`${prefix}log:${conv}`)).toBe(13);
    const after = (await e.range(conv, 3, 100)).messages.map((m) => m.text);
    expect(after).toHaveLength(13);
    expect(after[0]).toBe('new');
    expect((await e.range(conv, 2, 100)).complete).toBe(false);
    const pttl = await e.redis.pttl(`${prefix}log:${conv}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1000);
  });

  it('keeps one epoch per conversation across instances, also for a conversation never written', async () => {
    const [a, b] = [engine(), engine()];
    const conv = `epoch-${randomUUID()}`;
    const h1 = (await a.heads([conv])).get(conv)!;
    expect(h1.seq).toBe(0);
    expect(h1.epoch).toMatch(/^[\w-]{12}$/);
    expect((await b.heads([conv])).get(conv)).toEqual(h1);
    await b.append({ draft: draft(conv, 'x') });
    expect((await a.range(conv, 0, 10)).head).toEqual({ seq: 1, epoch: h1.epoch });
    // Losing the conversation's data (eviction, flush) gives a new epoch, never reused seqs.
    await a.redis.unlink(`${prefix}meta:${conv}`);
    const h2 = (await b.heads([conv])).get(conv)!;
    expect(h2.epoch).not.toBe(h1.epoch);
    expect(h2.seq).toBe(0);
    expect(await a.range(conv, 1, 10)).toMatchObject({
      head: { epoch: h2.epoch, seq: 0 },
      complete: true,
    });
    expect((await a.append({ draft: draft(conv, 'y') })).message.seq).toBe(1);
  });

  it('membership versions grow across instances and keep growing after the counter is lost', async () => {
    const [a, b] = [engine(), engine()];
    const conv = `mver-${randomUUID()}`;
    const v1 = (await a.addMembers(conv, ['alice', 'bob']))!;
    const v2 = (await b.removeMembers(conv, ['bob']))!;
    expect(v2).toBe(v1 + 1);
    // Started from the clock in microseconds: a lost counter starts again above every version.
    expect(v1).toBeGreaterThan((Date.now() - 60_000) * 1000);
    expect(Number.isSafeInteger(v1)).toBe(true);
    await a.redis.unlink(`${prefix}mver:${conv}`);
    const v3 = (await b.addMembers(conv, ['bob']))!;
    expect(v3).toBeGreaterThan(v2);
    expect(await a.members(conv)).toEqual(expect.arrayContaining(['alice', 'bob']));
  });

  it("tracks presence with expiry; a crashed process's users are swept offline exactly once", async () => {
    let clock = 5_000_000;
    const now = () => clock;
    const [a, b] = [engine({ now }), engine({ now })];
    const user = `u-${randomUUID()}`;
    expect(await a.presenceConnect(user, 'c1', 1000)).toEqual({ wasOnline: false, connections: 1 });
    expect(await b.presenceConnect(user, 'c2', 1000)).toEqual({ wasOnline: true, connections: 2 });
    expect((await a.presence([user])).get(user)).toEqual({ online: true });
    expect(await a.connectedUsers([user, 'nobody'])).toEqual(new Set([user]));
    expect(await a.presenceSweep()).toEqual([]);

    // Heartbeats keep c2 alive; c1's process "crashed" and stopped refreshing.
    clock += 800;
    await b.presenceRefresh([{ userId: user, connectionId: 'c2' }], 1000);
    clock += 800;
    expect((await a.presence([user])).get(user)).toMatchObject({ online: true });
    expect(await a.presenceSweep()).toEqual([]);

    // Now b crashes too: once c2 expires the user is offline and exactly one sweep reports it.
    clock += 1001;
    expect(await a.connectedUsers([user])).toEqual(new Set());
    const swept = await Promise.all([a.presenceSweep(), b.presenceSweep()]);
    expect(swept.flat()).toEqual([{ userId: user, lastSeenAt: 5_000_000 + 800 + 1000 }]);
    expect((await b.presence([user])).get(user)).toEqual({ online: false, lastSeenAt: 5_001_800 });
    expect(await a.presenceSweep()).toEqual([]);
  });

  it('keeps a user online through the grace period; the sweep reports the end of it once', async () => {
    let clock = 9_000_000;
    const now = () => clock;
    const [a, b] = [engine({ now }), engine({ now })];
    const user = `g-${randomUUID()}`;
    await a.presenceConnect(user, 'c1', 10_000);
    expect(await a.presenceDisconnect(user, 'c1', 500)).toEqual({ remaining: 0 });
    expect((await b.presence([user])).get(user)).toEqual({ online: true, lastSeenAt: clock });
    expect(await b.connectedUsers([user])).toEqual(new Set());
    clock += 200;
    expect(await b.presenceSweep()).toEqual([]);
    // A reconnect inside the grace period is not a transition.
    expect(await b.presenceConnect(user, 'c2', 10_000)).toEqual({
      wasOnline: true,
      connections: 1,
    });
    expect(await b.presenceDisconnect(user, 'c2', 500)).toEqual({ remaining: 0 });
    const left = clock;
    clock += 501;
    expect((await a.presence([user])).get(user)).toEqual({ online: false, lastSeenAt: left });
    const swept = await Promise.all([a.presenceSweep(), b.presenceSweep()]);
    expect(swept.flat()).toEqual([{ userId: user, lastSeenAt: left }]);
    expect(await a.presenceConnect(user, 'c3', 10_000)).toEqual({
      wasOnline: false,
      connections: 1,
    });
  });

  it('subscribes once per topic however many handlers; unsubscribe is reference counted and idempotent', async () => {
    const e = engine();
    const topic = `user:${randomUUID()}` as const;
    const channel = prefix + topic;
    const numsub = async () =>
      Number(((await e.redis.pubsub('NUMSUB', channel)) as [string, number])[1]);
    const one = new Collector<Envelope>();
    const two = new Collector<Envelope>();
    const u1 = await e.subscribe(topic, one.push);
    const u2 = await e.subscribe(topic, two.push);
    expect(await numsub()).toBe(1);
    const env = { kind: 'left', userId: 'alice', conversationId: 'c9' } as const;
    await e.publish(topic, env);
    await one.until((i) => i.length === 1);
    await two.until((i) => i.length === 1);
    await u1();
    await u1();
    expect(await numsub()).toBe(1);
    await e.publish(topic, { ...env, conversationId: 'c10' });
    await two.until((i) => i.length === 2);
    expect(one.items).toEqual([env]);
    await u2();
    expect(await numsub()).toBe(0);
    // Subscribe/unsubscribe racing on one topic ends in the state of the last call.
    const u3 = await e.subscribe(topic, one.push);
    const p = u3();
    const u4p = e.subscribe(topic, two.push);
    await p;
    const u4 = await u4p;
    expect(await numsub()).toBe(1);
    await u4();
    expect(await numsub()).toBe(0);
  });

  it("uses the app's own ioredis instance without closing it; refuses ioredis' keyPrefix", async () => {
    const own = new Redis(REDIS_URL, { lazyConnect: true });
    try {
      const e = createRedisEngine({ redis: own, keyPrefix: prefix });
      const conv = `own-${randomUUID()}`;
      const seen = new Collector<Envelope>();
      await e.subscribe(`conv:${conv}`, seen.push);
      expect((await e.append({ draft: draft(conv, 'x') })).message.seq).toBe(1);
      await seen.until((i) => i.length === 1);
      await e.close();
      expect(e.status()).toEqual({ commands: 'closed', subscriber: 'closed' });
      expect(await own.ping()).toBe('PONG');
    } finally {
      own.disconnect();
    }
    expect(() => createRedisEngine({ redis: { keyPrefix: 'x:', lazyConnect: true } })).toThrow(
      /keyPrefix/,
    );
  });

  it('contains a throwing handler and keeps delivering', async () => {
    const logs: string[] = [];
    const noop = () => {};
    const e = engine({
      logger: { debug: noop, info: noop, warn: noop, error: (_o, m) => logs.push(m ?? '') },
    });
    const topic = `user:${randomUUID()}` as const;
    const ok = new Collector<Envelope>();
    await e.subscribe(topic, () => {
      throw new Error('boom');
    });
    await e.subscribe(topic, ok.push);
    await e.publish(topic, { kind: 'disconnect', userId: 'a', code: 4000, reason: 'x' });
    await ok.until((i) => i.length === 1);
    expect(logs).toContain('parley redis engine: subscriber handler threw');
  });
});

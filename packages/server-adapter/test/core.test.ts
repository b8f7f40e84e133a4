/**
 * The core without any socket library: a fake socket, and fake timers for the timing logic
 * (hello timeout, heartbeat bound, presence grace period, token expiry).
 */
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createMemoryEngine } from '../src/engines/memory/index.js';
import { UnavailableError } from '../src/errors.js';
import { createHub, type Hub } from '../src/hub/hub.js';
import type { HubOptions, MetricEvent } from '../src/hub/options.js';
import { HEARTBEAT_JITTER_STEPS, pingDelay } from '../src/hub/timers.js';
import { FakeSocket, fakeTimersClosing, request } from './utils/fake-socket.js';

describe('hub core with fake timers', () => {
  let hub: Hub;
  fakeTimersClosing(() => hub);

  const make = (options: Partial<HubOptions> = {}) => {
    hub = createHub({
      authenticate: ({ token }) => {
        if (!token) return null;
        const [userId, exp] = token.split('@');
        return { userId: userId!, ...(exp ? { expiresAt: Number(exp) } : {}) };
      },
      conversationsOf: () => ['c1'],
      ...options,
    });
    return hub;
  };
  const open = async (token?: string): Promise<FakeSocket> => {
    const s = new FakeSocket();
    s.handlers = hub.open(s, request);
    if (token !== undefined) {
      s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token }));
      await vi.advanceTimersByTimeAsync(0);
      expect(s.of('welcome')).toHaveLength(1);
    }
    return s;
  };

  it('closes 4401 on any frame before hello, a pong included', async () => {
    make();
    for (const frame of [
      { type: 'pong' },
      { type: 'ping' },
      { type: 'typing', conversationId: 'c1', state: 'start' },
    ]) {
      const s = await open();
      s.handlers.onMessage(JSON.stringify(frame));
      await vi.advanceTimersByTimeAsync(0);
      expect(s.closed).toEqual({ code: 4401, reason: 'hello required' });
    }
  });

  it('reports discrete events to the metrics hook, and survives a throwing one', async () => {
    const events: MetricEvent[] = [];
    make({
      metrics: (e) => {
        events.push(e);
        if (e.type === 'session.start') throw new Error('metrics backend down');
      },
      persist: (draft) => {
        if (draft.text === 'boom') throw new Error('db down');
        return draft;
      },
    });
    const alice = await open('alice');
    const send = (text: string, k: string) =>
      alice.handlers.onMessage(
        JSON.stringify({ type: 'send', ref: k, conversationId: 'c1', clientMsgId: k, text }),
      );
    send('hi', 'k1');
    send('hi', 'k1'); // a retry: not stored again
    send('boom', 'k2');
    await vi.advanceTimersByTimeAsync(0);
    await hub.publish('c1', { text: 'system note' });
    alice.handlers.onClose(1001, 'going away');
    await vi.advanceTimersByTimeAsync(0);
    expect(events.map((e) => e.type)).toEqual([
      'session.start',
      'message.stored',
      'hook.error',
      'message.stored',
      'connection.close',
    ]);
    expect(events).toMatchObject([
      { type: 'session.start', userId: 'alice', conversations: 1 },
      { type: 'message.stored', conversationId: 'c1', kind: 'user' },
      { type: 'hook.error', hook: 'persist' },
      { type: 'message.stored', conversationId: 'c1', kind: 'system' },
      { type: 'connection.close', code: 1001, userId: 'alice' },
    ]);
  });

  it('reports replays (with their size) and resets (with their reason) to the metrics hook', async () => {
    const events: MetricEvent[] = [];
    make({ metrics: (e) => events.push(e) });
    await hub.publish('c1', { text: 'one' });
    await hub.publish('c1', { text: 'two' });
    const hello = async (cursors: Record<string, unknown>) => {
      const s = await open();
      s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token: 'bob', cursors }));
      await vi.advanceTimersByTimeAsync(0);
      return s;
    };
    const replayed = await hello({ c1: { seq: 0 } });
    expect(replayed.of('replay')).toHaveLength(1);
    const reset = await hello({ c1: { seq: 1, epoch: 'another-epoch' } });
    expect(reset.of('reset')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'replay' || e.type === 'reset')).toEqual([
      { type: 'replay', conversationId: 'c1', messages: 2 },
      { type: 'reset', conversationId: 'c1', reason: 'epoch_changed' },
    ]);
  });

  it('closes 4408 exactly at the hello timeout', async () => {
    make();
    const s = await open();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(s.closed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(s.closed).toEqual({ code: 4408, reason: 'hello timeout' });
  });

  it('detects a dead link within intervalMs + timeoutMs and keeps a live one', async () => {
    // No jitter here (each ping exactly intervalMs later): the exact deadlines are the subject.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0);
    onTestFinished(() => random.mockRestore());
    make();
    const dead = await open('alice');
    const live = await open('bob');
    await vi.advanceTimersByTimeAsync(25_000);
    expect([dead.pings, live.pings]).toEqual([1, 1]);
    live.handlers.onPong();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(dead.terminated).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(dead.terminated).toBe(true);
    expect(live.terminated).toBe(false);
    await vi.advanceTimersByTimeAsync(15_000); // 25 s after the pong
    expect(live.pings).toBe(2);
    expect(hub.stats().heartbeatTimeouts).toBe(1);
  });

  it('spreads the pings of sockets that started together, each within intervalMs (no lockstep)', async () => {
    // A seeded generator (mulberry32) in place of Math.random: the same draws on every run.
    let seed = 0x2545f491;
    const random = vi.spyOn(Math, 'random').mockImplementation(() => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    });
    onTestFinished(() => random.mockRestore());
    make();
    const sockets: FakeSocket[] = [];
    for (let i = 0; i < 100; i++) sockets.push(await open(`u${i}`));
    // All welcomed at the same fake instant: record in which 100 ms slot each first ping fell.
    const slotOf = new Map<FakeSocket, number>();
    for (let t = 100; t <= 25_000; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      for (const s of sockets) if (s.pings > 0 && !slotOf.has(s)) slotOf.set(s, t);
    }
    expect(slotOf.size).toBe(100); // every socket pinged by intervalMs
    const slots = [...slotOf.values()];
    expect(Math.min(...slots)).toBeGreaterThanOrEqual(20_000); // not before the last fifth
    const perSlot = new Map<number, number>();
    for (const t of slots) perSlot.set(t, (perSlot.get(t) ?? 0) + 1);
    // Without jitter all 100 fall in one slot; uniform over 50 slots gives ~2 per slot.
    expect(perSlot.size).toBeGreaterThanOrEqual(10);
    expect(Math.max(...perSlot.values())).toBeLessThanOrEqual(25);
    // After their pongs they stay apart: the next round is spread too, each within intervalMs.
    for (const s of sockets) s.handlers.onPong();
    await vi.advanceTimersByTimeAsync(25_000);
    expect(sockets.every((s) => s.pings === 2 && !s.terminated)).toBe(true);
  });

  it('pingDelay stays within the last fifth of the interval', () => {
    expect(pingDelay(25_000, 0)).toBe(25_000);
    expect(pingDelay(25_000, 0.999_999)).toBe(20_000);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const d = pingDelay(25_000);
      expect(d).toBeGreaterThanOrEqual(20_000);
      expect(d).toBeLessThanOrEqual(25_000);
      seen.add(d);
    }
    // Whole steps: a few timer lists for every socket (Node keeps one per distinct delay).
    expect(seen.size).toBeGreaterThan(HEARTBEAT_JITTER_STEPS / 2);
    expect(seen.size).toBeLessThanOrEqual(HEARTBEAT_JITTER_STEPS + 1);
    for (const d of seen) expect((25_000 - d) % 100).toBe(0);
  });

  it('announces offline only after the grace period', async () => {
    make({ presence: { graceMs: 5000 } });
    const watcher = await open('bob');
    const alice = await open('alice');
    expect(watcher.of('presence')).toEqual([{ type: 'presence', userId: 'alice', online: true }]);
    alice.handlers.onClose(1000, '');
    await vi.advanceTimersByTimeAsync(4_999);
    expect(watcher.of('presence')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(watcher.of('presence').at(-1)).toMatchObject({ userId: 'alice', online: false });
  });

  it('retries the presence subscription while the engine is unreachable at start', async () => {
    const engine = createMemoryEngine();
    const subscribe = engine.subscribe.bind(engine);
    let failures = 3;
    engine.subscribe = (topic, handler) =>
      topic === 'presence' && failures-- > 0
        ? Promise.reject(new Error('store unreachable'))
        : subscribe(topic, handler);
    make({ engine, presence: { graceMs: 5000 } });
    // 3 failed attempts, backing off 250 + 500 + 1000 ms.
    await vi.advanceTimersByTimeAsync(1_750);
    expect(failures).toBe(-1);
    const watcher = await open('bob');
    await open('alice');
    expect(watcher.of('presence')).toEqual([{ type: 'presence', userId: 'alice', online: true }]);
  });

  it('delivers presence changes that happen during the session start, after welcome', async () => {
    // Alice's session is held right after her presence snapshot (Bob still offline in it); Bob
    // connects meanwhile. His "online" must reach Alice after her welcome, not be dropped.
    const engine = createMemoryEngine();
    const presenceConnect = engine.presenceConnect.bind(engine);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    engine.presenceConnect = async (userId, connectionId, ttlMs) => {
      if (userId === 'alice') await gate;
      return presenceConnect(userId, connectionId, ttlMs);
    };
    make({ engine, membersOf: () => ['alice', 'bob'] });
    const alice = new FakeSocket();
    alice.handlers = hub.open(alice, request);
    alice.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token: 'alice' }));
    await vi.advanceTimersByTimeAsync(0);
    expect(alice.of('welcome')).toHaveLength(0);
    await open('bob');
    release();
    await vi.advanceTimersByTimeAsync(0);
    const [welcome] = alice.of('welcome');
    expect(welcome?.presence).toEqual([{ userId: 'bob', online: false }]);
    const after = alice.frames.slice(alice.frames.indexOf(welcome!) + 1);
    expect(after).toContainEqual({ type: 'presence', userId: 'bob', online: true });
  });

  it('lets a read be retried when the onRead hook failed, and records it only once it succeeded', async () => {
    const calls: number[] = [];
    let fail = true;
    make({
      onRead: ({ seq }) => {
        calls.push(seq);
        if (fail) throw new Error('app down');
      },
    });
    const bob = await open('bob');
    const alice = await open('alice');
    await hub.publish('c1', { text: 'hi' });
    const read = JSON.stringify({ type: 'read', ref: 'r1', conversationId: 'c1', seq: 1 });
    alice.handlers.onMessage(read);
    await vi.advanceTimersByTimeAsync(0);
    expect(alice.of('error')).toMatchObject([{ ref: 'r1', code: 'unavailable' }]);
    expect(bob.of('read')).toEqual([]);
    fail = false;
    alice.handlers.onMessage(read);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([1, 1]);
    expect(bob.of('read')).toEqual([
      { type: 'read', conversationId: 'c1', userId: 'alice', seq: 1 },
    ]);
    alice.handlers.onMessage(read); // already recorded: not sent to the app again
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([1, 1]);
  });

  it('answers a hook that throws UnavailableError with unavailable + retryAfterMs, storing nothing', async () => {
    let down = true;
    make({
      persist: (draft) => {
        if (down) throw new UnavailableError('app down', { retryAfterMs: 2_500 });
        return draft;
      },
    });
    const alice = await open('alice');
    const send = JSON.stringify({
      type: 'send',
      ref: 'k1',
      conversationId: 'c1',
      clientMsgId: 'k1',
      text: 'hi',
    });
    alice.handlers.onMessage(send);
    await vi.advanceTimersByTimeAsync(0);
    expect(alice.of('error')).toMatchObject([
      { ref: 'k1', code: 'unavailable', retryAfterMs: 2_500 },
    ]);
    down = false;
    alice.handlers.onMessage(send);
    await vi.advanceTimersByTimeAsync(0);
    expect(alice.of('ack')).toMatchObject([
      { clientMsgId: 'k1', duplicate: false, message: { seq: 1 } },
    ]);
  });

  it("acks a connection's own send whose fan-out arrives after a sync replay included it", async () => {
    // With a networked engine (Redis pub/sub) the fan-out of a send may arrive after the same
    // connection's `sync` replay already carried that message; the sender must still get its ack.
    // (Sends are queued behind the session start, so only `sync` can overtake a fan-out.)
    const engine = createMemoryEngine();
    const subscribe = engine.subscribe.bind(engine);
    const deferred: (() => void)[] = [];
    let defer = false;
    engine.subscribe = (topic, handler) =>
      subscribe(topic, (e) => (defer ? deferred.push(() => handler(e)) : handler(e)));
    make({ engine });
    const alice = await open('alice');
    defer = true;
    alice.handlers.onMessage(
      JSON.stringify({
        type: 'send',
        ref: 'k1',
        conversationId: 'c1',
        clientMsgId: 'k1',
        text: 'hi',
      }),
    );
    await vi.advanceTimersByTimeAsync(0);
    alice.handlers.onMessage(JSON.stringify({ type: 'sync', conversationId: 'c1', after: 0 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(alice.of('replay')).toMatchObject([{ messages: [{ seq: 1, clientMsgId: 'k1' }] }]);
    defer = false;
    for (const run of deferred.splice(0)) run();
    expect(alice.of('ack')).toMatchObject([{ ref: 'k1', clientMsgId: 'k1', message: { seq: 1 } }]);
    expect(alice.of('message')).toEqual([]);
  });

  it('refuses a session whose authenticate hook returned an identity clients could not decode', async () => {
    make({
      authenticate: ({ token }) =>
        token === 'long-name'
          ? { userId: 'alice', profile: { name: 'x'.repeat(300) } }
          : { userId: 'u'.repeat(200) },
    });
    for (const token of ['long-name', 'long-id']) {
      const s = await open();
      s.handlers.onMessage(JSON.stringify({ type: 'hello', protocol: 1, token }));
      await vi.advanceTimersByTimeAsync(0);
      expect(s.of('welcome')).toEqual([]);
      expect(s.closed).toEqual({ code: 1011, reason: 'internal error' });
    }
  });

  it('asks for a fresh token refreshLeadMs before expiry and closes 4401 at expiry', async () => {
    // No heartbeat in the way: the fake socket never answers pings.
    make({ auth: { refreshLeadMs: 60_000 }, heartbeat: { intervalMs: 1_000_000 } });
    const s = await open(`alice@${Date.now() + 120_000}`);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(s.of('reauth')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.of('reauth')).toEqual([{ type: 'reauth', deadlineMs: 60_000 }]);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(s.closed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(s.closed).toEqual({ code: 4401, reason: 'token expired' });
  });

  it('keeps a refreshed session past the original expiry', async () => {
    make({ auth: { refreshLeadMs: 60_000 }, heartbeat: { intervalMs: 1_000_000 } });
    const s = await open(`alice@${Date.now() + 120_000}`);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.of('reauth')).toHaveLength(1);
    const next = Date.now() + 600_000;
    s.handlers.onMessage(JSON.stringify({ type: 'auth', ref: 'r', token: `alice@${next}` }));
    await vi.advanceTimersByTimeAsync(0);
    expect(s.of('authed')).toEqual([{ type: 'authed', ref: 'r', expiresAt: next }]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(s.closed).toBeUndefined();
    expect(s.of('reauth')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(s.closed).toEqual({ code: 4401, reason: 'token expired' });
  });

  it('drops ephemeral frames past the soft limit and closes 1013 past the hard limit', async () => {
    make({ backpressure: { softLimitBytes: 100, hardLimitBytes: 1000 } });
    const bob = await open('bob');
    const alice = await open('alice');
    bob.buffered = 500;
    alice.handlers.onMessage(
      JSON.stringify({ type: 'typing', conversationId: 'c1', state: 'start' }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(bob.of('typing')).toEqual([]);
    expect(hub.stats().droppedEphemeral).toBe(1);
    await hub.publish('c1', { text: 'kept' });
    expect(bob.of('message')).toHaveLength(1);
    bob.buffered = 5000;
    // A frame that would take the socket past its budget is not sent: the socket is closed 1013.
    await hub.publish('c1', { text: 'too much' });
    expect(bob.closed).toEqual({ code: 1013, reason: 'slow consumer' });
    await hub.publish('c1', { text: 'not queued' });
    expect(bob.of('message')).toHaveLength(1);
  });
});

describe('server-side events', () => {
  it('refuses an event no client could decode — bad name, deep payload, long conversation id — even when the app accepts any name (issue 19)', async () => {
    const anything = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (value: unknown) => ({ value }),
      },
    };
    // Like parley-server's `events: ["*"]`: a schema for every name, whatever its syntax.
    const events = new Proxy({} as Record<string, typeof anything>, {
      getOwnPropertyDescriptor: () => ({ value: anything, enumerable: true, configurable: true }),
      get: () => anything,
    });
    const hub = createHub({
      authenticate: () => null,
      conversationsOf: () => [],
      events,
    }) as unknown as Hub;
    const emit = hub.emit as (c: string, e: { name: string; payload: unknown }) => Promise<void>;
    const toUser = hub.sendToUser as (
      u: string,
      e: { name: string; payload: unknown },
    ) => Promise<void>;
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    try {
      await expect(emit('c1', { name: 'ok.name', payload: { a: 1 } })).resolves.toBeUndefined();
      await expect(toUser('bob', { name: 'ok.name', payload: null })).resolves.toBeUndefined();
      for (const call of [
        emit('c1', { name: 'bad name!', payload: {} }),
        toUser('bob', { name: 'x'.repeat(65), payload: {} }),
      ])
        await expect(call).rejects.toMatchObject({ name: 'HubUsageError', message: /^name: / });
      await expect(emit('c1', { name: 'ok', payload: deep })).rejects.toMatchObject({
        name: 'HubUsageError',
        message: /^payload: must be JSON/,
      });
      await expect(emit('c'.repeat(129), { name: 'ok', payload: {} })).rejects.toMatchObject({
        name: 'HubUsageError',
        message: /^conversationId: /,
      });
    } finally {
      await hub.close();
    }
  });
});

/**
 * Every wait has a deadline and no request is made twice (issue 14): the welcome timeout
 * (defect 5), single-flight token refresh (defect 6), the gap-fill timeout (defect 7) and
 * `emit()` resolving only on the hub's `ok` (defect 9).
 */
import { defineEvents } from '@parley/protocol';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  ClientCode,
  type ClientOptions,
  type ParleyClient,
  type ReconnectInfo,
  ServerError,
  TimeoutError,
} from '../src/index.js';
import { mockHub, nextEvent, opened, until, useMockedClients } from './helpers/mock-hub.js';

const events = defineEvents({ ring: z.object({}) });
const client = useMockedClients({ random: () => 0, heartbeat: { intervalMs: 600_000 } });
/** A client that knows the `ring` event. */
const ringer = (o: Partial<ClientOptions<typeof events>> = {}) =>
  client({ ...o, events } as never) as unknown as ParleyClient<typeof events>;

describe('welcome timeout (defect 5)', () => {
  it('gives up on a hello that is never answered and reconnects', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    // The server-side auth hangs: hello is never answered (pings are, so the link looks alive).
    const hub = mockHub({ onFrame: (f, conn) => f.type === 'hello' && conn.index === 0 });
    const c = client({ welcomeTimeoutMs: 2_000, heartbeat: { intervalMs: 500, timeoutMs: 500 } });
    const reconnects: ReconnectInfo[] = [];
    c.on('reconnect', (r) => reconnects.push(r));
    await until(() => expect(hub.frames('hello')).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(reconnects).toEqual([]);
    expect(c.state).toBe('connecting');
    await vi.advanceTimersByTimeAsync(1);
    expect(reconnects).toMatchObject([{ code: ClientCode.WelcomeTimeout }]);
    await until(() => expect(hub.conns[0]!.closed).toBe(true));
    // The mocked socket of the next attempt opens on a timer of msw's.
    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => expect(c.state).toBe('open'));
    expect(hub.conns).toHaveLength(2);
  });
});

describe('token refresh (defect 6)', () => {
  it('parallel reauth requests share one token provider call and send one auth', async () => {
    let calls = 0;
    let release: (t: string) => void = () => {};
    const hub = mockHub();
    const c = client({
      token: () => {
        calls++;
        if (calls === 1) return 't1';
        return new Promise<string>((r) => {
          release = r;
        });
      },
    });
    await opened(c);
    for (let i = 0; i < 3; i++) hub.conns[0]!.send({ type: 'reauth', deadlineMs: 30_000 });
    await until(() => expect(calls).toBeGreaterThan(1));
    // Let every reauth frame arrive while the provider is still busy.
    hub.conns[0]!.send({ type: 'pong' });
    await until(() => expect(hub.conns[0]!.frames.length).toBeGreaterThan(0));
    release('t2');
    await hub.waitForFrame((f) => f.type === 'auth');
    hub.conns[0]!.send({ type: 'reauth', deadlineMs: 30_000 });
    await until(() => expect(calls).toBe(3));
    release('t3');
    await until(() => expect(hub.frames('auth')).toHaveLength(2));
    expect(hub.frames('auth')).toEqual([
      { type: 'auth', token: 't2' },
      { type: 'auth', token: 't3' },
    ]);
  });
});

describe('gap fill timeout (defect 7)', () => {
  it('an unanswered sync ends: the client resumes from its cursor on a new link', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub({ onFrame: (f, conn) => f.type === 'sync' && conn.index === 0 });
    const c = client({ requestTimeoutMs: 3_000 });
    await opened(c);
    const conv = c.conversation('c1');
    const m1 = hub.store('c1', 'one');
    hub.store('c1', 'two');
    const m3 = hub.store('c1', 'three');
    hub.conns[0]!.send({ type: 'message', message: m1 });
    hub.conns[0]!.send({ type: 'message', message: m3 });
    await hub.waitForFrame((f) => f.type === 'sync');
    await vi.advanceTimersByTimeAsync(2_999);
    expect(hub.conns).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => expect(conv.messages.map((m) => m.seq)).toEqual([1, 2, 3]));
    expect(hub.conns).toHaveLength(2);
    expect(hub.conns[1]!.frames[0]).toMatchObject({ type: 'hello', cursors: { c1: { seq: 1 } } });
  });
});

describe('a refused gap fill (defect 7)', () => {
  it('replaces the link: the resume fills the gap, even with no later message', async () => {
    const hub = mockHub({
      onFrame: (f, conn) => {
        if (f.type !== 'sync' || conn.index !== 0) return false;
        conn.send({
          type: 'error',
          ref: f.ref,
          code: 'rate_limited',
          message: 'slow down',
          retryAfterMs: 10,
        });
        return true;
      },
    });
    const c = client();
    await opened(c);
    const conv = c.conversation('c1');
    const m1 = hub.store('c1', 'one');
    hub.store('c1', 'two');
    const m3 = hub.store('c1', 'three');
    hub.conns[0]!.send({ type: 'message', message: m1 });
    hub.conns[0]!.send({ type: 'message', message: m3 });
    await until(() => expect(conv.messages.map((m) => m.seq)).toEqual([1, 2, 3]));
    expect(hub.conns).toHaveLength(2);
  });
});

describe('emit (defect 9)', () => {
  it('resolves on the hub’s ok', async () => {
    const hub = mockHub();
    const c = ringer();
    await opened(c);
    await c.emit('ring', { userId: 'u2' }, {});
    await c.conversation('c1').emit('ring', {});
    expect(hub.frames('event')).toEqual([
      { type: 'event', ref: expect.any(String), name: 'ring', userId: 'u2', payload: {} },
      { type: 'event', ref: expect.any(String), name: 'ring', conversationId: 'c1', payload: {} },
    ]);
  });

  it('rejects with the typed refusal correlated by ref', async () => {
    const hub = mockHub({
      onFrame: (f, conn) => {
        if (f.type !== 'event') return false;
        conn.send({ type: 'error', ref: f.ref, code: 'forbidden', message: 'not a contact' });
        return true;
      },
    });
    const c = ringer();
    await opened(c);
    const errors: unknown[] = [];
    c.on('error', (e) => errors.push(e));
    const err = await c.emit('ring', { userId: 'stranger' }, {}).catch((e) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ code: 'forbidden', message: 'not a contact' });
    expect(errors).toEqual([]);
    expect(hub.frames('event')).toHaveLength(1);
  });

  it('rejects with TimeoutError when the hub never answers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    mockHub({ onFrame: (f) => f.type === 'event' });
    const c = ringer({ requestTimeoutMs: 1_000 });
    await opened(c);
    const p = c.emit('ring', { userId: 'u2' }, {}).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await p).toBeInstanceOf(TimeoutError);
  });

  it('rejects with DisconnectedError when the link drops before the answer', async () => {
    const hub = mockHub({ onFrame: (f) => f.type === 'event' });
    const c = ringer();
    await opened(c);
    const p = c.emit('ring', { userId: 'u2' }, {}).catch((e: unknown) => e);
    await hub.waitForFrame((f) => f.type === 'event');
    const down = nextEvent((l) => c.on('state', l));
    hub.conns[0]!.close(1001);
    await down;
    expect(await p).toMatchObject({ code: 'disconnected' });
  });
});

import { CloseCode, SUBPROTOCOL } from '@parley/protocol';
import { describe, expect, it, vi } from 'vitest';
import {
  backoffCap,
  ClientClosedError,
  ClientCode,
  DEFAULT_RECONNECT,
  manualLifecycle,
  type StateChange,
} from '../src/index.js';
import { mockHub, nextEvent, opened, until, useMockedClients } from './helpers/mock-hub.js';

const client = useMockedClients();

describe('connection', () => {
  it('offers the parley.v1 subprotocol and sends the exact hello', async () => {
    const hub = mockHub();
    const c = client();
    await opened(c);
    expect(hub.conns[0]!.protocols).toBe(SUBPROTOCOL);
    expect(hub.conns[0]!.frames[0]).toEqual({
      type: 'hello',
      protocol: 1,
      token: 't1',
      cursors: {},
      client: { name: '@parley/client' },
    });
    expect(c.userId).toBe('u1');
  });

  it('resumes from its cursors after a reconnect', async () => {
    const hub = mockHub();
    hub.store('c1', 'one');
    hub.store('c1', 'two');
    const c = client({ random: () => 0 });
    void c.conversation('c1').open();
    await opened(c);
    await until(() => expect(c.conversation('c1').messages).toHaveLength(2));
    hub.conns[0]!.close(CloseCode.GoingAway, 'bye');
    const second = await hub.waitForConn(1);
    await opened(c);
    expect(second.frames[0]).toEqual({
      type: 'hello',
      protocol: 1,
      token: 't1',
      cursors: { c1: { seq: 2, epoch: 'e1' } },
      client: { name: '@parley/client' },
    });
  });

  it('keeps backoff delays within the full-jitter bounds and the cap', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    // Every connection is refused with a retry code.
    const hub = mockHub({ authenticate: () => CloseCode.GoingAway });
    const randoms = [
      0.999999, 0, 0.5, 0.999999, 0.25, 0.999999, 0.999999, 0.999999, 0.999999, 0.999999, 0.999999,
    ];
    let i = 0;
    const c = client({ random: () => randoms[i++ % randoms.length]! });
    const delays: number[] = [];
    c.on('reconnect', (r) => delays.push(r.delayMs));
    for (let n = 0; n < randoms.length; n++) {
      await until(() => expect(delays).toHaveLength(n + 1));
      const delay = delays[n]!;
      const cap = backoffCap(n, DEFAULT_RECONNECT);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(cap);
      expect(delay).toBe(Math.floor(randoms[n]! * cap));
      // The reconnect does not happen before the delay, and does right after it.
      if (delay > 0) {
        await vi.advanceTimersByTimeAsync(delay - 1);
        expect(hub.conns).toHaveLength(n + 1);
      }
      await vi.advanceTimersByTimeAsync(1);
      await until(() => expect(hub.conns).toHaveLength(n + 2));
    }
    // The window is capped at maxDelayMs.
    expect(backoffCap(10, DEFAULT_RECONNECT)).toBe(DEFAULT_RECONNECT.maxDelayMs);
    expect(delays.at(-1)).toBe(Math.floor(0.999999 * DEFAULT_RECONNECT.maxDelayMs));
    expect(c.state).toBe('connecting');
  });

  it('resets the attempt counter only after minUptimeMs of uptime', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub();
    const c = client({ random: () => 0.999999, reconnect: { minUptimeMs: 1_000 } });
    const delays: number[] = [];
    c.on('reconnect', (r) => delays.push(r.delayMs));
    await opened(c);
    hub.conns[0]!.close(CloseCode.GoingAway);
    await until(() => expect(delays).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(delays[0]!);
    await until(() => expect(c.state).toBe('open'));
    // Dropped quickly: the window grows.
    hub.conns[1]!.close(CloseCode.GoingAway);
    await until(() => expect(delays).toHaveLength(2));
    expect(delays[1]).toBeGreaterThan(delays[0]!);
    await vi.advanceTimersByTimeAsync(delays[1]!);
    await until(() => expect(c.state).toBe('open'));
    // Stayed up long enough: back to the first window.
    await vi.advanceTimersByTimeAsync(1_000);
    hub.conns[2]!.close(CloseCode.GoingAway);
    await until(() => expect(delays).toHaveLength(3));
    expect(delays[2]).toBe(delays[0]);
  });

  it('detects a dead link by heartbeat and reconnects within intervalMs + timeoutMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub({ pong: false });
    const c = client({ heartbeat: { intervalMs: 1_000, timeoutMs: 500 }, random: () => 0 });
    const states: StateChange[] = [];
    c.on('state', (s) => states.push(s));
    await opened(c);
    const start = Date.now();
    await vi.advanceTimersByTimeAsync(999);
    expect(hub.frames('ping')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(hub.frames('ping')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(c.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(states.at(-1)).toMatchObject({
      from: 'open',
      to: 'reconnecting',
      code: ClientCode.DeadLink,
    });
    expect(Date.now() - start).toBe(1_500);
    // A 0 ms timer scheduled inside a fake-timer tick runs 1 ms later.
    await vi.advanceTimersByTimeAsync(1);
    await until(() => expect(c.state).toBe('open'));
    expect(hub.conns).toHaveLength(2);
  });

  it('answered pings keep the link open', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub();
    const c = client({ heartbeat: { intervalMs: 1_000, timeoutMs: 500 } });
    await opened(c);
    for (let i = 0; i < 10; i++) await vi.advanceTimersByTimeAsync(1_000);
    expect(hub.frames('ping').length).toBeGreaterThanOrEqual(5);
    expect(c.state).toBe('open');
    expect(hub.conns).toHaveLength(1);
  });

  it('probes at once when the tab becomes visible, and reconnects when the probe fails', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub({ pong: false });
    const lifecycle = manualLifecycle();
    const c = client({
      lifecycle,
      heartbeat: { intervalMs: 60_000, timeoutMs: 500 },
      random: () => 0,
    });
    await opened(c);
    lifecycle.signal('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(hub.frames('ping')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1);
    await until(() => expect(hub.conns).toHaveLength(2));
  });

  it('goes offline on an offline signal while down and reconnects at once on online', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub();
    const lifecycle = manualLifecycle();
    const c = client({ lifecycle, reconnect: { minDelayMs: 60_000 }, random: () => 0.5 });
    await opened(c);
    lifecycle.online = false;
    hub.conns[0]!.close(CloseCode.GoingAway);
    await until(() => expect(c.state).toBe('offline'));
    // The backoff timer (30 s here) is only a fallback; the online signal does not wait for it.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(hub.conns).toHaveLength(1);
    lifecycle.signal('online');
    await until(() => expect(c.state).toBe('open'));
    expect(hub.conns).toHaveLength(2);
  });

  it('calls the token provider again after a 4401 close', async () => {
    let calls = 0;
    const hub = mockHub({
      authenticate: (token) => (token === 'fresh-2' ? undefined : CloseCode.Unauthenticated),
    });
    const c = client({
      random: () => 0,
      token: async () => {
        calls++;
        return `fresh-${calls}`;
      },
    });
    await opened(c);
    expect(calls).toBe(2);
    expect(hub.frames('hello').map((f) => f.type === 'hello' && f.token)).toEqual([
      'fresh-1',
      'fresh-2',
    ]);
  });

  it('answers an in-band reauth with a fresh token without reconnecting', async () => {
    let calls = 0;
    const hub = mockHub();
    const c = client({ token: () => `tok-${++calls}` });
    await opened(c);
    hub.conns[0]!.send({ type: 'reauth', deadlineMs: 5_000 });
    const auth = await hub.waitForFrame((f) => f.type === 'auth');
    expect(auth).toEqual({ type: 'auth', token: 'tok-2' });
    expect(hub.conns).toHaveLength(1);
  });

  it('stops retrying after a 4403 close and surfaces the reason', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub({ authenticate: () => CloseCode.Forbidden });
    const c = client({ autoConnect: false });
    const pending = c.conversation('c1').send('never');
    const rejected = expect(pending).rejects.toBeInstanceOf(ClientClosedError);
    const closed = nextEvent<StateChange>(
      (l) => c.on('state', l),
      (s) => s.to === 'closed',
    );
    c.connect();
    expect(await closed).toEqual({
      from: 'connecting',
      to: 'closed',
      code: 4403,
      reason: 'refused',
    });
    await rejected;
    await expect(pending).rejects.toMatchObject({ code: 'connection_stopped' });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(hub.conns).toHaveLength(1);
    await expect(c.conversation('c1').send('after')).rejects.toMatchObject({
      code: 'client_closed',
    });
  });

  it.each([CloseCode.BadRequest, CloseCode.SubprotocolNotAcceptable, CloseCode.PolicyViolation])(
    'stops on %i',
    async (code) => {
      mockHub({ authenticate: () => code });
      const c = client();
      const s = await nextEvent<StateChange>(
        (l) => c.on('state', l),
        (x) => x.to === 'closed',
      );
      expect(s.code).toBe(code);
    },
  );

  it('reconnects after a 1012 honouring the shutdown hint', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub();
    const c = client({ random: () => 0.999999 });
    await opened(c);
    const states: StateChange[] = [];
    c.on('state', (s) => states.push(s));
    hub.conns[0]!.send({ type: 'shutdown', retryAfterMs: 1_234 });
    // msw drops a frame sent in the same tick as the close; a real server flushes it first.
    await vi.advanceTimersByTimeAsync(0);
    hub.conns[0]!.close(CloseCode.ServiceRestart, 'restart');
    await until(() => expect(c.state).toBe('reconnecting'));
    expect(states[0]).toEqual({ from: 'open', to: 'reconnecting', code: 1012, reason: 'restart' });
    await vi.advanceTimersByTimeAsync(1_233);
    expect(hub.conns).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await until(() => expect(c.state).toBe('open'));
  });

  it('backs off longer on overload codes', async () => {
    mockHub({ authenticate: () => CloseCode.TryAgainLater });
    const c = client({ random: () => 0.999999 });
    const info = await nextEvent<{ delayMs: number }>((l) => c.on('reconnect', l));
    expect(info.delayMs).toBe(
      Math.floor(0.999999 * backoffCap(DEFAULT_RECONNECT.overloadPenalty, DEFAULT_RECONNECT)),
    );
  });

  it('an app listener that throws does not break the connection', async () => {
    const hub = mockHub();
    const errors: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (o: object) => errors.push(o) };
    const c = client({ logger });
    c.conversation('c1').on('message', () => {
      throw new Error('app bug');
    });
    await opened(c);
    for (const text of ['one', 'one and a half', 'two'])
      hub.conns[0]!.send({ type: 'message', message: hub.store('c1', text) });
    await until(() => expect(c.conversation('c1').messages).toHaveLength(3));
    expect(errors).toHaveLength(3);
    expect(c.state).toBe('open');
  });

  it('close() is final and Symbol.asyncDispose closes', async () => {
    mockHub();
    const c = client();
    await opened(c);
    await c[Symbol.asyncDispose]();
    expect(c.state).toBe('closed');
  });
});

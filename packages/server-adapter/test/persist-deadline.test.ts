/**
 * Every wait has a deadline: a `persist` hook that never settles, and a send lease whose holder
 * died, each end in an answer the client can act on (fake timers drive the clock).
 */
import { describe, expect, it, vi } from 'vitest';
import { createMemoryEngine } from '../src/engines/memory/index.js';
import { createHub, type Hub } from '../src/hub/hub.js';
import type { HubOptions } from '../src/hub/options.js';
import { type FakeSocket, fakeTimersClosing, openFakeSocket } from './utils/fake-socket.js';

describe('persist deadline and send lease', () => {
  let hub: Hub;
  fakeTimersClosing(() => hub);

  const make = (options: Partial<HubOptions>) => {
    hub = createHub({
      authenticate: ({ token }) => (token ? { userId: token } : null),
      conversationsOf: () => ['c1', 'c2'],
      ...options,
    });
    return hub;
  };
  const open = (token: string): Promise<FakeSocket> => openFakeSocket(hub, token);
  const send = (s: FakeSocket, ref: string, conversationId = 'c1', clientMsgId = 'k1') =>
    s.handlers.onMessage(
      JSON.stringify({ type: 'send', ref, conversationId, clientMsgId, text: 'hi' }),
    );
  const answer = (s: FakeSocket, ref: string) =>
    s.frames.find((f) => (f.type === 'ack' || f.type === 'error') && f.ref === ref);

  it('answers unavailable when persist does not settle within persistTimeoutMs, and a retry stores the message once', async () => {
    let calls = 0;
    make({
      limits: { persistTimeoutMs: 2_000 },
      persist: () => {
        calls++;
        // The first call hangs for good (a database that never answers); the retry works.
        return calls === 1 ? new Promise<undefined>(() => {}) : undefined;
      },
    });
    const alice = await open('alice');
    send(alice, 'r1');
    await vi.advanceTimersByTimeAsync(1_999);
    expect(answer(alice, 'r1')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(answer(alice, 'r1')).toMatchObject({
      type: 'error',
      code: 'unavailable',
      clientMsgId: 'k1',
      retryAfterMs: 1_000,
    });
    // The socket was not left blocked behind the hook, and the lease was dropped: the retry
    // claims it at once and is stored.
    send(alice, 'r2');
    await vi.advanceTimersByTimeAsync(0);
    expect(answer(alice, 'r2')).toMatchObject({ type: 'ack', duplicate: false });
    expect(calls).toBe(2);
  });

  it('answers an edit whose persistOperation hook does not settle in time with unavailable, and its retry goes through', async () => {
    let calls = 0;
    make({
      limits: { persistTimeoutMs: 2_000 },
      persistOperation: () => {
        calls++;
        return calls === 1 ? new Promise<undefined>(() => {}) : undefined;
      },
    });
    const alice = await open('alice');
    send(alice, 's1');
    await vi.advanceTimersByTimeAsync(0);
    const target = answer(alice, 's1');
    expect(target).toMatchObject({ type: 'ack', duplicate: false });
    const edit = (ref: string) =>
      alice.handlers.onMessage(
        JSON.stringify({
          type: 'edit',
          ref,
          conversationId: 'c1',
          clientMsgId: 'e1',
          target: target?.type === 'ack' ? target.message.seq : 0,
          text: 'edited',
        }),
      );
    edit('r1');
    await vi.advanceTimersByTimeAsync(1_999);
    expect(answer(alice, 'r1')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(answer(alice, 'r1')).toMatchObject({
      type: 'error',
      code: 'unavailable',
      message: 'storing the operation took too long; retry',
      conversationId: 'c1',
      clientMsgId: 'e1',
      retryAfterMs: 1_000,
    });
    edit('r2');
    await vi.advanceTimersByTimeAsync(0);
    expect(answer(alice, 'r2')).toMatchObject({ type: 'ack', duplicate: false });
    expect(calls).toBe(2);
  });

  it('tells a retry that finds the lease held how long it has left, so it retries once the holder is gone', async () => {
    const engine = createMemoryEngine();
    let calls = 0;
    make({
      engine,
      limits: { persistTimeoutMs: 10_000 },
      persist: () => {
        calls++;
        return calls === 1 ? new Promise<undefined>(() => {}) : undefined;
      },
    });
    const first = await open('alice');
    send(first, 'r1');
    await vi.advanceTimersByTimeAsync(3_000);
    const second = await open('alice');
    send(second, 'r2');
    await vi.advanceTimersByTimeAsync(0);
    // Lease = persistTimeoutMs + 5 s margin = 15 s, 3 s of it used.
    expect(answer(second, 'r2')).toMatchObject({
      type: 'error',
      code: 'unavailable',
      retryAfterMs: 12_000,
    });
    expect(calls).toBe(1);
  });

  it('takes over a lease left by a process that died inside persist once it runs out', async () => {
    const engine = createMemoryEngine();
    // Another process claimed the send and died: its lease is in the shared engine, nothing else.
    await engine.claimSend('c1', 'alice', 'k1', 15_000);
    let calls = 0;
    make({
      engine,
      persist: () => {
        calls++;
        return undefined;
      },
    });
    const alice = await open('alice');
    send(alice, 'r1');
    await vi.advanceTimersByTimeAsync(0);
    const busy = answer(alice, 'r1');
    expect(busy).toMatchObject({ type: 'error', code: 'unavailable' });
    const wait = busy?.type === 'error' ? (busy.retryAfterMs ?? 0) : 0;
    expect(wait).toBeGreaterThan(14_000);
    expect(wait).toBeLessThanOrEqual(15_000);
    await vi.advanceTimersByTimeAsync(wait);
    send(alice, 'r2');
    await vi.advanceTimersByTimeAsync(0);
    expect(answer(alice, 'r2')).toMatchObject({ type: 'ack', duplicate: false });
    expect(calls).toBe(1);
  });
});

/**
 * Issue 15: `read` frames of one conversation that wait in a busy connection queue are coalesced
 * (Connection.enqueueRead): the waiting task records the newest seq once; the other frame types
 * keep their order.
 */
import { describe, expect, it, vi } from 'vitest';
import { createMemoryEngine } from '../src/engines/memory/index.js';
import { createHub, type Hub } from '../src/hub/hub.js';
import type { HubOptions } from '../src/hub/options.js';
import { type FakeSocket, fakeTimersClosing, openFakeSocket } from './utils/fake-socket.js';

describe('read coalescing in the connection queue', () => {
  let hub: Hub;
  fakeTimersClosing(() => hub);

  /** A hub over a memory engine whose setRead calls are counted; 20 messages in c1. */
  const make = async (options: Partial<HubOptions> = {}) => {
    const engine = createMemoryEngine();
    const setRead = vi.spyOn(engine, 'setRead');
    hub = createHub({
      engine,
      authenticate: ({ token }) => (token ? { userId: token } : null),
      conversationsOf: () => ['c1', 'c2'],
      ...options,
    });
    for (let i = 1; i <= 20; i++) await hub.publish('c1', { text: `m${i}` });
    await hub.publish('c2', { text: 'other' });
    return { engine, setRead };
  };
  const open = (token: string): Promise<FakeSocket> => openFakeSocket(hub, token);
  const read = (s: FakeSocket, seq: number, conversationId = 'c1') =>
    s.handlers.onMessage(JSON.stringify({ type: 'read', conversationId, seq }));
  /** A promise and its resolver. */
  const gate = () => {
    let open!: () => void;
    const p = new Promise<void>((r) => {
      open = r;
    });
    return { p, open };
  };

  it('records 20 reads sent while the queue is busy once, with the newest seq', async () => {
    const busy = gate();
    const hooked: string[] = [];
    const { engine, setRead } = await make({
      onRead: async ({ conversationId, seq }) => {
        hooked.push(`${conversationId}:${seq}`);
        if (conversationId === 'c2') await busy.p;
      },
    });
    const bob = await open('bob');
    const alice = await open('alice');
    // A read of c2 whose hook holds alice's queue.
    read(alice, 1, 'c2');
    await vi.advanceTimersByTimeAsync(0);
    for (let seq = 1; seq <= 20; seq++) read(alice, seq);
    await vi.advanceTimersByTimeAsync(0);
    expect(hooked).toEqual(['c2:1']);
    busy.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(hooked).toEqual(['c2:1', 'c1:20']);
    expect(setRead.mock.calls.filter(([c]) => c === 'c1')).toEqual([['c1', 'alice', 20]]);
    expect((await engine.reads('c1')).alice).toBe(20);
    expect(bob.of('read').filter((f) => f.conversationId === 'c1')).toEqual([
      { type: 'read', conversationId: 'c1', userId: 'alice', seq: 20 },
    ]);
    // The queue is idle again: the next read is recorded at once.
    read(alice, 20);
    read(alice, 7); // lower: ignored (monotonic)
    await vi.advanceTimersByTimeAsync(0);
    expect(hooked).toEqual(['c2:1', 'c1:20']);
    expect((await engine.reads('c1')).alice).toBe(20);
  });

  it('runs the hook at most twice when the first read is the slow one, ending at the newest seq', async () => {
    const busy = gate();
    const hooked: number[] = [];
    const { engine, setRead } = await make({
      onRead: async ({ seq }) => {
        hooked.push(seq);
        await busy.p;
      },
    });
    const bob = await open('bob');
    const alice = await open('alice');
    // Out of order on purpose: the newest seq wins, not the last frame.
    for (const seq of [1, 2, 3, 19, 20, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]) {
      read(alice, seq);
    }
    await vi.advanceTimersByTimeAsync(0);
    busy.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(hooked).toEqual([1, 20]);
    expect(setRead).toHaveBeenCalledTimes(2);
    expect((await engine.reads('c1')).alice).toBe(20);
    expect(bob.of('read').map((f) => f.seq)).toEqual([1, 20]);
  });

  it('keeps the order of the other frames', async () => {
    const busy = gate();
    await make({
      onRead: async ({ conversationId }) => {
        if (conversationId === 'c2') await busy.p;
      },
    });
    const alice = await open('alice');
    read(alice, 1, 'c2');
    const history = (ref: string) =>
      alice.handlers.onMessage(
        JSON.stringify({ type: 'history', ref, conversationId: 'c1', before: 21, limit: 1 }),
      );
    history('h1');
    read(alice, 5);
    history('h2');
    read(alice, 9);
    history('h3');
    await vi.advanceTimersByTimeAsync(0);
    expect(alice.of('history')).toEqual([]);
    busy.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(alice.of('history').map((f) => f.ref)).toEqual(['h1', 'h2', 'h3']);
  });

  it('never folds a read sent after a join into one queued before it', async () => {
    const busy = gate();
    const hooked: string[] = [];
    const { engine } = await make({
      onRead: async ({ conversationId, seq }) => {
        hooked.push(`${conversationId}:${seq}`);
        if (conversationId === 'c2') await busy.p;
      },
    });
    await hub.publish('c3', { text: 'before alice joined' });
    const alice = await open('alice');
    read(alice, 1, 'c2');
    await vi.advanceTimersByTimeAsync(0);
    read(alice, 1, 'c3'); // queued before the join: refused when it runs (not a member yet)
    const joining = hub.join('c3', ['alice']);
    await vi.advanceTimersByTimeAsync(0);
    read(alice, 1, 'c3'); // sent after the join: its own task, after the join's
    busy.open();
    await vi.advanceTimersByTimeAsync(0);
    await joining;
    await vi.advanceTimersByTimeAsync(0);
    expect(hooked).toEqual(['c2:1', 'c3:1']);
    expect((await engine.reads('c3')).alice).toBe(1);
    expect(alice.of('error').map((f) => [f.code, f.conversationId])).toEqual([['forbidden', 'c3']]);
  });
  it('answers every folded read’s ref when the waiting read is refused', async () => {
    const busy = gate();
    await make({
      limits: { rate: { burst: 200, perSecond: 20 } },
      onRead: async ({ conversationId }) => {
        if (conversationId === 'c2') await busy.p;
      },
    });
    await hub.publish('c3', { text: 'alice is not a member' });
    const alice = await open('alice');
    read(alice, 1, 'c2'); // holds the queue
    await vi.advanceTimersByTimeAsync(0);
    const refs = Array.from({ length: 70 }, (_, i) => `r${i}`);
    for (const [i, ref] of refs.entries()) {
      alice.handlers.onMessage(
        JSON.stringify({ type: 'read', ref, conversationId: 'c3', seq: i + 1 }),
      );
    }
    // Without a ref: folded, and nothing to answer.
    read(alice, 99, 'c3');
    busy.open();
    await vi.advanceTimersByTimeAsync(0);
    const errors = alice.of('error');
    expect(errors.every((e) => e.code === 'forbidden' && e.conversationId === 'c3')).toBe(true);
    // Each ref once (70 refs: past 64 folded refs a read queues its own task, which folds the rest).
    expect(errors.map((e) => e.ref).sort()).toEqual([...refs].sort());
  });
});

/**
 * The outgoing `read` frame is debounced (`read.delayMs` of quiet, at most `read.maxDelayMs` after
 * the first pending `markRead`); `readSeq`, the unread count and the local `read` event are not.
 */
import { CloseCode } from '@parley/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { ReadEvent } from '../src/index.js';
import { mockHub, opened, until, useMockedClients } from './helpers/mock-hub.js';

const client = useMockedClients({ random: () => 0 });

/** A client with `n` messages held in c1, under fake timers. */
async function setup(n: number, opts: Parameters<typeof client>[0] = {}) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  const hub = mockHub();
  for (let i = 0; i < n; i++) hub.store('c1', `m${i + 1}`);
  const c = client(opts);
  const conv = c.conversation('c1');
  void conv.open(n);
  await opened(c);
  await until(() => expect(conv.messages).toHaveLength(n));
  return { hub, c, conv };
}

describe('read receipts', () => {
  it('sends one frame with the newest seq for a burst; the local state is immediate', async () => {
    const { hub, conv } = await setup(10);
    const events: ReadEvent[] = [];
    conv.on('read', (e) => events.push(e));
    for (let seq = 1; seq <= 10; seq++) {
      conv.markRead(seq);
      expect(conv.readSeq).toBe(seq);
      expect(conv.unreadCount).toBe(10 - seq);
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(hub.frames('read')).toEqual([]);
    // 300 ms of quiet after the last call (10 ms ago).
    await vi.advanceTimersByTimeAsync(289);
    expect(hub.frames('read')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(hub.frames('read')).toEqual([{ type: 'read', conversationId: 'c1', seq: 10 }]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(hub.frames('read')).toHaveLength(1);
  });

  it('sends at most one frame per maxDelayMs while markRead keeps being called', async () => {
    const { hub, conv } = await setup(50);
    const sentAt: number[] = [];
    const start = Date.now();
    for (let seq = 1; seq <= 50; seq++) {
      conv.markRead(seq);
      const before = hub.frames('read').length;
      await vi.advanceTimersByTimeAsync(100);
      if (hub.frames('read').length > before) sentAt.push(Date.now() - start);
    }
    await vi.advanceTimersByTimeAsync(300);
    const seqs = hub.frames('read').map((f) => (f as { seq: number }).seq);
    // One frame per second of the 5 s stream, the newest seq each time (the last one trailing).
    expect(seqs).toEqual([10, 20, 30, 40, 50]);
    for (let i = 1; i < sentAt.length; i++) {
      expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(1_000);
    }
  });

  it('takes the timing from the read option (delayMs 0: next tick)', async () => {
    const { hub, conv } = await setup(3, { read: { delayMs: 0 } });
    conv.markRead(2);
    conv.markRead(3);
    await vi.advanceTimersByTimeAsync(0);
    expect(hub.frames('read')).toEqual([{ type: 'read', conversationId: 'c1', seq: 3 }]);
  });

  it('sends a read still pending at a reconnect after the welcome', async () => {
    // Reconnects 1 s after the drop (full jitter: 0.5 × 2 s).
    const { hub, c, conv } = await setup(3, {
      random: () => 0.5,
      reconnect: { minDelayMs: 2_000 },
    });
    conv.markRead(3);
    hub.conns[0]!.close(CloseCode.GoingAway, 'bye');
    await until(() => expect(c.state).not.toBe('open'));
    // The timer fires while the link is down: nothing is lost.
    await vi.advanceTimersByTimeAsync(300);
    expect(hub.frames('read')).toEqual([]);
    await vi.advanceTimersByTimeAsync(700);
    const second = await hub.waitForConn(1);
    await opened(c);
    await until(() => expect(second.frames.filter((f) => f.type === 'read')).toHaveLength(1));
    expect(second.frames.filter((f) => f.type === 'read')).toEqual([
      { type: 'read', conversationId: 'c1', seq: 3 },
    ]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(hub.frames('read')).toHaveLength(1);
  });

  it('leaves no timer running after close', async () => {
    const { hub, c, conv } = await setup(3);
    conv.markRead(3);
    c.close();
    await until(() => expect(c.state).toBe('closed'));
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(hub.frames('read')).toEqual([]);
  });
});

/**
 * The message list (issue 14): a stored message is shown exactly once and never beside a pending
 * entry of itself, even when its ack was lost and the reconnect got a `reset` (defect 1); the
 * list is a bounded window (defect 11).
 */
import type { Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { ClientMessage } from '../src/index.js';
import {
  type MockConn,
  type MockHub,
  mockHub,
  opened,
  until,
  useMockedClients,
} from './helpers/mock-hub.js';

const client = useMockedClients({ random: () => 0, heartbeat: { intervalMs: 600_000 } });

const view = (ms: readonly ClientMessage[]) => ms.map((m) => [m.seq ?? m.text, m.status]);

function welcome(conn: MockConn, hub: MockHub) {
  const msgs = hub.conversations.c1!.messages;
  conn.send({
    type: 'welcome',
    protocol: 1,
    sessionId: `s${conn.index}`,
    user: { id: 'u1' },
    conversations: [{ id: 'c1', seq: msgs.at(-1)?.seq ?? 0, epoch: 'e1', readSeq: 0, unread: 0 }],
    presence: [],
    heartbeat: { intervalMs: 30_000, timeoutMs: 10_000 },
    limits: { maxFrameBytes: 65_536, maxTextLength: 10_000 },
  });
}

describe('lost ack, then a reset (defect 1)', () => {
  it.each([
    ['the retry is acked as a duplicate', false],
    ['the message comes back in a history page first', true],
  ])('no pending entry is left for the stored message: %s', async (_name, pageFirst) => {
    const byId = new Map<string, Message>();
    let heldAck: (() => void) | undefined;
    const hub = mockHub({
      onFrame: (f, conn, h) => {
        if (f.type === 'send') {
          const known = byId.get(f.clientMsgId);
          if (known !== undefined) {
            const ack = () =>
              conn.send({
                type: 'ack',
                ref: f.ref,
                clientMsgId: f.clientMsgId,
                message: known,
                duplicate: true,
              });
            // With `pageFirst`, the duplicate ack waits until a history page was answered.
            if (pageFirst) heldAck = ack;
            else ack();
            return true;
          }
          // Stored, then the link dies before the ack leaves.
          const m = h.store('c1', f.text, { senderId: 'u1', clientMsgId: f.clientMsgId });
          byId.set(f.clientMsgId, m);
          conn.close(1001, 'gone');
          return true;
        }
        if (f.type === 'hello' && conn.index === 1) {
          // The history was trimmed meanwhile: the resume gets a reset, not a replay.
          welcome(conn, h);
          const head = h.conversations.c1!.messages.at(-1)!.seq;
          conn.send({
            type: 'reset',
            conversationId: 'c1',
            epoch: 'e1',
            seq: head,
            reason: 'trimmed',
          });
          return true;
        }
        if (f.type === 'history' && heldAck !== undefined) {
          const ack = heldAck;
          heldAck = undefined;
          setTimeout(ack, 0);
        }
        return false;
      },
    });
    hub.store('c1', 'one');
    hub.store('c1', 'two');
    const c = client();
    const conv = c.conversation('c1');
    void conv.open();
    await opened(c);
    await until(() => expect(conv.messages).toHaveLength(2));
    const reset = new Promise((r) => conv.on('reset', r));
    const p = conv.send('mine');
    await reset;
    if (pageFirst) {
      // The page (which holds the message) lands before the duplicate ack.
      await conv.loadOlder(10);
      expect(conv.messages.filter((m) => m.text === 'mine')).toHaveLength(1);
    }
    const stored = await p;
    expect(stored).toMatchObject({ seq: 3, status: 'sent' });
    if (!pageFirst) {
      expect(conv.messages).toEqual([]);
      await conv.loadOlder(10);
    }
    expect(view(conv.messages)).toEqual([
      [1, 'sent'],
      [2, 'sent'],
      [3, 'sent'],
    ]);
  });
});

describe('a bounded window (defect 11)', () => {
  it('keeps the newest maxMessages, pages older ones back with loadOlder', async () => {
    const hub = mockHub();
    const c = client({ maxMessages: 5 });
    await opened(c);
    const conv = c.conversation('c1');
    for (let i = 1; i <= 12; i++)
      hub.conns[0]!.send({ type: 'message', message: hub.store('c1', `m${i}`) });
    await until(() => expect(conv.seq).toBe(12));
    expect(conv.messages.map((m) => m.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(conv.hasMore).toBe(true);
    expect((await conv.loadOlder(3)).map((m) => m.seq)).toEqual([5, 6, 7]);
    expect(conv.messages.map((m) => m.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    // The next live message trims the window back to maxMessages.
    hub.conns[0]!.send({ type: 'message', message: hub.store('c1', 'm13') });
    await until(() => expect(conv.messages.map((m) => m.seq)).toEqual([9, 10, 11, 12, 13]));
  });
});

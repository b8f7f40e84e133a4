/**
 * Issue 16 against the REAL hub: a fresh device gets no replay — its inbox (last message, unread
 * count, metadata) is complete at `synced`, and opening a conversation fetches one page; unread
 * counts follow the hub on a second device and after a read on another device; metadata changes
 * arrive live; an edit, a delete and a reaction reach every device, also one that was offline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type InboxEntry, type ParleyClient } from '../../src/index.js';
import { nextEvent, until } from '../helpers/mock-hub.js';
import { startHub, type TestHub } from './hub.js';

let hub: TestHub | undefined;
const clients: ParleyClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

function connect(h: TestHub, token: string): ParleyClient {
  const c = createClient({
    url: h.url,
    token,
    WebSocket: h.WebSocket,
    reconnect: { minDelayMs: 5 },
  });
  clients.push(c);
  return c;
}

const synced = (c: ParleyClient) =>
  c.synced ? Promise.resolve() : nextEvent<void>((l) => c.on('synced', l));

const titles: Record<string, string> = { room: 'The room', side: 'Side' };

async function world() {
  hub = await startHub({
    conversationsOf: async () => ['room', 'side'],
    conversationMeta: async (ids) =>
      Object.fromEntries(ids.map((id) => [id, { title: titles[id]! }])),
  });
  const bob = connect(hub, 'bob');
  await synced(bob);
  for (let i = 0; i < 30; i++) await bob.conversation('room').send(`r${i}`);
  await bob.conversation('side').send('s0');
  return { h: hub, bob };
}

describe('issue 16 against the real hub', () => {
  it('a fresh device: the inbox is complete at synced with no history; open() fetches one page', async () => {
    const { h } = await world();
    const alice = connect(h, 'alice');
    await synced(alice);
    expect(alice.conversation('room').messages).toEqual([]);
    expect(alice.conversation('room').seq).toBe(30);
    // Newest activity first; both were sent within a millisecond or two, so compare by id.
    const rows = alice.inbox().sort((x, y) => (x.conversationId < y.conversationId ? 1 : -1));
    expect(rows).toMatchObject([
      {
        conversationId: 'side',
        unreadCount: 1,
        lastMessage: { text: 's0' },
        meta: { title: 'Side' },
      },
      {
        conversationId: 'room',
        unreadCount: 30,
        lastMessage: { text: 'r29' },
        meta: { title: 'The room' },
      },
    ]);
    const page = await alice.conversation('room').open(10);
    expect(page.map((m) => m.text)).toEqual([
      'r20',
      'r21',
      'r22',
      'r23',
      'r24',
      'r25',
      'r26',
      'r27',
      'r28',
      'r29',
    ]);
  });

  it('unread: own messages never count; a read on one device reaches the other with the count', async () => {
    const { h, bob } = await world();
    const a1 = connect(h, 'alice');
    const a2 = connect(h, 'alice');
    await Promise.all([synced(a1), synced(a2)]);
    expect(a2.conversation('room').unreadCount).toBe(30);
    a1.conversation('room').markRead(25);
    await until(() => expect(a2.conversation('room').unreadCount).toBe(5));
    await a1.conversation('room').send('mine');
    await until(() => expect(a2.conversation('room').unreadCount).toBe(0));
    await bob.conversation('room').send('one more');
    await until(() => expect(a2.conversation('room').unreadCount).toBe(1));
    // A third device of alice's starts with the hub's count.
    const a3 = connect(h, 'alice');
    await synced(a3);
    expect(a3.conversation('room').unreadCount).toBe(1);
  });

  it('metadata changes arrive live', async () => {
    const { h } = await world();
    const alice = connect(h, 'alice');
    await synced(alice);
    const changed = nextEvent<readonly InboxEntry[]>(
      (l) => alice.on('inbox', l),
      (rows) => rows.some((r) => r.meta?.title === 'Renamed'),
    );
    titles.side = 'Renamed';
    await h.hub.updateConversation('side', { title: 'Renamed' });
    await changed;
    expect(alice.conversation('side').meta).toEqual({ title: 'Renamed' });
    titles.side = 'Side';
  });

  it('edit, delete and react reach every device, also one that was offline meanwhile', async () => {
    const { h, bob } = await world();
    const alice = connect(h, 'alice');
    await synced(alice);
    const room = alice.conversation('room');
    await room.open();
    const bobRoom = bob.conversation('room');
    await bobRoom.open();
    alice.close();
    await bobRoom.edit(30, 'r29 (edited)');
    await bobRoom.delete(29);
    await bobRoom.react(28, '👍');
    // A new device of alice's pages in the final state, never the stale one.
    const again = connect(h, 'alice');
    await synced(again);
    await again.conversation('room').open();
    const held = again.conversation('room').messages;
    expect(held.at(-1)).toMatchObject({
      seq: 30,
      text: 'r29 (edited)',
      editedAt: expect.any(Number),
    });
    expect(held.at(-2)).toMatchObject({ seq: 29, text: '', deleted: true });
    expect(held.at(-3)).toMatchObject({ seq: 28, reactions: { '👍': ['bob'] } });
    expect(held).toHaveLength(30);
    // Live: alice reacts, bob sees it in place; alice may not edit bob's message.
    await again.conversation('room').react(28, '🎉');
    await until(() =>
      expect(bobRoom.messages.find((m) => m.seq === 28)).toMatchObject({
        reactions: { '👍': ['bob'], '🎉': ['alice'] },
      }),
    );
    await expect(again.conversation('room').edit(28, 'mine now')).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect(again.conversation('room').messages.find((m) => m.seq === 28)?.text).toBe('r27');
  });
});

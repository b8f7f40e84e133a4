/**
 * Issue 16, cold start: a conversation without a cursor is not replayed — its inbox row comes
 * from `welcome` + `summary`, the session start ends at `synced`, and its messages load when it
 * is opened (one `history` page), or eagerly for the `prefetch` newest conversations.
 */
import { CloseCode } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { ParleyClient } from '../src/index.js';
import { mockHub, nextEvent, opened, until, useMockedClients } from './helpers/mock-hub.js';

const client = useMockedClients({ random: () => 0 });

const synced = (c: ParleyClient) =>
  c.synced ? Promise.resolve() : nextEvent<void>((l) => c.on('synced', l));

function twoConversations() {
  const hub = mockHub({
    conversations: {
      c1: { epoch: 'e1', messages: [], meta: { title: 'Team', members: ['u1', 'u2'] } },
      c2: { epoch: 'e2', messages: [] },
    },
  });
  hub.store('c1', 'a');
  hub.store('c1', 'mine', { senderId: 'u1' });
  hub.store('c1', 'b');
  hub.store('c1', 'c', { createdAt: 1_800_000_000_000 });
  hub.store('c2', 'x');
  return hub;
}

describe('cold start (issue 16)', () => {
  it('builds every inbox row from welcome + summary, holds no messages, and is synced', async () => {
    const hub = twoConversations();
    const c = client();
    expect(c.synced).toBe(false);
    const done = synced(c);
    await opened(c);
    await done;
    expect(c.synced).toBe(true);
    const c1 = c.conversation('c1');
    expect(c1.messages).toEqual([]);
    expect(c1.seq).toBe(4);
    expect(c1.epoch).toBe('e1');
    expect(c1.meta).toEqual({ title: 'Team', members: ['u1', 'u2'] });
    expect(c.inbox()).toMatchObject([
      {
        conversationId: 'c1',
        unreadCount: 3,
        lastMessage: { seq: 4, text: 'c' },
        meta: { title: 'Team' },
      },
      { conversationId: 'c2', unreadCount: 1, lastMessage: { seq: 1, text: 'x' }, meta: undefined },
    ]);
    // Nothing was asked for: no gap fill, no page.
    expect(hub.frames('sync')).toEqual([]);
    expect(hub.frames('history')).toEqual([]);
  });

  it('open() fetches the newest page once; a live message then appends after it', async () => {
    const hub = twoConversations();
    const c = client();
    await opened(c);
    await synced(c);
    const c1 = c.conversation('c1');
    const page = await c1.open(2);
    expect(page.map((m) => m.seq)).toEqual([3, 4]);
    expect(hub.frames('history')).toHaveLength(1);
    expect(c1.hasMore).toBe(true);
    expect(await c1.open(2)).toEqual([]);
    expect(hub.frames('history')).toHaveLength(1);
    hub.conns[0]!.send({ type: 'message', message: hub.store('c1', 'd') });
    await until(() => expect(c1.messages.map((m) => m.text)).toEqual(['b', 'c', 'd']));
    expect(c1.unreadCount).toBe(4);
  });

  it('open() before the session start completes loads the page at synced', async () => {
    twoConversations();
    const c = client();
    const loaded = nextEvent<void>(
      (l) => c.conversation('c2').on('update', l),
      () => c.conversation('c2').messages.length > 0,
    );
    expect(await c.conversation('c2').open()).toEqual([]);
    await loaded;
    expect(c.conversation('c2').messages.map((m) => m.text)).toEqual(['x']);
  });

  it('prefetch loads the newest conversations (by last activity) at synced, and no others', async () => {
    const hub = twoConversations();
    const c = client({ prefetch: 1 });
    await opened(c);
    await synced(c);
    await until(() => expect(c.conversation('c1').messages).toHaveLength(4));
    expect(hub.frames('history')).toMatchObject([{ conversationId: 'c1' }]);
    expect(c.conversation('c2').messages).toEqual([]);
  });

  it('a resume with a cursor is unchanged: the missed messages are replayed', async () => {
    const hub = twoConversations();
    const c = client();
    const c2 = c.conversation('c2');
    void c2.open();
    await opened(c);
    await until(() => expect(c2.messages).toHaveLength(1));
    hub.conns[0]!.close(CloseCode.GoingAway);
    hub.store('c2', 'missed');
    const second = await hub.waitForConn(1);
    await until(() => expect(c2.messages.map((m) => m.text)).toEqual(['x', 'missed']));
    expect(second.frames[0]).toMatchObject({ cursors: { c2: { seq: 1, epoch: 'e2' } } });
    // Only the cursor's conversation resumed; the other one is still at its head, unloaded.
    expect(c.conversation('c1').messages).toEqual([]);
    expect(hub.frames('history')).toHaveLength(1);
  });

  it('an opened conversation pages its newest messages back in after a reset', async () => {
    const hub = twoConversations();
    const c = client();
    const c2 = c.conversation('c2');
    void c2.open();
    await opened(c);
    await until(() => expect(c2.messages).toHaveLength(1));
    hub.conns[0]!.send({
      type: 'reset',
      conversationId: 'c2',
      epoch: 'e2',
      seq: 1,
      reason: 'trimmed',
      readSeq: 1,
      unread: 0,
    });
    await until(() => expect(hub.frames('history')).toHaveLength(2));
    await until(() => expect(c2.messages.map((m) => m.text)).toEqual(['x']));
    expect(c2.unreadCount).toBe(0);
    expect(c2.readSeq).toBe(1);
  });
});

/**
 * Issue 16, unread counts follow the hub (PROTOCOL.md, "Unread counts"): the authoritative value
 * of `welcome`/`reset`/`joined`/own `read` at its seq, plus countable messages from others after
 * it; own messages are never unread. And metadata from `summary` and `conversation` frames.
 */
import type { Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { InboxEntry } from '../src/index.js';
import { mockHub, nextEvent, opened, until, useMockedClients } from './helpers/mock-hub.js';

const client = useMockedClients({ random: () => 0 });

async function setup() {
  const hub = mockHub({ conversations: { c1: { epoch: 'e1', messages: [], readSeq: 1 } } });
  hub.store('c1', 'a');
  hub.store('c1', 'b');
  hub.store('c1', 'c');
  const c = client();
  await opened(c);
  const conv = c.conversation('c1');
  const live = (text: string, extra: Partial<Message> = {}) => {
    const message = hub.store('c1', text, extra);
    hub.conns[0]!.send({ type: 'message', message });
    return message;
  };
  return { hub, c, conv, live };
}

describe('unread counts (issue 16)', () => {
  it('starts from welcome.unread, adds countable messages from others, never own ones', async () => {
    const { conv, live } = await setup();
    expect(conv.unreadCount).toBe(2);
    live('d');
    live('sys', { kind: 'system', senderId: 'system' });
    await until(() => expect(conv.unreadCount).toBe(4));
    // An operation is not countable.
    live('', { kind: 'reaction', target: 4, reaction: { emoji: '👍', on: true } });
    await until(() => expect(conv.seq).toBe(6));
    expect(conv.unreadCount).toBe(4);
    // Sending marks read: everything up to the own message is read.
    live('mine', { senderId: 'u1' });
    await until(() => expect(conv.seq).toBe(7));
    expect(conv.unreadCount).toBe(0);
    expect(conv.readSeq).toBe(7);
    live('e');
    await until(() => expect(conv.unreadCount).toBe(1));
    // The sender of a message has read up to it.
    expect(conv.reads.get('u2')).toBe(8);
  });

  it('a read from the user’s other device sets the count at its seq', async () => {
    const { hub, conv, live } = await setup();
    hub.conns[0]!.send({
      type: 'read',
      conversationId: 'c1',
      userId: 'u1',
      seq: 2,
      unread: { count: 1, at: 3 },
    });
    await until(() => expect(conv.readSeq).toBe(2));
    expect(conv.unreadCount).toBe(1);
    live('d');
    await until(() => expect(conv.unreadCount).toBe(2));
    // A stale read (at or below the read position) changes nothing.
    hub.conns[0]!.send({
      type: 'read',
      conversationId: 'c1',
      userId: 'u1',
      seq: 1,
      unread: { count: 9, at: 1 },
    });
    hub.conns[0]!.send({ type: 'pong' });
    await until(() => expect(hub.conns[0]!.frames.length).toBeGreaterThan(0));
    expect(conv.unreadCount).toBe(2);
  });

  it('markRead counts down locally, exactly when the messages are held', async () => {
    const { conv } = await setup();
    await conv.open();
    await until(() => expect(conv.messages).toHaveLength(3));
    conv.markRead(2);
    expect(conv.unreadCount).toBe(1);
    conv.markRead();
    expect(conv.unreadCount).toBe(0);
  });

  it('a reset and a joined carry the count at their seq', async () => {
    const { hub, c, conv } = await setup();
    hub.conns[0]!.send({
      type: 'reset',
      conversationId: 'c1',
      epoch: 'e9',
      seq: 10,
      reason: 'epoch_changed',
      readSeq: 4,
      unread: 6,
    });
    await until(() => expect(conv.epoch).toBe('e9'));
    expect(conv.unreadCount).toBe(6);
    expect(conv.readSeq).toBe(4);
    hub.conns[0]!.send({
      type: 'joined',
      conversationId: 'c2',
      seq: 7,
      epoch: 'x',
      readSeq: 5,
      unread: 2,
    });
    await until(() => expect(c.conversation('c2').joined).toBe(true));
    expect(c.conversation('c2').unreadCount).toBe(2);
    expect(c.conversation('c2').readSeq).toBe(5);
  });
});

describe('conversation metadata (issue 16)', () => {
  it('comes with the summary and changes with a conversation frame, with a typed event', async () => {
    const hub = mockHub({
      conversations: { c1: { epoch: 'e1', messages: [], meta: { title: 'Old' } } },
    });
    const c = client();
    await opened(c);
    const conv = c.conversation('c1');
    await until(() => expect(conv.meta).toEqual({ title: 'Old' }));
    const meta = nextEvent((l) => conv.on('meta', l));
    const rows = nextEvent<readonly InboxEntry[]>((l) => c.on('inbox', l));
    hub.conns[0]!.send({
      type: 'conversation',
      conversationId: 'c1',
      meta: { title: 'New', avatarUrl: 'https://x/a.png', members: ['u1', 'u2'] },
    });
    expect(await meta).toEqual({
      title: 'New',
      avatarUrl: 'https://x/a.png',
      members: ['u1', 'u2'],
    });
    expect((await rows)[0]!.meta).toMatchObject({ title: 'New' });
  });
});

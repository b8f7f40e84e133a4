/**
 * Issue 16, the message lifecycle on the client: edit, delete and react are optimistic like
 * sends, go through the same outbox (same clientMsgId on retry, in order per conversation), are
 * rolled back on a terminal error, and are applied in place by the version rule; replies carry
 * `replyTo`. Cuts and resets interleaved with pending operations end in the hub's state.
 */
import { CloseCode, type EditFrame } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import {
  type ClientMessage,
  localStorageOutbox,
  memoryStorage,
  type ParleyClient,
  ServerError,
} from '../src/index.js';
import { mockHub, nextEvent, opened, until, useMockedClients } from './helpers/mock-hub.js';

const client = useMockedClients({ random: () => 0 });

const synced = (c: ParleyClient) =>
  c.synced ? Promise.resolve() : nextEvent<void>((l) => c.on('synced', l));

const shown = (ms: readonly ClientMessage[]) =>
  ms.map((m) => ({
    seq: m.seq,
    text: m.text,
    ...(m.status === 'sent' && m.deleted ? { deleted: true } : {}),
    ...(m.status === 'sent' && m.reactions ? { reactions: m.reactions } : {}),
  }));

/** A client holding c1 = [1 'hello' (u1), 2 'hi' (u2)], opened. */
async function setup(hubOptions: Parameters<typeof mockHub>[0] = {}) {
  const hub = mockHub(hubOptions);
  hub.store('c1', 'hello', { senderId: 'u1' });
  hub.store('c1', 'hi');
  const c = client();
  const conv = c.conversation('c1');
  void conv.open();
  await opened(c);
  await until(() => expect(conv.messages).toHaveLength(2));
  return { hub, c, conv };
}

describe('edit, delete, react (issue 16)', () => {
  it('an edit shows at once, is acked as an operation with its own seq, and applies in place', async () => {
    const held: EditFrame[] = [];
    const { hub, conv } = await setup({
      onFrame: (f) => f.type === 'edit' && held.push(f) > 0,
    });
    const p = conv.edit(1, 'hello!', { data: { v: 2 } });
    expect(shown(conv.messages)).toEqual([
      { seq: 1, text: 'hello!' },
      { seq: 2, text: 'hi' },
    ]);
    await until(() => expect(held).toHaveLength(1));
    expect(held[0]).toMatchObject({ type: 'edit', target: 1, text: 'hello!', data: { v: 2 } });
    const f = held[0]!;
    const op = hub.store('c1', 'hello!', {
      kind: 'edit',
      target: 1,
      senderId: 'u1',
      clientMsgId: f.clientMsgId,
      data: { v: 2 },
    });
    hub.conns[0]!.send({
      type: 'ack',
      ref: f.ref,
      clientMsgId: f.clientMsgId,
      message: op,
      duplicate: false,
    });
    const stored = await p;
    expect(stored).toMatchObject({ kind: 'edit', seq: 3, target: 1, status: 'sent' });
    // The operation holds seq 3 but is not shown; the target carries its new state.
    expect(conv.seq).toBe(3);
    expect(conv.messages).toHaveLength(2);
    expect(conv.messages[0]).toMatchObject({
      seq: 1,
      text: 'hello!',
      data: { v: 2 },
      editedAt: op.createdAt,
      version: 3,
    });
  });

  it('delete leaves a tombstone; react toggles this user in reactions', async () => {
    const { conv } = await setup();
    const del = conv.delete(1);
    expect(shown(conv.messages)[0]).toEqual({ seq: 1, text: '', deleted: true });
    await del;
    expect(conv.messages[0]).toMatchObject({ seq: 1, text: '', deleted: true, version: 3 });
    expect(conv.messages[0]).not.toHaveProperty('data');
    const add = conv.react(2, '👍');
    expect(shown(conv.messages)[1]).toEqual({ seq: 2, text: 'hi', reactions: { '👍': ['u1'] } });
    await add;
    expect(conv.messages[1]).toMatchObject({ reactions: { '👍': ['u1'] }, version: 4 });
    // Without `on`, react toggles: this time it removes.
    const remove = conv.react(2, '👍');
    expect(shown(conv.messages)[1]).toEqual({ seq: 2, text: 'hi' });
    await remove;
    expect(conv.messages[1]).toMatchObject({ version: 5 });
    expect(conv.messages[1]).not.toHaveProperty('reactions');
  });

  it.each([['forbidden'], ['rejected'], ['not_found']] as const)(
    'a %s refusal rejects with a typed error and rolls the change back',
    async (code) => {
      const { hub, conv } = await setup({
        onFrame: (f, conn) => {
          if (f.type !== 'edit') return false;
          conn.send({
            type: 'error',
            ref: f.ref,
            code,
            message: 'no',
            conversationId: 'c1',
            clientMsgId: f.clientMsgId,
          });
          return true;
        },
      });
      const p = conv.edit(2, 'not yours');
      expect(conv.messages[1]!.text).toBe('not yours');
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServerError);
      expect((err as ServerError).code).toBe(code);
      expect(shown(conv.messages)).toEqual([
        { seq: 1, text: 'hello' },
        { seq: 2, text: 'hi' },
      ]);
      expect(hub.frames('edit')).toHaveLength(1);
    },
  );

  it('applies a stored operation only when its seq is above the target’s version', async () => {
    const hub = mockHub();
    hub.store('c1', 'v1');
    const c = client();
    const conv = c.conversation('c1');
    await opened(c);
    await synced(c);
    // Two edits the client has not seen yet (they will come through the stream later).
    const e2 = hub.store('c1', 'v2', { kind: 'edit', target: 1 });
    const e3 = hub.store('c1', 'v3', { kind: 'edit', target: 1 });
    hub.conversations.c1!.messages[0] = {
      ...hub.conversations.c1!.messages[0]!,
      text: 'v3',
      editedAt: e3.createdAt,
      version: 3,
    };
    await conv.open();
    expect(conv.messages).toMatchObject([{ seq: 1, text: 'v3', version: 3 }]);
    for (const message of [e2, e3]) hub.conns[0]!.send({ type: 'message', message });
    await until(() => expect(conv.seq).toBe(3));
    expect(conv.messages).toMatchObject([{ seq: 1, text: 'v3', version: 3 }]);
    const e4 = hub.store('c1', 'v4', { kind: 'edit', target: 1 });
    hub.conns[0]!.send({ type: 'message', message: e4 });
    await until(() => expect(conv.messages).toMatchObject([{ text: 'v4', version: 4 }]));
    // The inbox's last message follows too.
    expect(c.inbox()[0]!.lastMessage).toMatchObject({ seq: 1, text: 'v4' });
  });

  it('operations and sends share the outbox: one in flight per conversation, in order', async () => {
    const held: { type: string; ref?: string }[] = [];
    const { hub, conv } = await setup({
      onFrame: (f) =>
        f.type === 'send' || f.type === 'edit' || f.type === 'react' ? held.push(f) > 0 : false,
    });
    void conv.send('a').catch(() => {});
    void conv.edit(1, 'b').catch(() => {});
    void conv.react(2, '🎉').catch(() => {});
    await until(() => expect(held).toHaveLength(1));
    expect(held[0]!.type).toBe('send');
    expect(hub.frames('edit')).toHaveLength(0);
  });

  it('a pending edit survives a cut: resent with the same clientMsgId, shown meanwhile', async () => {
    let swallow = true;
    const { hub, conv } = await setup({ onFrame: (f) => f.type === 'edit' && swallow });
    const p = conv.edit(1, 'edited offline');
    await until(() => expect(hub.frames('edit')).toHaveLength(1));
    swallow = false;
    hub.conns[0]!.close(CloseCode.GoingAway);
    expect(conv.messages[0]!.text).toBe('edited offline');
    await p;
    const [a, b] = hub.frames('edit');
    expect(b).toEqual(a);
    expect(conv.messages[0]).toMatchObject({ text: 'edited offline', version: 3 });
  });

  it('a reset while an operation is pending: the page shows the hub’s state with the operation over it', async () => {
    const held: { type: string; ref?: string; clientMsgId?: string }[] = [];
    const { hub, conv } = await setup({
      onFrame: (f) => (f.type === 'react' ? held.push(f) > 0 : false),
    });
    const p = conv.react(2, '❤️');
    await until(() => expect(held).toHaveLength(1));
    hub.conns[0]!.send({
      type: 'reset',
      conversationId: 'c1',
      epoch: 'e1',
      seq: 2,
      reason: 'trimmed',
    });
    // The opened conversation pages its newest messages back in; the pending reaction shows on them.
    await until(() => expect(hub.frames('history')).toHaveLength(2));
    await until(() => expect(conv.messages).toHaveLength(2));
    expect(conv.messages[1]).toMatchObject({ reactions: { '❤️': ['u1'] } });
    const f = held[0] as { ref: string; clientMsgId: string };
    const op = hub.store('c1', '', {
      kind: 'reaction',
      target: 2,
      senderId: 'u1',
      clientMsgId: f.clientMsgId,
      reaction: { emoji: '❤️', on: true },
    });
    hub.conns[0]!.send({
      type: 'ack',
      ref: f.ref,
      clientMsgId: f.clientMsgId,
      message: op,
      duplicate: false,
    });
    await p;
    expect(conv.messages[1]).toMatchObject({ reactions: { '❤️': ['u1'] }, version: 3 });
  });

  it('an operation whose ack was lost, then a reset: the retry is acked as a duplicate, the page has its effect', async () => {
    let cut = true;
    const { hub, conv } = await setup({
      onFrame: (f, conn, h) => {
        if (f.type === 'delete' && cut) {
          cut = false;
          // Stored (the target is a tombstone now), then the link dies before the ack.
          const m = h.store('c1', '', {
            kind: 'delete',
            target: 1,
            senderId: 'u1',
            clientMsgId: f.clientMsgId,
          });
          const msgs = h.conversations.c1!.messages;
          msgs[0] = { ...msgs[0]!, text: '', deleted: true, version: m.seq };
          conn.close(1001, 'gone');
          return true;
        }
        if (f.type === 'delete') {
          const m = h.conversations.c1!.messages.find((x) => x.clientMsgId === f.clientMsgId)!;
          conn.send({
            type: 'ack',
            ref: f.ref,
            clientMsgId: f.clientMsgId,
            message: m,
            duplicate: true,
          });
          return true;
        }
        if (f.type === 'hello' && conn.index === 1) {
          conn.send({
            type: 'welcome',
            protocol: 1,
            sessionId: 's1',
            user: { id: 'u1' },
            conversations: [{ id: 'c1', seq: 3, epoch: 'e1', readSeq: 3, unread: 0 }],
            presence: [],
            heartbeat: { intervalMs: 30_000, timeoutMs: 10_000 },
            limits: { maxFrameBytes: 65_536, maxTextLength: 10_000 },
          });
          conn.send({
            type: 'reset',
            conversationId: 'c1',
            epoch: 'e1',
            seq: 3,
            reason: 'trimmed',
          });
          conn.send({ type: 'synced' });
          return true;
        }
        return false;
      },
    });
    const stored = await conv.delete(1);
    expect(stored).toMatchObject({ kind: 'delete', seq: 3 });
    await until(() => expect(conv.messages).toHaveLength(2));
    expect(shown(conv.messages)).toEqual([
      { seq: 1, text: '', deleted: true },
      { seq: 2, text: 'hi' },
    ]);
    expect(hub.frames('delete')).toHaveLength(2);
  });

  it('a persisted operation is shown and sent by the next client over the same storage', async () => {
    const storage = memoryStorage();
    const hub = mockHub({ onFrame: (f) => f.type === 'edit' });
    hub.store('c1', 'mine', { senderId: 'u1' });
    const first = client({ outbox: { storage: localStorageOutbox('k', storage) } });
    void first.conversation('c1').open();
    await opened(first);
    await until(() => expect(first.conversation('c1').messages).toHaveLength(1));
    void first
      .conversation('c1')
      .edit(1, 'fixed typo')
      .catch(() => {});
    await until(() => expect(hub.frames('edit')).toHaveLength(1));
    first.close();
    const second = client({ outbox: { storage: localStorageOutbox('k', storage) } });
    const conv = second.conversation('c1');
    void conv.open();
    await opened(second);
    await until(() => expect(hub.frames('edit')).toHaveLength(2));
    expect(hub.frames('edit')[1]).toEqual(hub.frames('edit')[0]);
    await until(() => expect(conv.messages[0]?.text).toBe('fixed typo'));
  });
});

describe('replies (issue 16)', () => {
  it('send({ replyTo }) carries it on the frame, the optimistic entry and the stored message', async () => {
    const { hub, conv } = await setup();
    const p = conv.send('answer', { replyTo: 2 });
    expect(conv.messages[2]).toMatchObject({ status: 'pending', replyTo: 2 });
    const stored = await p;
    expect(stored).toMatchObject({ seq: 3, replyTo: 2 });
    expect(hub.frames('send')[0]).toMatchObject({ replyTo: 2 });
    expect(conv.get(stored.replyTo!)).toMatchObject({ seq: 2, text: 'hi' });
  });
});

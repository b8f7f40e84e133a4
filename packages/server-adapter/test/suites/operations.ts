/**
 * The message lifecycle (issue 16): edit, delete and react — each stored as an operation with
 * its own seq, answered like a send, delivered live to every device, replayed after an offline
 * period with the target in its final state — plus the refusals (forbidden, not_found, rejected,
 * rate limits), idempotent retries, the app's hooks, and replies.
 */
import { type ClientFrame, Limits, type Message, type ServerFrame } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import {
  ForbiddenError,
  HubUsageError,
  MessageRejectedError,
  UnavailableError,
} from '../../src/errors.js';
import type { OperationRequest } from '../../src/hub/options.js';
import { is, type TestClient } from '../utils/client.js';
import { inProcessIt, type SuiteEnv, useFixture } from '../utils/fixture.js';

type Answer = Extract<ServerFrame, { type: 'ack' | 'error' }>;
type OpFrame = Extract<ClientFrame, { type: 'edit' | 'delete' | 'react' }>;

let n = 0;
/** A send or an operation without `ref` (and optionally without `clientMsgId`). */
type Request = OpFrame | Extract<ClientFrame, { type: 'send' }> extends infer F
  ? F extends { type: string }
    ? Omit<F, 'ref' | 'clientMsgId'> & { clientMsgId?: string }
    : never
  : never;

/** Sends a frame with a fresh ref (and clientMsgId unless given) and waits for its answer. */
async function request(c: TestClient, frame: Request): Promise<Answer> {
  const ref = `r${n++}`;
  c.send({ clientMsgId: `k${n++}`, ...frame, ref } as ClientFrame);
  return c.next(
    (f): f is Answer => (f.type === 'ack' || f.type === 'error') && 'ref' in f && f.ref === ref,
  );
}

const acked = (a: Answer): Message => {
  if (a.type !== 'ack') throw new Error(`expected an ack, got ${JSON.stringify(a)}`);
  return a.message;
};

/** The three operations, each with what it does to alice's message `hello` (seq 1). */
const OPS = [
  {
    name: 'edit',
    frame: { type: 'edit', conversationId: 'c1', target: 1, text: 'hello!', data: { v: 2 } },
    final: { text: 'hello!', data: { v: 2 } },
  },
  {
    name: 'delete',
    frame: { type: 'delete', conversationId: 'c1', target: 1 },
    final: { text: '', deleted: true },
  },
  {
    name: 'react',
    frame: { type: 'react', conversationId: 'c1', target: 1, emoji: '👍', on: true },
    final: { reactions: { '👍': ['alice'] } },
  },
] as const;

export function operationsSuite(env: SuiteEnv): void {
  describe('message lifecycle', () => {
    const setup = useFixture(env);
    const local = inProcessIt(env);

    for (const op of OPS) {
      it(`${op.name}: acked, live on every device of every member, final state after an offline period (replay and history)`, async () => {
        const f = await setup();
        const a1 = await f.connect('alice');
        const a2 = await f.connect('alice');
        const b1 = await f.connect('bob');
        const bobOffline = await f.connect('bob');
        const original = acked(
          await request(a1, { type: 'send', conversationId: 'c1', text: 'hello', data: { v: 1 } }),
        );
        expect(original.seq).toBe(1);
        await bobOffline.next(is('message'));
        const epoch = bobOffline.welcome.conversations.find((c) => c.id === 'c1')!.epoch;
        await bobOffline.close();

        const ack = await request(a1, { ...op.frame });
        expect(ack).toMatchObject({ type: 'ack', duplicate: false });
        const stored = acked(ack);
        expect(stored).toMatchObject({ seq: 2, target: 1, senderId: 'alice' });
        expect(stored.kind).toBe(op.name === 'react' ? 'reaction' : op.name);
        for (const c of [a2, b1]) {
          const m = await c.next(is('message', (x) => x.message.seq === 2));
          expect(m.message).toEqual(stored);
        }

        // Offline during the operation, back with its cursor: the operation is replayed.
        const back = await f.connect('bob', { cursors: { c1: { seq: 1, epoch } } });
        const replay = await back.next(is('replay'));
        expect(replay.messages).toEqual([stored]);
        // A fresh device (cursor 0) gets the target in its final state, then the operation.
        const fresh = await f.connect('bob', { cursors: { c1: { seq: 0 } } });
        const full = await fresh.next(is('replay'));
        expect(full.messages.map((m) => m.seq)).toEqual([1, 2]);
        expect(full.messages[0]).toMatchObject({ ...op.final, seq: 1, version: 2 });
        if (op.name === 'delete') {
          expect(full.messages[0]!.data).toBeUndefined();
          expect(full.messages[0]!.reactions).toBeUndefined();
        }
        // A history page shows the final state too.
        fresh.send({ type: 'history', ref: 'h', conversationId: 'c1' });
        const page = await fresh.next(is('history'));
        expect(page.messages).toEqual(full.messages);
        for (const c of [a1, a2, b1, back, fresh]) expect(c.decodeErrors).toEqual([]);
      });
    }

    it('the inbox: the summary shows the last message in its current state; operations never count as unread', async () => {
      const f = await setup();
      const alice = await f.connect('alice');
      const bob = await f.connect('bob');
      acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'hi' }));
      acked(await request(alice, { type: 'edit', conversationId: 'c1', target: 1, text: 'hi!' }));
      acked(
        await request(bob, {
          type: 'react',
          conversationId: 'c1',
          target: 1,
          emoji: '👋',
          on: true,
        }),
      );
      const fresh = await f.connect('bob');
      await fresh.next(is('synced'));
      expect(fresh.welcome.conversations.find((c) => c.id === 'c1')).toMatchObject({
        seq: 3,
        unread: 1,
      });
      const summary = fresh.frames.find(is('summary'))!;
      const row = summary.conversations.find((c) => c.id === 'c1')!;
      expect(row.lastMessage).toMatchObject({
        seq: 1,
        text: 'hi!',
        reactions: { '👋': ['bob'] },
        version: 3,
      });
      // Alice's own operations did not make anything unread for her either.
      const again = await f.connect('alice');
      expect(again.welcome.conversations.find((c) => c.id === 'c1')).toMatchObject({ unread: 0 });
    });

    it("refuses another user's message with forbidden (edit, delete); anyone may react; non-members are refused", async () => {
      const f = await setup();
      const alice = await f.connect('alice');
      const bob = await f.connect('bob');
      const carol = await f.connect('carol');
      acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'mine' }));
      for (const frame of [
        { type: 'edit', conversationId: 'c1', target: 1, text: 'hijacked' },
        { type: 'delete', conversationId: 'c1', target: 1 },
      ] as const) {
        const err = await request(bob, { ...frame, clientMsgId: `x-${frame.type}` });
        expect(err).toMatchObject({
          type: 'error',
          code: 'forbidden',
          conversationId: 'c1',
          clientMsgId: `x-${frame.type}`,
        });
      }
      expect(
        await request(carol, { type: 'delete', conversationId: 'c1', target: 1 }),
      ).toMatchObject({ type: 'error', code: 'forbidden' });
      const reaction = acked(
        await request(bob, {
          type: 'react',
          conversationId: 'c1',
          target: 1,
          emoji: '❤️',
          on: true,
        }),
      );
      // Nothing was stored for the refusals: the reaction took seq 2.
      expect(reaction.seq).toBe(2);
      const live = await alice.next(is('message'));
      expect(live.message).toEqual(reaction);
    });

    it('is idempotent on retry: the same ack with duplicate: true, delivered once', async () => {
      const f = await setup();
      const alice = await f.connect('alice');
      const bob = await f.connect('bob');
      acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'v1' }));
      const frame = {
        type: 'edit',
        conversationId: 'c1',
        clientMsgId: 'edit-1',
        target: 1,
        text: 'v2',
      } as const;
      const first = await request(alice, frame);
      const again = await request(alice, frame);
      expect(again).toMatchObject({ type: 'ack', duplicate: true, message: acked(first) });
      // Another device of the same user retrying it is recognised too.
      const other = await f.connect('alice');
      expect(await request(other, frame)).toMatchObject({ duplicate: true, message: acked(first) });
      const marker = acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'm' }));
      expect(marker.seq).toBe(3);
      await bob.next(is('message', (m) => m.message.seq === 3));
      const seqs = bob.frames.flatMap((x) => (x.type === 'message' ? [x.message.seq] : []));
      expect(seqs).toEqual([1, 2, 3]);
    });

    it('answers not_found for a missing target, an operation, a tombstone, and a reply to nothing', async () => {
      const f = await setup();
      const alice = await f.connect('alice');
      const bob = await f.connect('bob');
      acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'a' }));
      const edit = acked(
        await request(alice, { type: 'edit', conversationId: 'c1', target: 1, text: 'b' }),
      );
      for (const target of [99, edit.seq]) {
        expect(
          await request(alice, { type: 'edit', conversationId: 'c1', target, text: 'x' }),
        ).toMatchObject({ type: 'error', code: 'not_found', conversationId: 'c1' });
      }
      acked(await request(alice, { type: 'delete', conversationId: 'c1', target: 1 }));
      for (const frame of [
        { type: 'edit', conversationId: 'c1', target: 1, text: 'undead' },
        { type: 'delete', conversationId: 'c1', target: 1 },
        { type: 'react', conversationId: 'c1', target: 1, emoji: '👍', on: true },
      ] as const) {
        expect(await request(bob, frame)).toMatchObject({ type: 'error', code: 'not_found' });
      }
      // Replies: to a countable message (a tombstone still is one), never to nothing or an operation.
      for (const replyTo of [99, edit.seq]) {
        expect(
          await request(bob, { type: 'send', conversationId: 'c1', text: 're', replyTo }),
        ).toMatchObject({ type: 'error', code: 'not_found', conversationId: 'c1' });
      }
      const reply = acked(
        await request(bob, { type: 'send', conversationId: 'c1', text: 're', replyTo: 1 }),
      );
      expect(reply).toMatchObject({ seq: 4, replyTo: 1, kind: 'user' });
      expect((await alice.next(is('message', (m) => m.message.seq === 4))).message).toEqual(reply);
      // A conversation the sender is not in: forbidden before anything else.
      expect(
        await request(bob, { type: 'send', conversationId: 'c2', text: 're', replyTo: 1 }),
      ).toMatchObject({ type: 'error', code: 'forbidden' });
    });

    it('toggles reactions per user and bounds distinct reactions per message', async () => {
      const f = await setup({ limits: { rate: { burst: 200, perSecond: 200 } } });
      const alice = await f.connect('alice');
      const bob = await f.connect('bob');
      acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'vote' }));
      const react = (c: TestClient, emoji: string, on = true) =>
        request(c, { type: 'react', conversationId: 'c1', target: 1, emoji, on });
      acked(await react(alice, '👍'));
      acked(await react(bob, '👍'));
      acked(await react(alice, '👍', false));
      for (let i = 1; i < Limits.MAX_REACTION_KINDS; i++) acked(await react(bob, `:e${i}:`));
      const over = await react(alice, ':one-too-many:');
      expect(over).toMatchObject({ type: 'error', code: 'rejected', conversationId: 'c1' });
      // Joining an existing reaction is fine at the limit.
      acked(await react(alice, ':e1:'));
      const long = await react(alice, 'x'.repeat(Limits.MAX_EMOJI_LENGTH + 1));
      expect(long).toMatchObject({ type: 'error', code: 'invalid_frame' });
      const fresh = await f.connect('bob');
      fresh.send({ type: 'history', ref: 'h', conversationId: 'c1', limit: 1, before: 2 });
      const target = (await fresh.next(is('history'))).messages[0]!;
      expect(target.reactions!['👍']).toEqual(['bob']);
      expect(target.reactions![':e1:']).toEqual(['bob', 'alice']);
      expect(Object.keys(target.reactions!)).toHaveLength(Limits.MAX_REACTION_KINDS);
    });

    it('applies the rate limit like sends: rate_limited with the clientMsgId', async () => {
      const f = await setup({ limits: { rate: { burst: 2, perSecond: 0.01 } } });
      const alice = await f.connect('alice');
      acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'a' }));
      acked(await request(alice, { type: 'edit', conversationId: 'c1', target: 1, text: 'b' }));
      const limited = await request(alice, {
        type: 'delete',
        conversationId: 'c1',
        clientMsgId: 'd1',
        target: 1,
      });
      expect(limited).toMatchObject({
        type: 'error',
        code: 'rate_limited',
        conversationId: 'c1',
        clientMsgId: 'd1',
      });
    });

    local(
      'authorizeOperation: a moderator may delete, a verdict may refuse or reject with a reason',
      async () => {
        const seen: OperationRequest[] = [];
        const f = await setup({
          authorizeOperation: (input) => {
            seen.push(input);
            if (input.operation.senderId === 'bob' && input.operation.kind === 'delete')
              return true;
            if (input.operation.kind === 'reaction')
              return input.operation.reaction?.emoji !== '💩';
            if (input.operation.text === 'locked?')
              throw new MessageRejectedError('thread is locked');
            if (input.operation.text === 'mods?') throw new ForbiddenError('moderators only');
            return undefined;
          },
        });
        const alice = await f.connect('alice');
        const bob = await f.connect('bob');
        acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'spam' }));
        acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'ok' }));
        expect(
          await request(bob, { type: 'edit', conversationId: 'c1', target: 2, text: 'x' }),
        ).toMatchObject({ type: 'error', code: 'forbidden' });
        expect(
          await request(alice, { type: 'edit', conversationId: 'c1', target: 2, text: 'locked?' }),
        ).toMatchObject({ type: 'error', code: 'rejected', message: 'thread is locked' });
        expect(
          await request(alice, { type: 'edit', conversationId: 'c1', target: 2, text: 'mods?' }),
        ).toMatchObject({ type: 'error', code: 'forbidden', message: 'moderators only' });
        expect(
          await request(bob, {
            type: 'react',
            conversationId: 'c1',
            target: 2,
            emoji: '💩',
            on: true,
          }),
        ).toMatchObject({ type: 'error', code: 'forbidden' });
        const removed = acked(
          await request(bob, { type: 'delete', conversationId: 'c1', target: 1 }),
        );
        expect(removed).toMatchObject({ kind: 'delete', senderId: 'bob', target: 1, seq: 3 });
        const live = await alice.next(is('message', (m) => m.message.seq === 3));
        expect(live.message).toEqual(removed);
        expect(seen.map((s) => [s.operation.senderId, s.operation.kind, s.target.seq])).toEqual([
          ['bob', 'edit', 2],
          ['alice', 'edit', 2],
          ['alice', 'edit', 2],
          ['bob', 'reaction', 2],
          ['bob', 'delete', 1],
        ]);
        expect(seen[4]!.target).toMatchObject({ senderId: 'alice', text: 'spam' });
      },
    );

    local(
      'persistOperation: once per operation (also on retries), may set the id and edit, rejects with a reason, unavailable is retried',
      async () => {
        const calls: OperationRequest[] = [];
        let down = true;
        const f = await setup({
          persistOperation: (input) => {
            calls.push(input);
            if (input.operation.text === 'forbidden word') throw new MessageRejectedError('no');
            if (input.operation.kind === 'delete' && down) {
              down = false;
              throw new UnavailableError('db down', { retryAfterMs: 10 });
            }
            return { id: `db-${calls.length}`, text: `${input.operation.text} (checked)` };
          },
        });
        const alice = await f.connect('alice');
        acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'a' }));
        const edit = {
          type: 'edit',
          conversationId: 'c1',
          clientMsgId: 'e1',
          target: 1,
          text: 'b',
        };
        const first = acked(await request(alice, edit as OpFrame));
        expect(first).toMatchObject({ id: 'db-1', text: 'b (checked)' });
        expect(await request(alice, edit as OpFrame)).toMatchObject({ duplicate: true });
        expect(calls).toHaveLength(1);
        expect(calls[0]!.target).toMatchObject({ seq: 1, text: 'a' });
        expect(
          await request(alice, {
            type: 'edit',
            conversationId: 'c1',
            target: 1,
            text: 'forbidden word',
          }),
        ).toMatchObject({ type: 'error', code: 'rejected', message: 'no' });
        const del = { type: 'delete', conversationId: 'c1', clientMsgId: 'd1', target: 1 } as const;
        expect(await request(alice, del)).toMatchObject({
          type: 'error',
          code: 'unavailable',
          retryAfterMs: 10,
          clientMsgId: 'd1',
        });
        const deleted = acked(await request(alice, del));
        expect(deleted).toMatchObject({ kind: 'delete', id: 'db-4', text: '', seq: 3 });
        expect(await request(alice, del)).toMatchObject({ duplicate: true });
        expect(calls).toHaveLength(4);
        // The stored target: the edit as the hook changed it, then deleted.
        expect((await f.server.hub.publish('c1', { text: 'marker' })).seq).toBe(4);
      },
    );

    local(
      'hub.editMessage / hub.deleteMessage: server code changes a message like a moderator, idempotently',
      async () => {
        const calls: string[] = [];
        const f = await setup({
          authorizeOperation: () => {
            calls.push('authorize');
            return false;
          },
          persistOperation: () => {
            calls.push('persist');
            return undefined;
          },
        });
        const alice = await f.connect('alice');
        const bob = await f.connect('bob');
        acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'rude' }));
        const edit = await f.server.hub.editMessage('c1', 1, {
          text: '[removed by a moderator]',
          senderId: 'mod',
          clientMsgId: 'mod-1',
        });
        expect(edit).toMatchObject({
          duplicate: false,
          message: { seq: 2, kind: 'edit', senderId: 'mod', target: 1 },
        });
        expect((await alice.next(is('message'))).message).toEqual(edit.message);
        expect(
          await f.server.hub.editMessage('c1', 1, {
            text: 'other',
            senderId: 'mod',
            clientMsgId: 'mod-1',
          }),
        ).toEqual({ ...edit, duplicate: true });
        const del = await f.server.hub.deleteMessage('c1', 1);
        expect(del.message).toMatchObject({ seq: 3, kind: 'delete', senderId: 'system' });
        await bob.next(is('message', (m) => m.message.seq === 3));
        await expect(f.server.hub.deleteMessage('c1', 1)).rejects.toBeInstanceOf(HubUsageError);
        await expect(f.server.hub.editMessage('c1', 99, { text: 'x' })).rejects.toBeInstanceOf(
          HubUsageError,
        );
        await expect(
          f.server.hub.editMessage('c1', 2, { text: 'x'.repeat(Limits.MAX_TEXT_LENGTH + 1) }),
        ).rejects.toBeInstanceOf(HubUsageError);
        expect(calls).toEqual([]);
        const fresh = await f.connect('bob');
        fresh.send({ type: 'history', ref: 'h', conversationId: 'c1' });
        const page = (await fresh.next(is('history'))).messages;
        expect(page[0]).toMatchObject({ seq: 1, text: '', deleted: true, version: 3 });
        expect(page.map((m) => m.seq)).toEqual([1, 2, 3]);
      },
    );

    local(
      'a stored message has a size bound: an edit that fits alone but not with the reactions is refused',
      async () => {
        const f = await setup();
        const alice = await f.connect('alice');
        const bob = await f.connect('bob');
        acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'big' }));
        for (let i = 0; i < Limits.MAX_REACTION_KINDS; i++) {
          const emoji = `${'😀'.repeat(30)}${i}`;
          acked(
            await request(bob, { type: 'react', conversationId: 'c1', target: 1, emoji, on: true }),
          );
        }
        const huge = {
          text: '😀'.repeat(Limits.MAX_TEXT_LENGTH),
          data: { pad: 'p'.repeat(38_000) },
        };
        await expect(f.server.hub.editMessage('c1', 1, huge)).rejects.toThrow(/too large/);
        // Without the reactions it fits.
        acked(await request(alice, { type: 'send', conversationId: 'c1', text: 'bare' }));
        const fits = await f.server.hub.editMessage('c1', 2 + Limits.MAX_REACTION_KINDS, huge);
        expect(fits.duplicate).toBe(false);
      },
    );
  });
}

/**
 * The engine contract for operations on stored messages (`applyOperation`, `message`): run by
 * every engine beside `runEngineContract`, with the same factory.
 */
import { Limits, type Message } from '@parley/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine, Envelope, MessageDraft } from '../src/engines/types.js';
import { type ContractFactory, type ContractOptions, draft } from './engine-contract.js';

let n = 0;
const uid = (p: string) => `${p}-${Date.now().toString(36)}-${(n++).toString(36)}`;

/** An operation draft on `target` (alice's by default). */
export function opDraft(
  conversationId: string,
  target: number,
  kind: 'edit' | 'delete' | 'reaction',
  over: Partial<MessageDraft> = {},
): MessageDraft {
  return {
    id: uid('op'),
    conversationId,
    clientMsgId: uid('k'),
    senderId: 'alice',
    kind,
    text: '',
    target,
    createdAt: Date.now(),
    ...over,
  };
}

const react = (c: string, target: number, senderId: string, emoji: string, on = true) =>
  opDraft(c, target, 'reaction', { senderId, reaction: { emoji, on } });

export function runOperationContract(name: string, factory: ContractFactory): void {
  describe(`engine contract (operations): ${name}`, () => {
    const engines: Engine[] = [];
    let clock = Date.now();
    const make = async (o: ContractOptions = {}): Promise<Engine> => {
      const e = await factory({ now: () => clock, ...o });
      engines.push(e);
      return e;
    };
    afterEach(async () => {
      for (const e of engines.splice(0)) await e.close();
      clock = Date.now();
    });

    const stored = async (e: Engine, d: MessageDraft, origin?: string) => {
      const r = await e.applyOperation(origin === undefined ? { draft: d } : { draft: d, origin });
      if (r.state !== 'stored') throw new Error(`expected stored, got ${r.state}`);
      return r;
    };

    it('range and page give `json`: exactly each message as JSON, edited or not', async () => {
      const e = await make();
      const c = uid('c');
      for (let i = 0; i < 4; i++) {
        await e.append({ draft: draft(c, { text: `m${i} "q" \\ é😀\n`, data: { i } }) });
      }
      await stored(e, opDraft(c, 1, 'edit', { text: 'v2' }));
      await stored(e, opDraft(c, 1, 'edit', { text: 'v3', data: { again: true } }));
      await stored(e, opDraft(c, 2, 'delete'));
      await stored(e, opDraft(c, 3, 'reaction', { data: { emoji: '👍' } }));
      // Every built-in engine gives `json` (it is optional only for engines written elsewhere).
      const asJson = (r: { messages: unknown[]; json?: readonly string[] }) => {
        expect(r.json).toEqual(r.messages.map((m) => JSON.stringify(m)));
        return r.messages.length;
      };
      expect(asJson(await e.range(c, 0, 100))).toBe(8);
      expect(asJson(await e.range(c, 3, 100))).toBe(5);
      expect(asJson(await e.page(c, undefined, 5))).toBe(5);
      expect(asJson(await e.page(c, 4, 10))).toBe(3);
      const current = await e.range(c, 0, 100);
      expect(current.messages[0]).toMatchObject({ text: 'v3', version: 6 });
    });

    it('stores an edit with its own seq, publishes it with its origin, and keeps the target current everywhere', async () => {
      const e = await make();
      const c = uid('c');
      const got: Envelope[] = [];
      await e.subscribe(`conv:${c}`, (env) => got.push(env));
      const original = (await e.append({ draft: draft(c, { text: 'v1', data: { a: 1 } }) }))
        .message;
      const r = await stored(e, opDraft(c, 1, 'edit', { text: 'v2', createdAt: clock }), 'conn1');
      expect(r.message).toMatchObject({ seq: 2, kind: 'edit', target: 1, text: 'v2' });
      const { data: _d, ...rest } = original;
      const current = { ...rest, text: 'v2', editedAt: clock, version: 2 };
      expect(r.target).toEqual(current);
      expect(await e.message(c, 1)).toEqual(current);
      expect(await e.message(c, 2)).toEqual(r.message);
      expect((await e.range(c, 0, 100)).messages).toEqual([current, r.message]);
      expect((await e.page(c, undefined, 10)).messages).toEqual([current, r.message]);
      expect((await e.heads([c])).get(c)!.seq).toBe(2);
      await expect.poll(() => got.length).toBe(2);
      expect(got[1]).toMatchObject({ kind: 'message', origin: 'conn1', message: r.message });
      // A second edit with data: the latest wins, version moves on.
      const r2 = await stored(e, opDraft(c, 1, 'edit', { text: 'v3', data: { b: 2 } }));
      expect(r2.target).toMatchObject({ text: 'v3', data: { b: 2 }, version: 3 });
      expect((await e.page(c, 2, 10)).messages).toEqual([r2.target]);
    });

    it('deletes to a tombstone that keeps its seq; a tombstone takes no further operation', async () => {
      const e = await make();
      const c = uid('c');
      await e.append({ draft: draft(c, { text: 'secret', data: { x: 1 } }) });
      await stored(e, react(c, 1, 'bob', '👍'));
      const r = await stored(e, opDraft(c, 1, 'delete'));
      expect(r.target).toMatchObject({ seq: 1, text: '', deleted: true, version: 3 });
      expect(r.target.data).toBeUndefined();
      expect(r.target.reactions).toBeUndefined();
      expect((await e.range(c, 0, 10)).messages[0]).toEqual(r.target);
      for (const d of [
        opDraft(c, 1, 'edit', { text: 'back' }),
        opDraft(c, 1, 'delete'),
        react(c, 1, 'bob', '👍'),
      ]) {
        expect(await e.applyOperation({ draft: d })).toEqual({ state: 'not_found' });
      }
      expect((await e.heads([c])).get(c)!.seq).toBe(3);
    });

    it('answers not_found for a seq that is not a held countable message', async () => {
      const e = await make({ history: { maxMessages: 3 } });
      const c = uid('c');
      expect(await e.applyOperation({ draft: opDraft(c, 1, 'delete') })).toEqual({
        state: 'not_found',
      });
      for (let i = 0; i < 4; i++) await e.append({ draft: draft(c) });
      // seq 1 is trimmed, seq 9 does not exist yet.
      expect(await e.applyOperation({ draft: opDraft(c, 1, 'delete') })).toEqual({
        state: 'not_found',
      });
      expect(await e.applyOperation({ draft: opDraft(c, 9, 'delete') })).toEqual({
        state: 'not_found',
      });
      expect(await e.message(c, 1)).toBeUndefined();
      const op = await stored(e, opDraft(c, 4, 'edit', { text: 'x' }));
      // An operation is not a target.
      expect(await e.applyOperation({ draft: opDraft(c, op.message.seq, 'delete') })).toEqual({
        state: 'not_found',
      });
      expect((await e.heads([c])).get(c)!.seq).toBe(5);
    });

    it('toggles reactions per user, counted in order; drops emptied ones; bounds distinct emoji', async () => {
      const e = await make();
      const c = uid('c');
      await e.append({ draft: draft(c) });
      await stored(e, react(c, 1, 'bob', '👍'));
      await stored(e, react(c, 1, 'carol', '👍'));
      await stored(e, react(c, 1, 'bob', '👍')); // again: no change, still an operation
      await stored(e, react(c, 1, 'bob', '__proto__'));
      expect((await e.message(c, 1))!.reactions).toEqual({
        '👍': ['bob', 'carol'],
        ['__proto__']: ['bob'],
      });
      await stored(e, react(c, 1, 'bob', '__proto__', false));
      await stored(e, react(c, 1, 'carol', '👍', false));
      expect((await e.message(c, 1))!.reactions).toEqual({ '👍': ['bob'] });
      const last = await stored(e, react(c, 1, 'bob', '👍', false));
      expect(last.target.reactions).toBeUndefined();
      expect(last.target.version).toBe(last.message.seq);
      for (let i = 0; i < Limits.MAX_REACTION_KINDS; i++)
        await stored(e, react(c, 1, 'bob', `e${i}`));
      expect(await e.applyOperation({ draft: react(c, 1, 'carol', 'one-more') })).toEqual({
        state: 'too_many_reactions',
      });
      // Joining an existing reaction, or removing one, is still fine at the limit.
      await stored(e, react(c, 1, 'carol', 'e0'));
      await stored(e, react(c, 1, 'bob', 'e1', false));
      await stored(e, react(c, 1, 'carol', 'one-more'));
      expect(Object.keys((await e.message(c, 1))!.reactions!)).toHaveLength(
        Limits.MAX_REACTION_KINDS,
      );
    });

    it('refuses an operation whose new target state would pass maxTargetBytes: too_large, nothing stored', async () => {
      const e = await make();
      const c = uid('c');
      const base = (await e.append({ draft: draft(c, { text: 'x' }) })).message;
      const size = (m: Message) => Buffer.byteLength(JSON.stringify(m));
      const maxTargetBytes = size(base) + 60;
      const ok = await stored(e, { ...react(c, 1, 'bob', '👍') });
      expect(size(ok.target)).toBeLessThanOrEqual(maxTargetBytes + 60);
      const big = opDraft(c, 1, 'edit', { text: 'y'.repeat(200) });
      expect(await e.applyOperation({ draft: big, maxTargetBytes })).toEqual({
        state: 'too_large',
      });
      expect(
        await e.applyOperation({ draft: react(c, 1, 'carol', 'z'.repeat(32)), maxTargetBytes }),
      ).toEqual({ state: 'too_large' });
      expect((await e.heads([c])).get(c)!.seq).toBe(2);
      // Within the bound it is stored; a delete always shrinks the message.
      await stored(e, { ...opDraft(c, 1, 'delete') });
    });

    it('counts concurrent reactions from many users and instances: none is lost', async () => {
      const e = await make();
      const c = uid('c');
      await e.append({ draft: draft(c) });
      const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
      const results = await Promise.all(
        users.map((u) => e.applyOperation({ draft: react(c, 1, u, '🎉') })),
      );
      expect(results.every((r) => r.state === 'stored')).toBe(true);
      const seqs = results
        .map((r) => (r as { message: Message }).message.seq)
        .sort((a, b) => a - b);
      expect(seqs).toEqual(users.map((_, i) => i + 2));
      const target = (await e.message(c, 1))!;
      expect([...target.reactions!['🎉']!].sort()).toEqual([...users].sort());
      expect(target.version).toBe(users.length + 1);
    });

    it('is idempotent by (conversation, sender, clientMsgId), shared with sends; drops the lease', async () => {
      const e = await make();
      const c = uid('c');
      const got: Envelope[] = [];
      await e.subscribe(`conv:${c}`, (env) => got.push(env));
      await e.append({ draft: draft(c) });
      const d = opDraft(c, 1, 'edit', { clientMsgId: 'op1', text: 'v2' });
      expect(await e.claimSend(c, 'alice', 'op1', 60_000)).toEqual({ state: 'claimed' });
      const first = await stored(e, d);
      expect(await e.applyOperation({ draft: { ...d, text: 'v3' } })).toEqual({
        state: 'duplicate',
        message: first.message,
      });
      expect(await e.claimSend(c, 'alice', 'op1', 60_000)).toEqual({
        state: 'stored',
        message: first.message,
      });
      expect(await e.findByClientId(c, 'alice', 'op1')).toEqual(first.message);
      // A send with the key of a stored operation is a duplicate of it, and the other way round.
      expect((await e.append({ draft: draft(c, { clientMsgId: 'op1' }) })).duplicate).toBe(true);
      // The target was deleted meanwhile: a retry is still recognised, not refused.
      await stored(e, opDraft(c, 1, 'delete'));
      expect((await e.applyOperation({ draft: d })).state).toBe('duplicate');
      await e.append({ draft: draft(c) }); // a marker
      await expect.poll(() => got.length).toBe(4);
      expect(got.map((x) => (x as { message: Message }).message.seq)).toEqual([1, 2, 3, 4]);
    });

    it("gives the inbox's last message in its current state, and operations change no unread count", async () => {
      const e = await make();
      const c = uid('c');
      await e.append({ draft: draft(c, { senderId: 'bob', text: 'first' }) });
      await e.append({ draft: draft(c, { senderId: 'bob', text: 'typo' }) });
      await stored(e, opDraft(c, 2, 'edit', { senderId: 'bob', text: 'fixed' }));
      await stored(e, react(c, 2, 'carol', '🎉'));
      let row = (await e.inbox('alice', [c])).get(c)!;
      expect(row.unread).toBe(2);
      expect(row.lastMessage).toMatchObject({ seq: 2, text: 'fixed', version: 4 });
      expect(row.lastMessage!.reactions).toEqual({ '🎉': ['carol'] });
      await stored(e, opDraft(c, 2, 'delete', { senderId: 'bob' }));
      row = (await e.inbox('alice', [c])).get(c)!;
      expect(row.unread).toBe(2);
      expect(row.lastMessage).toMatchObject({ seq: 2, text: '', deleted: true, version: 5 });
    });
  });
}

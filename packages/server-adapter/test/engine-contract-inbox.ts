/**
 * The engine contract for unread counts and the inbox (issue 16): `append` indexes countable
 * messages and marks the sender read, `unread` counts with a range count, `inbox` reads head,
 * reads, count and the last countable message per conversation. Run by every engine's test file
 * next to `runEngineContract`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Engine, type MessageDraft, UNREAD_INDEX_MAX } from '../src/engines/types.js';
import { type ContractFactory, draft } from './engine-contract.js';

let n = 0;
const uid = (p: string) => `${p}-${Date.now().toString(36)}-i${(n++).toString(36)}`;

export function runInboxContract(name: string, factory: ContractFactory): void {
  describe(`engine contract (inbox): ${name}`, () => {
    const engines: Engine[] = [];
    const make = async (): Promise<Engine> => {
      const e = await factory({});
      engines.push(e);
      return e;
    };
    afterEach(async () => {
      for (const e of engines.splice(0)) await e.close();
    });
    const send = (e: Engine, c: string, over: Partial<MessageDraft>) =>
      e.append({ draft: draft(c, over) });

    it('sending marks read: the sender’s read position follows their own countable messages', async () => {
      const e = await make();
      const c = uid('c');
      await send(e, c, { senderId: 'bob' });
      await send(e, c, { senderId: 'alice' });
      await send(e, c, { senderId: 'bob' });
      expect(await e.reads(c)).toEqual({ bob: 3, alice: 2 });
      expect(await e.unread(c, 'alice')).toEqual({ readSeq: 2, count: 1, at: 3 });
      expect(await e.unread(c, 'bob')).toEqual({ readSeq: 3, count: 0, at: 3 });
      // Someone who never read or sent: everything countable.
      expect(await e.unread(c, 'carol')).toEqual({ readSeq: 0, count: 3, at: 3 });
    });

    it('counts system messages, never operations, and only up to `upTo` (at most the head)', async () => {
      const e = await make();
      const c = uid('c');
      await send(e, c, { senderId: 'bob' }); // 1
      await send(e, c, { senderId: 'system', kind: 'system' }); // 2
      await send(e, c, { senderId: 'bob', kind: 'edit', target: 1, text: 'x' }); // 3: not counted
      await send(e, c, { senderId: 'bob' }); // 4
      expect(await e.unread(c, 'alice')).toEqual({ readSeq: 0, count: 3, at: 4 });
      expect(await e.unread(c, 'alice', 2)).toEqual({ readSeq: 0, count: 2, at: 2 });
      expect(await e.unread(c, 'alice', 99)).toEqual({ readSeq: 0, count: 3, at: 4 });
      // An operation does not move its sender's read position.
      expect((await e.reads(c)).bob).toBe(4);
      await e.setRead(c, 'alice', 3);
      expect(await e.unread(c, 'alice')).toEqual({ readSeq: 3, count: 1, at: 4 });
      expect(await e.unread(uid('empty'), 'alice')).toEqual({ readSeq: 0, count: 0, at: 0 });
    });

    it('unread counts are exact up to UNREAD_INDEX_MAX and capped there', async () => {
      const e = await make();
      const c = uid('c');
      // 10 past the cap, and not at a multiple of 16: an index trimmed in batches holds more.
      const total = UNREAD_INDEX_MAX + 10;
      for (let sent = 0; sent < total; ) {
        const batch = Math.min(500, total - sent);
        await Promise.all(Array.from({ length: batch }, () => send(e, c, { senderId: 'bob' })));
        sent += batch;
      }
      expect(await e.unread(c, 'alice')).toEqual({
        readSeq: 0,
        count: UNREAD_INDEX_MAX,
        at: total,
      });
      await e.setRead(c, 'alice', total - 3);
      expect(await e.unread(c, 'alice')).toEqual({ readSeq: total - 3, count: 3, at: total });
    }, 60_000);

    it('a duplicate append neither counts again nor moves reads', async () => {
      const e = await make();
      const c = uid('c');
      const d = draft(c, { senderId: 'bob' });
      await e.append({ draft: d });
      await send(e, c, { senderId: 'alice' });
      expect((await e.append({ draft: d })).duplicate).toBe(true);
      expect(await e.unread(c, 'carol')).toEqual({ readSeq: 0, count: 2, at: 2 });
      expect((await e.reads(c)).bob).toBe(1);
    });

    it('inbox: head, reads, unread and the last countable message of each conversation', async () => {
      const e = await make();
      const a = uid('a');
      const b = uid('b');
      const empty = uid('e');
      await send(e, a, { senderId: 'bob', text: 'hello' });
      const last = (await send(e, a, { senderId: 'system', kind: 'system', text: 'joined' }))
        .message;
      await send(e, a, { senderId: 'bob', kind: 'reaction', target: 1, text: '' });
      await send(e, b, { senderId: 'alice', text: 'mine' });
      const inbox = await e.inbox('alice', [a, b, empty]);
      const heads = await e.heads([a, b, empty]);
      expect(inbox.get(a)).toEqual({
        head: heads.get(a),
        reads: { bob: 1, system: 2 },
        readSeq: 0,
        unread: 2,
        lastMessage: last,
      });
      expect(inbox.get(b)).toMatchObject({ readSeq: 1, unread: 0, reads: { alice: 1 } });
      expect(inbox.get(b)!.lastMessage!.text).toBe('mine');
      expect(inbox.get(empty)).toEqual({
        head: heads.get(empty),
        reads: {},
        readSeq: 0,
        unread: 0,
      });
      expect((await e.inbox('alice', [])).size).toBe(0);
    });

    it('the inbox’s last message is in its current state; operations neither count nor mark read', async () => {
      const e = await make();
      const c = uid('c');
      await send(e, c, { senderId: 'bob', text: 'first' }); // 1
      await send(e, c, { senderId: 'carol', text: 'typo' }); // 2
      const edit = await e.applyOperation({
        draft: draft(c, { senderId: 'carol', kind: 'edit', target: 2, text: 'fixed' }),
      }); // 3
      expect(edit.state).toBe('stored');
      await e.applyOperation({
        draft: draft(c, {
          senderId: 'dave',
          kind: 'reaction',
          target: 2,
          text: '',
          reaction: { emoji: '👍', on: true },
        }),
      }); // 4
      const row = (await e.inbox('alice', [c])).get(c)!;
      expect(row.head.seq).toBe(4);
      expect(row.unread).toBe(2);
      expect(row.lastMessage).toMatchObject({
        seq: 2,
        text: 'fixed',
        reactions: { '👍': ['dave'] },
        version: 4,
      });
      expect(row.reads).toEqual({ bob: 1, carol: 2 }); // dave's reaction marked nothing read
      await e.applyOperation({
        draft: draft(c, { senderId: 'carol', kind: 'delete', target: 2, text: '' }),
      });
      const after = (await e.inbox('carol', [c])).get(c)!;
      expect(after).toMatchObject({ unread: 0, lastMessage: { seq: 2, deleted: true } });
      expect((await e.unread(c, 'alice')).count).toBe(2); // a delete does not change counts
    });

    it('counts many conversations in one inbox call', async () => {
      const e = await make();
      const ids = Array.from({ length: 60 }, () => uid('m'));
      await Promise.all(ids.map((c, i) => send(e, c, { senderId: i % 2 === 0 ? 'bob' : 'alice' })));
      const inbox = await e.inbox('alice', ids);
      for (const [i, c] of ids.entries()) expect(inbox.get(c)!.unread).toBe(i % 2 === 0 ? 1 : 0);
    });
  });
}

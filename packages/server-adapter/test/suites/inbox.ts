/**
 * The inbox and unread counts (issue 16): `summary` after `welcome`, server-side unread counts in
 * `welcome`, `reset`, `joined` and the reader's own `read` frames, "sending marks read", system
 * messages count, operations do not. Portable: runs on every adapter, engine and runtime.
 */
import { describe, expect, it } from 'vitest';
import { is, type TestClient } from '../utils/client.js';
import { inProcessIt, type SuiteEnv, useFixture } from '../utils/fixture.js';

const row = (c: TestClient, id: string) => c.welcome.conversations.find((x) => x.id === id)!;

export function inboxSuite(env: SuiteEnv): void {
  describe('inbox and unread', () => {
    const setup = useFixture(env);
    const local = inProcessIt(env);

    /** Bob sends `text` to c1 and waits for his ack. */
    const say = async (bob: TestClient, text: string, id = text) => {
      bob.send({ type: 'send', ref: id, conversationId: 'c1', clientMsgId: id, text });
      return (await bob.next(is('ack', (a) => a.ref === id))).message;
    };

    it('counts countable messages from others: own messages never, system messages always', async () => {
      const f = await setup();
      const bob = await f.connect('bob');
      const alice = await f.connect('alice');
      await say(bob, 'b1');
      await say(bob, 'b2');
      alice.send({ type: 'send', ref: 'a', conversationId: 'c1', clientMsgId: 'a', text: 'a3' });
      await alice.next(is('ack'));
      await f.server.hub.publish('c1', { text: 'sys4' });
      await say(bob, 'b5');
      await alice.close();
      // A fresh device: sending marked alice read up to her own message (3); 4 and 5 are unread.
      const fresh = await f.connect('alice');
      expect(row(fresh, 'c1')).toMatchObject({ seq: 5, readSeq: 3, unread: 2 });
      expect(row(fresh, 'c1').reads).toMatchObject({ bob: 5 });
      // Bob sent last: nothing unread; the system message before it was read by sending.
      const bob2 = await f.connect('bob');
      expect(row(bob2, 'c1')).toMatchObject({ seq: 5, readSeq: 5, unread: 0 });
      // Carol (c2 only) is untouched.
      const carol = await f.connect('carol');
      expect(row(carol, 'c2')).toMatchObject({ seq: 0, readSeq: 0, unread: 0 });
      // "Sending marks read" fans no `read` frame out.
      await bob.barrier();
      expect(bob.take(is('read'))).toEqual([]);
    });

    it('a read on one device reaches the reader’s other devices with the count; other members without', async () => {
      const f = await setup();
      const bob = await f.connect('bob');
      for (const t of ['m1', 'm2', 'm3']) await say(bob, t);
      const phone = await f.connect('alice');
      const laptop = await f.connect('alice');
      expect(row(laptop, 'c1')).toMatchObject({ readSeq: 0, unread: 3 });
      phone.send({ type: 'read', ref: 'r', conversationId: 'c1', seq: 2 });
      expect(await laptop.next(is('read'))).toEqual({
        type: 'read',
        conversationId: 'c1',
        userId: 'alice',
        seq: 2,
        unread: { count: 1, at: 3 },
      });
      expect(await bob.next(is('read'))).toEqual({
        type: 'read',
        conversationId: 'c1',
        userId: 'alice',
        seq: 2,
      });
      // The reading socket itself is not answered.
      await phone.barrier();
      expect(phone.take(is('read'))).toEqual([]);
      // A third, fresh device agrees.
      const tablet = await f.connect('alice');
      expect(row(tablet, 'c1')).toMatchObject({ readSeq: 2, unread: 1 });
    });

    it('a reset carries the read position and the unread count at its seq', async () => {
      const f = await setup({ maxMessages: 5 });
      const bob = await f.connect('bob');
      const reader = await f.connect('alice');
      for (let i = 1; i <= 10; i++) await say(bob, `m${i}`);
      reader.send({ type: 'read', conversationId: 'c1', seq: 4 });
      await bob.next(is('read'));
      const alice = await f.connect('alice', { cursors: { c1: { seq: 1 } } });
      expect(await alice.next(is('reset'))).toMatchObject({
        conversationId: 'c1',
        seq: 10,
        reason: 'trimmed',
        readSeq: 4,
        unread: 6,
      });
    });

    it('joined carries the read position and the unread count at its seq', async () => {
      const f = await setup();
      const carol = await f.connect('carol');
      for (const t of ['x', 'y']) {
        carol.send({ type: 'send', ref: t, conversationId: 'c3', clientMsgId: t, text: t });
        await carol.next(is('ack'));
      }
      const alice = await f.connect('alice');
      f.members.c3 = ['carol', 'dave', 'alice'];
      await f.server.hub.join('c3', ['alice']);
      expect(await alice.next(is('joined'))).toMatchObject({
        conversationId: 'c3',
        seq: 2,
        readSeq: 0,
        unread: 2,
      });
    });

    it('summary: every conversation’s last message and metadata, newest activity first, then synced', async () => {
      const f = await setup();
      const bob = await f.connect('bob');
      await say(bob, 'old');
      await f.server.hub.publish('c2', { text: 'newer' });
      const alice = await f.connect('alice');
      await alice.next(is('synced'));
      expect(alice.frames.map((x) => x.type)).toEqual(['welcome', 'summary', 'synced']);
      const summary = alice.frames.find(is('summary'))!;
      expect(summary.more).toBe(false);
      const rows = [...summary.conversations].sort((a, b) => a.id.localeCompare(b.id));
      expect(rows.map((c) => [c.id, c.lastMessage?.text, c.meta?.title])).toEqual([
        ['c1', 'old', 'Title of c1'],
        ['c2', 'newer', 'Title of c2'],
      ]);
      expect(rows[0]!.meta!.members).toEqual(['alice', 'bob']);
      // Newest activity first.
      const times = summary.conversations.map((c) => c.lastMessage!.createdAt);
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });

    local(
      'a metadata change during the session start follows the inbox (it is newer)',
      async () => {
        let release = () => {};
        let reached = () => {};
        const atInbox = new Promise<void>((r) => {
          reached = r;
        });
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const f = await setup({
          wrapEngine: (e) => ({
            ...e,
            inbox: async (userId, ids) => {
              if (userId === 'alice') {
                reached();
                await gate;
              }
              return e.inbox(userId, ids);
            },
          }),
        });
        const connecting = f.connect('alice');
        await atInbox; // alice is subscribed to c1 and reading her inbox
        await f.server.hub.updateConversation('c1', { title: 'Renamed' });
        release();
        const alice = await connecting;
        await alice.next(is('synced'));
        expect(alice.frames.map((x) => x.type)).toEqual([
          'welcome',
          'summary',
          'conversation',
          'synced',
        ]);
        expect(alice.frames[2]).toEqual({
          type: 'conversation',
          conversationId: 'c1',
          meta: { title: 'Renamed' },
        });
      },
    );

    it('hub.history pages back (before) and forward (after), in seq order, with hasMore', async () => {
      const f = await setup();
      for (let i = 1; i <= 12; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      const seqs = (p: { messages: { seq: number }[] }) => p.messages.map((m) => m.seq);
      const newest = await f.server.hub.history('c1', { limit: 5 });
      expect([seqs(newest), newest.hasMore]).toEqual([[8, 9, 10, 11, 12], true]);
      // The page alone: nothing an engine keeps beside it (the memory engine's stored `json`).
      expect(Object.keys(newest).sort()).toEqual(['hasMore', 'messages']);
      const older = await f.server.hub.history('c1', { before: 4, limit: 5 });
      expect([seqs(older), older.hasMore]).toEqual([[1, 2, 3], false]);
      const forward = await f.server.hub.history('c1', { after: 3, limit: 4 });
      expect([seqs(forward), forward.hasMore]).toEqual([[4, 5, 6, 7], true]);
      const end = await f.server.hub.history('c1', { after: 9, limit: 10 });
      expect([seqs(end), end.hasMore]).toEqual([[10, 11, 12], false]);
      const between = await f.server.hub.history('c1', { after: 2, before: 6, limit: 10 });
      expect([seqs(between), between.hasMore]).toEqual([[3, 4, 5], false]);
      const cut = await f.server.hub.history('c1', { after: 2, before: 6, limit: 2 });
      expect([seqs(cut), cut.hasMore]).toEqual([[3, 4], true]);
      expect((await f.server.hub.history('c1', {})).messages).toHaveLength(12);
      await expect(f.server.hub.history('c1', { limit: 201 })).rejects.toThrow(/limit/);
      await expect(f.server.hub.history('c1', { before: 0 })).rejects.toThrow(/before/);
      await expect(f.server.hub.history('', {})).rejects.toThrow(/conversationId/);
    });

    it('hub.history after a seq the history no longer holds starts at the oldest it holds', async () => {
      const f = await setup({ maxMessages: 5 });
      for (let i = 1; i <= 20; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      const seqs = (p: { messages: { seq: number }[] }) => p.messages.map((m) => m.seq);
      const first = await f.server.hub.history('c1', { after: 0, limit: 2 });
      expect([seqs(first), first.hasMore]).toEqual([[16, 17], true]);
      const rest = await f.server.hub.history('c1', { after: 3, limit: 10 });
      expect([seqs(rest), rest.hasMore]).toEqual([[16, 17, 18, 19, 20], false]);
      const bounded = await f.server.hub.history('c1', { after: 3, before: 16, limit: 10 });
      expect([seqs(bounded), bounded.hasMore]).toEqual([[], false]);
    });

    it('hub.conversationSummary is the inbox a fresh client gets', async () => {
      const f = await setup();
      const bob = await f.connect('bob');
      await say(bob, 'hi');
      await f.server.hub.publish('c2', { text: 'welcome carol' });
      const rows = await f.server.hub.conversationSummary('alice');
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      expect(byId.c1).toMatchObject({
        seq: 1,
        readSeq: 0,
        unread: 1,
        reads: { bob: 1 },
        lastMessage: { text: 'hi', senderId: 'bob' },
        meta: { title: 'Title of c1', members: ['alice', 'bob'] },
      });
      expect(byId.c2).toMatchObject({ seq: 1, unread: 1, lastMessage: { text: 'welcome carol' } });
      expect(Object.keys(byId).sort()).toEqual(['c1', 'c2']);
      // The same numbers a client gets.
      const alice = await f.connect('alice');
      expect(row(alice, 'c1')).toMatchObject({ seq: 1, readSeq: 0, unread: 1 });
    });

    it('hub.updateConversation reaches every member socket with a conversation frame', async () => {
      const f = await setup();
      const a1 = await f.connect('alice');
      const a2 = await f.connect('alice');
      const bob = await f.connect('bob');
      const carol = await f.connect('carol');
      const meta = { title: 'Design review (v2)', avatarUrl: 'https://x.test/a.png' };
      await f.server.hub.updateConversation('c1', meta);
      const frame = { type: 'conversation', conversationId: 'c1', meta };
      for (const c of [a1, a2, bob]) expect(await c.next(is('conversation'))).toEqual(frame);
      await carol.barrier();
      expect(carol.take(is('conversation'))).toEqual([]);
      await expect(
        f.server.hub.updateConversation('c1', { title: 'x'.repeat(300) }),
      ).rejects.toThrow(/title/);
    });

    it('hub.publishResult takes the app’s idempotency id and says duplicate on a repeat', async () => {
      const f = await setup();
      const bob = await f.connect('bob');
      const first = await f.server.hub.publishResult('c1', { text: 'hook', clientMsgId: 'wh-1' });
      const again = await f.server.hub.publishResult('c1', { text: 'hook', clientMsgId: 'wh-1' });
      expect(first.duplicate).toBe(false);
      expect(again).toEqual({ message: first.message, duplicate: true });
      await bob.barrier();
      expect(bob.take(is('message'))).toHaveLength(1);
    });

    local(
      'onStored tells the app the seq of every stored message, once (not for a retry)',
      async () => {
        const stored: { seq: number; text: string; connectionId?: string }[] = [];
        let wake = () => {};
        const f = await setup({
          onStored: ({ message, connectionId }) => {
            stored.push({
              seq: message.seq,
              text: message.text,
              ...(connectionId === undefined ? {} : { connectionId }),
            });
            wake();
          },
        });
        const bob = await f.connect('bob');
        await say(bob, 'one', 'k1');
        await f.server.hub.publish('c1', { text: 'two', clientMsgId: 'p1' });
        await f.server.hub.publish('c1', { text: 'two', clientMsgId: 'p1' });
        bob.send({
          type: 'send',
          ref: 'k1b',
          conversationId: 'c1',
          clientMsgId: 'k1',
          text: 'one',
        });
        await bob.next(is('ack', (a) => a.ref === 'k1b'));
        await new Promise<void>((resolve) => {
          wake = () => stored.length >= 2 && resolve();
          wake();
        });
        expect(stored.map((s) => [s.seq, s.text, typeof s.connectionId])).toEqual([
          [1, 'one', 'string'],
          [2, 'two', 'undefined'],
        ]);
      },
    );
  });
}

/**
 * The inbox and unread counts (issue 16): `summary` after `welcome`, server-side unread counts in
 * `welcome`, `reset`, `joined` and the reader's own `read` frames, "sending marks read", system
 * messages count, operations do not. Portable: runs on every adapter, engine and runtime.
 */
import { describe, expect, it } from 'vitest';
import { is, type TestClient } from '../utils/client.js';
import { type SuiteEnv, useFixture } from '../utils/fixture.js';

const row = (c: TestClient, id: string) => c.welcome.conversations.find((x) => x.id === id)!;

export function inboxSuite(env: SuiteEnv): void {
  describe('inbox and unread', () => {
    const setup = useFixture(env);

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
  });
}

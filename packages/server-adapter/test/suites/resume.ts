/** Resume: replay after a cursor (complete, ordered, de-duplicated with live traffic) or reset. */
import type { Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { is } from '../utils/client.js';
import { inProcessIt, type SuiteEnv, useFixture } from '../utils/fixture.js';

export function resumeSuite(env: SuiteEnv): void {
  describe('resume', () => {
    const setup = useFixture(env);
    const local = inProcessIt(env);

    it('replays exactly the 50 missed messages, in order, before any new one', async () => {
      const f = await setup();
      const bob = await f.connect('bob');
      for (let i = 1; i <= 3; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      let last: Message | undefined;
      for (let i = 0; i < 3; i++) last = (await bob.next(is('message'))).message;
      const epoch = bob.welcome.conversations.find((c) => c.id === 'c1')!.epoch;
      await bob.close();
      for (let i = 4; i <= 53; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      const again = await f.connect('bob', { cursors: { c1: { seq: last!.seq, epoch } } });
      expect(again.welcome.conversations.find((c) => c.id === 'c1')).toMatchObject({
        seq: 53,
        epoch,
      });
      await f.server.hub.publish('c1', { text: 'new' });
      const replay = await again.next(is('replay'));
      expect(replay.conversationId).toBe('c1');
      expect(replay.seq).toBe(53);
      expect(replay.messages.map((m) => m.seq)).toEqual(
        Array.from({ length: 50 }, (_, i) => i + 4),
      );
      expect(replay.messages.map((m) => m.text)).toEqual(
        Array.from({ length: 50 }, (_, i) => `m${i + 4}`),
      );
      const next = await again.next(is('message'));
      expect(next.message).toMatchObject({ seq: 54, text: 'new' });
      // The replay came before the live message on the wire.
      const order = again.frames
        .filter((x) => x.type === 'replay' || x.type === 'message')
        .map((x) => x.type);
      expect(order).toEqual(['replay', 'message']);
    });

    local(
      'holds live messages back while the replay is fetched: no duplicates, no gaps',
      async () => {
        let publish: ((n: number, tag: string) => Promise<void>) | undefined;
        const f = await setup({
          // Messages stored after the heads were read but before the replay range is read...
          membersOf: async (c) => {
            await publish?.(5, 'during-welcome');
            return f.members[c] ?? [];
          },
          // ...and after the replay range was read.
          wrapEngine: (e) => ({
            ...e,
            range: async (...args) => {
              const r = await e.range(...args);
              await publish?.(5, 'during-replay');
              return r;
            },
          }),
        });
        for (let i = 1; i <= 20; i++) await f.server.hub.publish('c1', { text: `old${i}` });
        publish = async (n, tag) => {
          publish = undefined; // once
          for (let i = 0; i < n; i++) await f.server.hub.publish('c1', { text: `${tag}${i}` });
        };
        const bob = await f.connect('bob', { cursors: { c1: { seq: 5 } } });
        const replay = await bob.next(is('replay'));
        const seqs = replay.messages.map((m) => m.seq);
        expect(seqs.length).toBeGreaterThan(15);
        while (seqs.at(-1)! < 25) seqs.push((await bob.next(is('message'))).message.seq);
        expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 6));
        await bob.barrier();
        expect(bob.take(is('message'))).toEqual([]);
        expect(bob.take(is('replay'))).toEqual([]);
      },
    );

    it('replays from cursor 0; a conversation missing from the cursors starts at its head (issue 16)', async () => {
      const f = await setup();
      for (let i = 1; i <= 3; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      await f.server.hub.publish('c2', { text: 'other' });
      const alice = await f.connect('alice', { cursors: { c1: { seq: 0 } } });
      await alice.next(is('synced'));
      const replays = alice.frames.filter(is('replay'));
      expect(replays.map((r) => [r.conversationId, r.messages.map((m) => m.seq)])).toEqual([
        ['c1', [1, 2, 3]],
      ]);
      // c2 is not replayed: its head is in welcome, its last message in the summary.
      const welcome = alice.frames.find(is('welcome'))!;
      expect(welcome.conversations.find((c) => c.id === 'c2')).toMatchObject({ seq: 1 });
      const summary = alice.frames.find(is('summary'))!;
      expect(summary.conversations.find((c) => c.id === 'c2')?.lastMessage?.text).toBe('other');
      // Live messages of c2 flow from its head on.
      await f.server.hub.publish('c2', { text: 'live' });
      expect((await alice.next(is('message'))).message).toMatchObject({
        conversationId: 'c2',
        seq: 2,
      });
      // Up to date: no replay at all.
      const again = await f.connect('alice', { cursors: { c1: { seq: 3 }, c2: { seq: 2 } } });
      await again.barrier();
      expect(again.take(is('replay'))).toEqual([]);
    });

    it('sends reset (and no partial replay) for a cursor older than the history', async () => {
      const f = await setup({ maxMessages: 10 });
      for (let i = 1; i <= 30; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      const bob = await f.connect('bob', { cursors: { c1: { seq: 5 } } });
      const reset = await bob.next(is('reset'));
      expect(reset).toMatchObject({ conversationId: 'c1', seq: 30, reason: 'trimmed' });
      await bob.barrier();
      expect(bob.take(is('replay'))).toEqual([]);
      // The client refetches through history: the newest kept page.
      bob.send({ type: 'history', ref: 'h', conversationId: 'c1', limit: 50 });
      const page = await bob.next(is('history'));
      expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 21));
      expect(page.hasMore).toBe(false);
      // A cursor inside the kept range still replays.
      const b2 = await f.connect('bob', { cursors: { c1: { seq: 25 } } });
      expect((await b2.next(is('replay'))).messages.map((m) => m.seq)).toEqual([
        26, 27, 28, 29, 30,
      ]);
    });

    it('sends reset when the epoch changed (or the cursor is ahead of the store)', async () => {
      const f = await setup();
      for (let i = 1; i <= 3; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      const bob = await f.connect('bob', { cursors: { c1: { seq: 2, epoch: 'some-old-epoch' } } });
      expect(await bob.next(is('reset'))).toMatchObject({
        conversationId: 'c1',
        reason: 'epoch_changed',
        seq: 3,
      });
      const b2 = await f.connect('bob', { cursors: { c1: { seq: 99 } } });
      expect(await b2.next(is('reset'))).toMatchObject({
        conversationId: 'c1',
        reason: 'epoch_changed',
      });
      for (const b of [bob, b2]) {
        await b.barrier();
        expect(b.take(is('replay'))).toEqual([]);
      }
    });

    it('fills a gap on sync with a replay or reset correlated by ref', async () => {
      const f = await setup({ maxMessages: 5 });
      for (let i = 1; i <= 8; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      const bob = await f.connect('bob', { cursors: { c1: { seq: 8 } } });
      bob.send({ type: 'sync', ref: 's1', conversationId: 'c1', after: 6 });
      expect(await bob.next(is('replay'))).toMatchObject({
        ref: 's1',
        seq: 8,
        messages: [{ seq: 7 }, { seq: 8 }],
      });
      bob.send({ type: 'sync', ref: 's2', conversationId: 'c1', after: 1 });
      expect(await bob.next(is('reset'))).toMatchObject({ ref: 's2', reason: 'trimmed' });
      bob.send({ type: 'sync', ref: 's3', conversationId: 'c3', after: 0 });
      expect(await bob.next(is('error'))).toMatchObject({ ref: 's3', code: 'forbidden' });
    });

    it('answers every sync: at the head an empty replay (with or without a ref), ahead of the head a reset (issue 19)', async () => {
      const f = await setup();
      for (let i = 1; i <= 3; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      const bob = await f.connect('bob', { cursors: { c1: { seq: 3 } } });
      const epoch = bob.welcome.conversations.find((c) => c.id === 'c1')!.epoch;
      bob.send({ type: 'sync', ref: 'at-head', conversationId: 'c1', after: 3, epoch });
      expect(await bob.next(is('replay', (r) => r.ref === 'at-head'))).toEqual({
        type: 'replay',
        ref: 'at-head',
        conversationId: 'c1',
        epoch,
        seq: 3,
        messages: [],
      });
      bob.send({ type: 'sync', conversationId: 'c1', after: 3 });
      expect(await bob.next(is('replay'))).toEqual({
        type: 'replay',
        conversationId: 'c1',
        epoch,
        seq: 3,
        messages: [],
      });
      bob.send({ type: 'sync', ref: 'ahead', conversationId: 'c1', after: 4, epoch });
      expect(await bob.next(is('reset', (r) => r.ref === 'ahead'))).toMatchObject({
        conversationId: 'c1',
        epoch,
        seq: 3,
        reason: 'epoch_changed',
      });
    });

    it('ends the session start with one synced, after every replay and reset the cursors asked for (issue 19)', async () => {
      const f = await setup({ maxMessages: 5 });
      for (let i = 1; i <= 8; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      await f.server.hub.publish('c2', { text: 'other' });
      // c1: trimmed past the cursor (reset); c2: one message to replay.
      const alice = await f.connect('alice', { cursors: { c1: { seq: 1 }, c2: { seq: 0 } } });
      await alice.next(is('synced'));
      const types = alice.frames.map((x) => x.type);
      expect(types.slice(0, 2)).toEqual(['welcome', 'summary']);
      expect(types.slice(2, 4).sort()).toEqual(['replay', 'reset']);
      expect(types[4]).toBe('synced');
      // At the head: nothing but the inbox before synced.
      const again = await f.connect('alice', { cursors: { c1: { seq: 8 }, c2: { seq: 1 } } });
      await again.next(is('synced'));
      expect(again.frames.map((x) => x.type)).toEqual(['welcome', 'summary', 'synced']);
      // Exactly one: a request sent after it is answered after anything the session start sent.
      again.send({ type: 'history', ref: 'after', conversationId: 'c1', limit: 1 });
      await again.next(is('history'));
      expect(again.frames.filter((x) => x.type === 'synced')).toHaveLength(1);
    });

    it('pages history backwards in seq order', async () => {
      const f = await setup();
      for (let i = 1; i <= 30; i++) await f.server.hub.publish('c1', { text: `m${i}` });
      const bob = await f.connect('bob', { cursors: { c1: { seq: 30 } } });
      bob.send({ type: 'history', ref: 'p1', conversationId: 'c1', before: 21, limit: 10 });
      const p1 = await bob.next(is('history'));
      expect(p1).toMatchObject({ ref: 'p1', conversationId: 'c1', hasMore: true });
      expect(p1.messages.map((m) => m.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      bob.send({ type: 'history', ref: 'p2', conversationId: 'c1', before: 11, limit: 10 });
      const p2 = await bob.next(is('history'));
      expect(p2.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(p2.hasMore).toBe(false);
      bob.send({ type: 'history', ref: 'p3', conversationId: 'c2' });
      expect(await bob.next(is('error'))).toMatchObject({ ref: 'p3', code: 'forbidden' });
    });
  });
}

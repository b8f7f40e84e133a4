/** Ephemeral signals and session upkeep: typing, presence, read receipts, custom events, reauth. */
import { describe, expect, it } from 'vitest';
import { is } from '../utils/client.js';
import { inProcessIt, type SuiteEnv, useFixture } from '../utils/fixture.js';

export function signalsSuite(env: SuiteEnv): void {
  describe('signals', () => {
    const setup = useFixture(env);
    const local = inProcessIt(env);

    it('relays typing to the other members only, with a ttl', async () => {
      const f = await setup({ typing: { ttlMs: 4000 } });
      const a1 = await f.connect('alice');
      const a2 = await f.connect('alice');
      const bob = await f.connect('bob');
      const carol = await f.connect('carol');
      a1.send({ type: 'typing', conversationId: 'c1', state: 'start' });
      expect(await bob.next(is('typing'))).toEqual({
        type: 'typing',
        conversationId: 'c1',
        userId: 'alice',
        state: 'start',
        ttlMs: 4000,
      });
      a1.send({ type: 'typing', conversationId: 'c3', state: 'start' });
      expect(await a1.next(is('error'))).toMatchObject({ code: 'forbidden', conversationId: 'c3' });
      await f.server.hub.publish('c1', { text: 'm' });
      await f.server.hub.publish('c2', { text: 'm' });
      for (const c of [a1, a2, bob, carol]) await c.next(is('message'));
      for (const c of [a1, a2, carol]) expect(c.take(is('typing'))).toEqual([]);
    });

    it('shows presence only to users sharing a conversation, with a snapshot in welcome', async () => {
      const f = await setup({ presence: { graceMs: 30 } });
      const bob = await f.connect('bob');
      const dave = await f.connect('dave');
      const alice = await f.connect('alice');
      expect(await bob.next(is('presence'))).toMatchObject({ userId: 'alice', online: true });
      expect(alice.welcome.presence).toEqual(
        expect.arrayContaining([
          { userId: 'bob', online: true },
          { userId: 'carol', online: false },
        ]),
      );
      await alice.close();
      const off = await bob.next(is('presence', (p) => !p.online));
      expect(off).toMatchObject({ userId: 'alice', online: false });
      expect(typeof off.lastSeenAt).toBe('number');
      await f.server.hub.publish('c3', { text: 'marker' });
      await dave.next(is('message'));
      expect(dave.take(is('presence'))).toEqual([]);
    });

    it('does not flap presence when a user reconnects within the grace period', async () => {
      const f = await setup({ presence: { graceMs: 60_000 } });
      const bob = await f.connect('bob');
      const alice = await f.connect('alice');
      await bob.next(is('presence', (p) => p.online));
      await alice.close();
      const again = await f.connect('alice');
      expect(again.welcome.presence).toContainEqual({ userId: 'bob', online: true });
      await f.server.hub.publish('c1', { text: 'marker' });
      await bob.next(is('message'));
      expect(bob.take(is('presence'))).toEqual([]);
      const dave = await f.connect('dave');
      expect(dave.welcome.presence).toEqual([{ userId: 'carol', online: false }]);
    });

    local(
      "keeps read receipts monotonic, persists them and sends them to members and the reader's other sockets",
      async () => {
        const receipts: unknown[] = [];
        const f = await setup({ onRead: (r) => void receipts.push(r) });
        for (let i = 1; i <= 5; i++) await f.server.hub.publish('c1', { text: `m${i}` });
        const a1 = await f.connect('alice', { cursors: { c1: { seq: 5 } } });
        const a2 = await f.connect('alice', { cursors: { c1: { seq: 5 } } });
        const bob = await f.connect('bob', { cursors: { c1: { seq: 5 } } });
        a1.send({ type: 'read', conversationId: 'c1', seq: 4 });
        const expected = { type: 'read', conversationId: 'c1', userId: 'alice', seq: 4 };
        // The reader's other socket also gets the unread count after the read (issue 16).
        expect(await a2.next(is('read'))).toEqual({ ...expected, unread: { count: 1, at: 5 } });
        expect(await bob.next(is('read'))).toEqual(expected);
        a1.send({ type: 'read', conversationId: 'c1', seq: 2 }); // lower: ignored
        a1.send({ type: 'read', conversationId: 'c1', seq: 99 }); // clamped to the head
        expect(await bob.next(is('read'))).toMatchObject({ seq: 5 });
        await a1.barrier();
        expect(a1.take(is('read'))).toEqual([]);
        expect(receipts).toEqual([
          { conversationId: 'c1', userId: 'alice', seq: 4 },
          { conversationId: 'c1', userId: 'alice', seq: 5 },
        ]);
        const later = await f.connect('bob');
        expect(later.welcome.conversations.find((c) => c.id === 'c1')).toMatchObject({
          readSeq: 0,
          reads: { alice: 5 },
        });
        const a3 = await f.connect('alice');
        expect(a3.welcome.conversations.find((c) => c.id === 'c1')).toMatchObject({ readSeq: 5 });
      },
    );

    it('delivers typed custom events to the other members of a conversation or to one user only', async () => {
      const f = await setup();
      const a1 = await f.connect('alice');
      const a2 = await f.connect('alice');
      const bob = await f.connect('bob');
      const carol = await f.connect('carol');
      a1.send({
        type: 'event',
        ref: 'e1',
        name: 'call.offer',
        conversationId: 'c1',
        payload: { sdp: 'v=0' },
      });
      expect(await bob.next(is('event'))).toEqual({
        type: 'event',
        name: 'call.offer',
        from: 'alice',
        conversationId: 'c1',
        payload: { sdp: 'v=0' },
      });
      a1.send({ type: 'event', name: 'call.hangup', userId: 'carol', payload: { reason: 'bye' } });
      expect(await carol.next(is('event'))).toEqual({
        type: 'event',
        name: 'call.hangup',
        from: 'alice',
        payload: { reason: 'bye' },
      });
      a1.send({
        type: 'event',
        ref: 'bad',
        name: 'call.offer',
        conversationId: 'c1',
        payload: { sdp: 42 },
      });
      expect(await a1.next(is('error'))).toMatchObject({
        ref: 'bad',
        code: 'invalid_frame',
        field: 'payload.sdp',
      });
      a1.send({ type: 'event', ref: 'unk', name: 'nope', conversationId: 'c1', payload: {} });
      expect(await a1.next(is('error'))).toMatchObject({ ref: 'unk', code: 'not_found' });
      a1.send({
        type: 'event',
        ref: 'dave',
        name: 'call.offer',
        userId: 'dave',
        payload: { sdp: 'x' },
      });
      expect(await a1.next(is('error'))).toMatchObject({ ref: 'dave', code: 'forbidden' });
      await f.server.hub.publish('c1', { text: 'marker' });
      await f.server.hub.publish('c2', { text: 'marker' });
      for (const c of [a1, a2, bob, carol]) await c.next(is('message'));
      for (const c of [a1, a2]) expect(c.take(is('event'))).toEqual([]);
      expect(bob.take(is('event'))).toEqual([]);
      expect(carol.take(is('event'))).toEqual([]);
    });

    it('refreshes the token in-band without dropping the connection', async () => {
      // Generous margins: the client has ~800 ms to answer each reauth even on a busy machine.
      const f = await setup({ auth: { refreshLeadMs: 800 } });
      const firstExpiry = Date.now() + 1000;
      const alice = await f.connect('alice', { token: `alice@${firstExpiry}` });
      expect(alice.welcome.expiresAt).toBe(firstExpiry);
      const reauth = await alice.next(is('reauth'));
      expect(reauth.deadlineMs).toBeGreaterThanOrEqual(0);
      expect(reauth.deadlineMs).toBeLessThanOrEqual(1000);
      const second = Date.now() + 2200;
      alice.send({ type: 'auth', ref: 'a1', token: `alice@${second}` });
      expect(await alice.next(is('authed'))).toEqual({
        type: 'authed',
        ref: 'a1',
        expiresAt: second,
      });
      // The next reauth comes ~1.4 s later, past the first expiry: the session survived it.
      await alice.next(is('reauth'), 5000);
      expect(Date.now()).toBeGreaterThan(firstExpiry);
      expect(alice.closeInfo).toBeUndefined();
      alice.send({ type: 'auth', ref: 'a2', token: 'bob' });
      expect(await alice.next(is('error'))).toMatchObject({ ref: 'a2', code: 'unauthenticated' });
      alice.send({ type: 'auth', ref: 'a3', token: 'alice' });
      expect(await alice.next(is('authed'))).toEqual({ type: 'authed', ref: 'a3' });
      await alice.barrier();
    });

    it('closes an expired, unrefreshed session with 4401', async () => {
      const f = await setup({ auth: { refreshLeadMs: 200 } });
      const alice = await f.connect('alice', { token: `alice@${Date.now() + 500}` });
      await alice.next(is('reauth'));
      expect(await alice.closed).toEqual({ code: 4401, reason: 'token expired' });
    });
  });
}

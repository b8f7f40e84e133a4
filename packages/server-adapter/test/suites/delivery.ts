/** Fan-out, acks, identity, membership, idempotency, join/leave, publish, offline recipients. */
import { describe, expect, it } from 'vitest';
import { MessageRejectedError } from '../../src/errors.js';
import { is } from '../utils/client.js';
import { inProcessIt, type SuiteEnv, useFixture } from '../utils/fixture.js';

export function deliverySuite(env: SuiteEnv): void {
  describe('delivery', () => {
    const setup = useFixture(env);
    const local = inProcessIt(env);

    it("reaches every socket of every member without opening anything; the sender's socket gets an ack", async () => {
      const f = await setup();
      const a1 = await f.connect('alice');
      const a2 = await f.connect('alice');
      const b1 = await f.connect('bob');
      const b2 = await f.connect('bob');
      expect(a1.welcome.user).toEqual({ id: 'alice', name: 'ALICE' });
      expect(a1.welcome.conversations.map((c) => c.id).sort()).toEqual(['c1', 'c2']);
      a1.send({
        type: 'send',
        ref: 'r1',
        conversationId: 'c1',
        clientMsgId: 'm1',
        text: 'hi',
        data: { x: 1 },
      });
      const ack = await a1.next(is('ack'));
      expect(ack).toMatchObject({ ref: 'r1', clientMsgId: 'm1', duplicate: false });
      expect(ack.message).toMatchObject({
        seq: 1,
        senderId: 'alice',
        sender: { name: 'ALICE' },
        text: 'hi',
        data: { x: 1 },
        kind: 'user',
      });
      for (const c of [a2, b1, b2]) {
        const m = await c.next(is('message'));
        expect(m.message).toEqual(ack.message);
      }
      await a1.barrier();
      expect(a1.take(is('message'))).toEqual([]);
      for (const c of [a1, a2, b1, b2]) expect(c.decodeErrors).toEqual([]);
    });

    it('answers a send to a foreign conversation with forbidden and delivers nothing; client identity fields are ignored', async () => {
      const f = await setup();
      const alice = await f.connect('alice');
      const carol = await f.connect('carol');
      const dave = await f.connect('dave');
      alice.send({
        type: 'send',
        ref: 'x',
        conversationId: 'c3',
        clientMsgId: 'm1',
        text: 'sneaky',
      });
      const err = await alice.next(is('error'));
      expect(err).toMatchObject({
        code: 'forbidden',
        ref: 'x',
        conversationId: 'c3',
        clientMsgId: 'm1',
      });
      await f.server.hub.publish('c3', { text: 'marker' });
      expect((await carol.next(is('message'))).message.text).toBe('marker');
      expect((await dave.next(is('message'))).message.text).toBe('marker');

      // Impersonation attempt: senderId/sender/kind in the payload are ignored.
      alice.sendAny({
        type: 'send',
        conversationId: 'c2',
        clientMsgId: 'm2',
        text: 'hello',
        senderId: 'carol',
        sender: { name: 'Carol' },
        kind: 'system',
      });
      const ack = await alice.next(is('ack'));
      expect(ack.message).toMatchObject({
        senderId: 'alice',
        sender: { name: 'ALICE' },
        kind: 'user',
      });
      expect((await carol.next(is('message'))).message.senderId).toBe('alice');
    });

    it('dedupes a retried client id, also after a reconnect: one stored message, one broadcast, same ack', async () => {
      const f = await setup();
      const alice = await f.connect('alice');
      const bob = await f.connect('bob');
      const send = {
        type: 'send',
        conversationId: 'c1',
        clientMsgId: 'dup-1',
        text: 'once',
      } as const;
      alice.send({ ...send, ref: 'a' });
      const first = await alice.next(is('ack'));
      alice.send({ ...send, ref: 'b' });
      const second = await alice.next(is('ack'));
      expect(second).toMatchObject({ ref: 'b', duplicate: true });
      expect(second.message).toEqual(first.message);
      await alice.close();
      const again = await f.connect('alice', { cursors: { c1: { seq: 1 } } });
      again.send({ ...send, ref: 'c' });
      const third = await again.next(is('ack'));
      expect(third).toMatchObject({ ref: 'c', duplicate: true });
      expect(third.message).toEqual(first.message);
      await f.server.hub.publish('c1', { text: 'marker' });
      const got = [await bob.next(is('message')), await bob.next(is('message'))].map(
        (m) => m.message.text,
      );
      expect(got).toEqual(['once', 'marker']);
      bob.send({ type: 'history', ref: 'h', conversationId: 'c1' });
      const page = await bob.next(is('history'));
      expect(page.messages.map((m) => m.text)).toEqual(['once', 'marker']);
    });

    it('delivers hub.publish messages as system messages through the same path', async () => {
      const f = await setup();
      const bob = await f.connect('bob');
      const m = await f.server.hub.publish('c1', { text: 'deploy done', data: { build: 7 } });
      expect(m).toMatchObject({ seq: 1, senderId: 'system', kind: 'system' });
      expect((await bob.next(is('message'))).message).toEqual(m);
      await expect(f.server.hub.publish('c1', { text: 'y'.repeat(10_001) })).rejects.toThrow(
        /text/,
      );
    });

    it('hub.join subscribes connected sockets at once; hub.leave stops them', async () => {
      const f = await setup();
      const b1 = await f.connect('bob');
      const b2 = await f.connect('bob');
      await f.server.hub.publish('c3', { text: 'before' });
      f.members.c3!.push('bob');
      await f.server.hub.join('c3', ['bob']);
      for (const b of [b1, b2]) {
        expect(await b.next(is('joined'))).toMatchObject({ conversationId: 'c3', seq: 1 });
      }
      await f.server.hub.publish('c3', { text: 'after join' });
      for (const b of [b1, b2])
        expect((await b.next(is('message'))).message).toMatchObject({ text: 'after join', seq: 2 });
      const carol = await f.connect('carol');
      b1.send({ type: 'typing', conversationId: 'c3', state: 'start' });
      expect(await carol.next(is('typing'))).toMatchObject({ userId: 'bob', conversationId: 'c3' });

      f.members.c3 = f.members.c3!.filter((u) => u !== 'bob');
      await f.server.hub.leave('c3', ['bob']);
      for (const b of [b1, b2])
        expect(await b.next(is('left'))).toEqual({ type: 'left', conversationId: 'c3' });
      await f.server.hub.publish('c3', { text: 'after leave' });
      await f.server.hub.publish('c1', { text: 'marker' });
      for (const b of [b1, b2]) expect((await b.next(is('message'))).message.text).toBe('marker');
      b1.send({ type: 'send', ref: 'r', conversationId: 'c3', clientMsgId: 'x', text: 'no' });
      expect(await b1.next(is('error'))).toMatchObject({ code: 'forbidden', ref: 'r' });
    });

    local('reports exactly the members without a live socket to onOfflineRecipients', async () => {
      const calls: { conversationId: string; userIds: string[]; seq: number }[] = [];
      let done!: () => void;
      const called = new Promise<void>((r) => {
        done = r;
      });
      const f = await setup({
        onOfflineRecipients: ({ conversationId, userIds, message }) => {
          calls.push({ conversationId, userIds: [...userIds].sort(), seq: message.seq });
          done();
        },
      });
      f.members.c1 = ['alice', 'bob', 'erin', 'frank'];
      const alice = await f.connect('alice');
      await f.connect('bob');
      alice.send({ type: 'send', conversationId: 'c1', clientMsgId: 'm', text: 'hi' });
      await alice.next(is('ack'));
      await called;
      expect(calls).toEqual([{ conversationId: 'c1', userIds: ['erin', 'frank'], seq: 1 }]);
    });

    local(
      'lets persist enrich (own id) or reject a message; a throwing hook answers unavailable',
      async () => {
        let mode: 'ok' | 'reject' | 'invalid' | 'throw' = 'ok';
        const f = await setup({
          persist: (draft) => {
            if (mode === 'reject') throw new MessageRejectedError('contains a banned word');
            if (mode === 'throw') throw new Error('db down');
            if (mode === 'invalid') return { text: 'y'.repeat(20_000) };
            return { id: `app-${draft.clientMsgId}`, data: { moderated: true } };
          },
        });
        const alice = await f.connect('alice');
        alice.send({
          type: 'send',
          ref: '1',
          conversationId: 'c1',
          clientMsgId: 'm1',
          text: 'fine',
        });
        expect((await alice.next(is('ack'))).message).toMatchObject({
          id: 'app-m1',
          data: { moderated: true },
        });
        mode = 'reject';
        alice.send({
          type: 'send',
          ref: '2',
          conversationId: 'c1',
          clientMsgId: 'm2',
          text: 'bad',
        });
        expect(await alice.next(is('error'))).toMatchObject({
          code: 'rejected',
          ref: '2',
          message: 'contains a banned word',
          clientMsgId: 'm2',
        });
        mode = 'invalid';
        alice.send({
          type: 'send',
          ref: '2b',
          conversationId: 'c1',
          clientMsgId: 'm2b',
          text: 'x',
        });
        // The app's hook made it invalid: a typed refusal the client does not retry.
        expect(await alice.next(is('error'))).toMatchObject({ code: 'rejected', ref: '2b' });
        mode = 'throw';
        alice.send({ type: 'send', ref: '3', conversationId: 'c1', clientMsgId: 'm3', text: 'x' });
        expect(await alice.next(is('error'))).toMatchObject({ code: 'unavailable', ref: '3' });
        expect(
          f.logger.lines.some((l) => l.level === 'error' && l.msg?.includes('hook failed')),
        ).toBe(true);
        await alice.barrier(); // still connected
      },
    );

    it('disconnectUser closes every socket of the user with 4403', async () => {
      const f = await setup();
      const b1 = await f.connect('bob');
      const b2 = await f.connect('bob');
      const alice = await f.connect('alice');
      await f.server.hub.disconnectUser('bob', { reason: 'banned' });
      for (const b of [b1, b2]) expect(await b.closed).toEqual({ code: 4403, reason: 'banned' });
      await alice.barrier();
    });

    it('validates server-side custom events and is typed', async () => {
      const f = await setup();
      const bob = await f.connect('bob');
      await f.server.hub.sendToUser('bob', { name: 'call.offer', payload: { sdp: 'v=0' } });
      expect(await bob.next(is('event'))).toEqual({
        type: 'event',
        name: 'call.offer',
        from: 'system',
        payload: { sdp: 'v=0' },
      });
      await f.server.hub.emit('c1', { name: 'call.hangup', payload: { reason: 'busy' } });
      expect(await bob.next(is('event'))).toMatchObject({
        name: 'call.hangup',
        conversationId: 'c1',
      });
      const hub = f.server.hub;
      // @ts-expect-error payload does not match the schema
      const wrongPayload = hub.sendToUser('bob', { name: 'call.offer', payload: { sdp: 1 } });
      await expect(wrongPayload).rejects.toThrow(/sdp/);
      // @ts-expect-error unknown event
      const unknownEvent = hub.sendToUser('bob', { name: 'nope', payload: {} });
      await expect(unknownEvent).rejects.toThrow(/unknown event/);
    });
  });
}

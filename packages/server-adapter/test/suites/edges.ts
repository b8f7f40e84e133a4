/**
 * The edges of issue 13, one test per defect, through the public API against a real server:
 * membership changes that race session start or a busy connection, a failing runtime join,
 * retried sends during `persist`, the per-socket byte budget, malformed floods, the per-user
 * socket cap, the session start deadline, identity validation, text length in code points and
 * the token refresh schedule.
 */
import type net from 'node:net';
import type { ServerFrame } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { is, type TestClient } from '../utils/client.js';
import { type SuiteEnv, useFixture } from '../utils/fixture.js';
import { held } from '../utils/gate.js';

/** Seqs of one conversation this socket received as messages, acks or replays, in order. */
function seqsOf(c: TestClient, conversationId: string): number[] {
  const out: number[] = [];
  for (const f of c.frames) {
    if (f.type === 'message' && f.message.conversationId === conversationId)
      out.push(f.message.seq);
    else if (f.type === 'ack' && f.message.conversationId === conversationId)
      out.push(f.message.seq);
    else if (f.type === 'replay' && f.conversationId === conversationId)
      out.push(...f.messages.map((m) => m.seq));
  }
  return out;
}

/** Every frame of a conversation (anything that carries its id or one of its messages). */
function framesOf(c: TestClient, conversationId: string): ServerFrame[] {
  return c.frames.filter(
    (f) =>
      ('conversationId' in f && f.conversationId === conversationId) ||
      ((f.type === 'message' || f.type === 'ack') && f.message.conversationId === conversationId),
  );
}

const socketOf = (c: TestClient) => (c.ws as unknown as { _socket: net.Socket })._socket;

export function edgesSuite(env: SuiteEnv): void {
  describe('issue 13 edges', () => {
    const setup = useFixture(env);

    it('1: a message published right after `await hub.join` reaches the joined sockets exactly once', async () => {
      const f = await setup();
      const b1 = await f.connect('bob');
      const b2 = await f.connect('bob');
      await f.server.hub.publish('c3', { text: 'before the join' });
      f.members.c3!.push('bob');
      await f.server.hub.join('c3', ['bob']);
      const m = await f.server.hub.publish('c3', { text: 'welcome bob' });
      for (const b of [b1, b2]) {
        const joined = await b.next(is('joined', (j) => j.conversationId === 'c3'));
        // The head before anything published after the join resolved; what follows comes after.
        expect(joined.seq).toBe(m.seq - 1);
        await b.next(
          (x): x is ServerFrame =>
            (x.type === 'message' && x.message.seq === m.seq) ||
            (x.type === 'replay' && x.messages.some((y) => y.seq === m.seq)),
        );
        await b.barrier();
        expect(seqsOf(b, 'c3')).toEqual([m.seq]);
      }
    });

    it('2: join then leave while the connection is busy in persist: the removed user neither receives nor posts', async () => {
      const slow = held();
      const f = await setup({
        persist: async (d) => {
          if (d.clientMsgId === 'slow') await slow.hold();
          return undefined;
        },
      });
      const bob = await f.connect('bob');
      const carol = await f.connect('carol');
      bob.send({ type: 'send', ref: 's', conversationId: 'c1', clientMsgId: 'slow', text: 'hm' });
      await slow.reached;
      f.members.c3!.push('bob');
      await f.server.hub.join('c3', ['bob']);
      f.members.c3 = f.members.c3!.filter((u) => u !== 'bob');
      await f.server.hub.leave('c3', ['bob']);
      slow.open();
      await bob.next(is('ack', (a) => a.ref === 's'));
      await f.server.hub.publish('c3', { text: 'not for bob' });
      await carol.next(is('message', (m) => m.message.text === 'not for bob'));
      bob.send({ type: 'send', ref: 'x', conversationId: 'c3', clientMsgId: 'x', text: 'no' });
      expect(await bob.next(is('error', (e) => e.ref === 'x'))).toMatchObject({
        code: 'forbidden',
      });
      await f.server.hub.publish('c1', { text: 'marker' });
      await bob.next(is('message', (m) => m.message.text === 'marker'));
      expect(seqsOf(bob, 'c3')).toEqual([]);
      expect(await f.engine.members('c3')).not.toContain('bob');
    });

    it('2b: a send stored just before a leave is acked even when its message reaches the hub after the leave', async () => {
      // Found by the hub model on two processes sharing a Redis Cluster: the conversation's
      // shard channel and the user's are different connections, so the `left` can overtake the
      // message. The ack waited for the message, and the hub unsubscribed the channel on the
      // leave, so the send was never answered.
      const delayed: (() => void)[] = [];
      let delayC3 = false;
      let heldBack!: () => void;
      const messageHeldBack = new Promise<void>((r) => {
        heldBack = r;
      });
      const f = await setup({
        wrapEngine: (e) => ({
          ...e,
          subscribe: async (topic, handler) => {
            let subscribed = true;
            const unsubscribe = await e.subscribe(topic, (env) => {
              if (topic === 'conv:c3' && delayC3 && env.kind === 'message') {
                delayed.push(() => {
                  if (subscribed) handler(env);
                });
                heldBack();
                return;
              }
              handler(env);
            });
            return async () => {
              subscribed = false;
              await unsubscribe();
            };
          },
        }),
      });
      const bob = await f.connect('bob');
      f.members.c3!.push('bob');
      await f.server.hub.join('c3', ['bob']);
      await bob.next(is('joined', (j) => j.conversationId === 'c3'));
      delayC3 = true;
      bob.send({ type: 'send', ref: 's', conversationId: 'c3', clientMsgId: 'm1', text: 'hi' });
      // Stored and published, its message held back on the way to the hub.
      await messageHeldBack;
      await bob.barrier();
      f.members.c3 = f.members.c3!.filter((u) => u !== 'bob');
      await f.server.hub.leave('c3', ['bob']);
      await bob.next(is('left', (l) => l.conversationId === 'c3'));
      for (const deliver of delayed) deliver();
      await bob.barrier();
      const answers = bob.frames.filter(
        (x) => (x.type === 'ack' || x.type === 'error') && x.ref === 's',
      );
      expect(answers).toHaveLength(1);
      expect(answers[0]).toMatchObject({ type: 'ack', message: { conversationId: 'c3', seq: 1 } });
      // At its place: before `left`.
      const at = (x: ServerFrame) => bob.frames.indexOf(x);
      expect(at(answers[0]!)).toBeLessThan(at(bob.frames.find((x) => x.type === 'left')!));
    });

    it('3a: a join landing while conversationsOf runs is not dropped', async () => {
      const h = held();
      const members: Record<string, string[]> = { c1: ['alice', 'bob'], c3: ['carol'] };
      const f = await setup({
        conversationsOf: async (userId) => {
          const list = Object.keys(members).filter((c) => members[c]!.includes(userId));
          if (userId === 'bob') await h.hold();
          return list;
        },
        membersOf: (c) => members[c] ?? [],
      });
      const connecting = f.connect('bob');
      await h.reached;
      members.c3!.push('bob');
      await f.server.hub.join('c3', ['bob']);
      h.open();
      const bob = await connecting;
      if (!bob.welcome.conversations.some((c) => c.id === 'c3'))
        await bob.next(is('joined', (j) => j.conversationId === 'c3'));
      const m = await f.server.hub.publish('c3', { text: 'for bob too' });
      await bob.next(is('message', (x) => x.message.seq === m.seq));
      expect(await f.engine.members('c3')).toContain('bob');
    });

    it('3b: a leave landing while conversationsOf runs: not in welcome (or left after it), nothing delivered, not re-added', async () => {
      const h = held();
      const members: Record<string, string[]> = { c1: ['alice', 'bob'], c2: ['alice'] };
      const f = await setup({
        conversationsOf: async (userId) => {
          const list = Object.keys(members).filter((c) => members[c]!.includes(userId));
          if (userId === 'bob') await h.hold();
          return list;
        },
        membersOf: (c) => members[c] ?? [],
      });
      const alice = await f.connect('alice');
      const connecting = f.connect('bob');
      await h.reached;
      members.c1 = ['alice'];
      await f.server.hub.leave('c1', ['bob']);
      h.open();
      const bob = await connecting;
      await bob.barrier();
      const listed = bob.welcome.conversations.some((c) => c.id === 'c1');
      if (listed) {
        const left = bob.frames.findIndex((x) => x.type === 'left' && x.conversationId === 'c1');
        expect(left).toBeGreaterThan(bob.frames.indexOf(bob.welcome));
      }
      await f.server.hub.publish('c1', { text: 'not for bob' });
      await alice.next(is('message', (m) => m.message.text === 'not for bob'));
      await bob.barrier();
      expect(seqsOf(bob, 'c1')).toEqual([]);
      expect(await f.engine.members('c1')).not.toContain('bob');
    });

    it('3c: a leave landing between the subscriptions and welcome is not sent before welcome', async () => {
      const h = held();
      let armed = false;
      const members: Record<string, string[]> = { c1: ['alice', 'bob'], c2: ['alice'] };
      const f = await setup({
        conversationsOf: (userId) =>
          Object.keys(members).filter((c) => members[c]!.includes(userId)),
        membersOf: async (c) => {
          const list = members[c] ?? [];
          if (armed && c === 'c1') {
            armed = false;
            await h.hold();
          }
          return list;
        },
      });
      const alice = await f.connect('alice');
      armed = true;
      const connecting = f.connect('bob');
      await h.reached;
      members.c1 = ['alice'];
      await f.server.hub.leave('c1', ['bob']);
      h.open();
      const bob = await connecting;
      await bob.barrier();
      const wi = bob.frames.indexOf(bob.welcome);
      const li = bob.frames.findIndex((x) => x.type === 'left');
      if (li !== -1) expect(li).toBeGreaterThan(wi);
      if (bob.welcome.conversations.some((c) => c.id === 'c1')) expect(li).toBeGreaterThan(wi);
      await f.server.hub.publish('c1', { text: 'not for bob' });
      await alice.next(is('message', (m) => m.message.text === 'not for bob'));
      await bob.barrier();
      expect(seqsOf(bob, 'c1')).toEqual([]);
      expect(await f.engine.members('c1')).not.toContain('bob');
    });

    it('3d: a ban landing during authenticate or conversationsOf closes the socket (4403); it cannot send', async () => {
      for (const where of ['authenticate', 'conversationsOf'] as const) {
        const h = held();
        const f = await setup({
          authenticate: async ({ token }) => {
            if (where === 'authenticate' && token === 'bob') await h.hold();
            return token ? { userId: token, profile: { name: token } } : null;
          },
          conversationsOf: async (userId) => {
            if (where === 'conversationsOf' && userId === 'bob') await h.hold();
            return ['c1'];
          },
          membersOf: () => ['alice', 'bob'],
        });
        const alice = await f.connect('alice');
        const bob = await f.connect('bob', { hello: false });
        bob.send({ type: 'hello', protocol: 1, token: 'bob' });
        await h.reached;
        await f.server.hub.disconnectUser('bob', { reason: 'banned' });
        h.open();
        expect(await bob.closed, where).toEqual({ code: 4403, reason: 'banned' });
        await alice.barrier();
        expect(seqsOf(alice, 'c1'), where).toEqual([]);
        expect(f.server.hub.stats().sessions, where).toBe(1);
      }
    });

    it('4: a runtime join whose engine subscription fails does not leave the conversation held', async () => {
      let failC3 = true;
      const f = await setup({
        limits: { maxReplay: 5 },
        wrapEngine: (e) => ({
          ...e,
          subscribe: (topic, handler) => {
            if (topic === 'conv:c3' && failC3) {
              failC3 = false;
              return Promise.reject(new Error('store unreachable'));
            }
            return e.subscribe(topic, handler);
          },
        }),
      });
      const bob = await f.connect('bob');
      f.members.c3!.push('bob');
      await f.server.hub.join('c3', ['bob']);
      // The join cannot be served: the socket is told (closed so that it resumes), not starved.
      expect((await bob.closed).code).toBe(1011);
      const carol = await f.connect('carol');
      for (let i = 0; i < 8; i++) await f.server.hub.publish('c3', { text: `m${i}` });
      await carol.barrier();
      const again = await f.connect('bob');
      expect(again.welcome.conversations.map((c) => c.id)).toContain('c3');
    });

    it('4b: a second hub.join of a conversation while the first is applied still ends in `joined`', async () => {
      // Found by the hub model on two processes sharing Redis (a join's membership re-check is a
      // round trip there): the first join, made stale by the second, left the conversation held
      // and unannounced, and the second found it held and did nothing, so the socket never
      // learned of the conversation and held its messages back for good.
      const recheck = held();
      let holdRecheck = true;
      const f = await setup({
        wrapEngine: (e) => ({
          ...e,
          isMember: async (conversationId, userId) => {
            if (conversationId === 'c3' && userId === 'bob' && holdRecheck) {
              holdRecheck = false;
              await recheck.hold();
            }
            return e.isMember(conversationId, userId);
          },
        }),
      });
      const bob = await f.connect('bob');
      f.members.c3!.push('bob');
      await f.server.hub.join('c3', ['bob']);
      await recheck.reached;
      await f.server.hub.join('c3', ['bob']);
      recheck.open();
      await bob.next(is('joined', (j) => j.conversationId === 'c3'));
      const m = await f.server.hub.publish('c3', { text: 'for bob' });
      await bob.next(is('message', (x) => x.message.seq === m.seq));
      await bob.barrier();
      expect(framesOf(bob, 'c3').filter((x) => x.type === 'joined')).toHaveLength(1);
      expect(seqsOf(bob, 'c3')).toEqual([m.seq]);
    });

    it('5: a retried send on a new socket while the first is in persist calls persist once', async () => {
      const slow = held();
      let calls = 0;
      const f = await setup({
        persist: async (d) => {
          calls++;
          if (d.clientMsgId === 'k1' && calls === 1) await slow.hold();
          return undefined;
        },
      });
      const a1 = await f.connect('alice');
      const send = {
        type: 'send',
        conversationId: 'c1',
        clientMsgId: 'k1',
        text: 'once',
      } as const;
      a1.send({ ...send, ref: 'first' });
      await slow.reached;
      const a2 = await f.connect('alice');
      a2.send({ ...send, ref: 'retry' });
      const answer = await a2
        .next(
          (x): x is ServerFrame => (x.type === 'ack' || x.type === 'error') && x.ref === 'retry',
          1000,
        )
        .catch(() => undefined);
      slow.open();
      const first = await a1.next(is('ack', (a) => a.ref === 'first'));
      if (answer?.type === 'error') {
        expect(answer).toMatchObject({ code: 'unavailable', clientMsgId: 'k1' });
        a2.send({ ...send, ref: 'retry2' });
        const again = await a2.next(is('ack', (a) => a.ref === 'retry2'));
        expect(again).toMatchObject({ duplicate: true, message: first.message });
      } else if (answer?.type === 'ack') {
        expect(answer).toMatchObject({ duplicate: true, message: first.message });
      }
      expect(calls).toBe(1);
    });

    it('6: a socket that stops reading and keeps asking for replays is closed 1013 within its byte budget', async () => {
      const budget = 256 * 1024;
      let overflow!: (e: { bufferedAmount: number }) => void;
      const closedSlow = new Promise<{ bufferedAmount: number }>((r) => {
        overflow = r;
      });
      const f = await setup({
        backpressure: { softLimitBytes: 32 * 1024, hardLimitBytes: budget },
        limits: { rate: { burst: 1000, perSecond: 1000, floodThreshold: 10_000 } },
        metrics: (e) => {
          if (e.type === 'slow_consumer') overflow(e);
        },
      });
      const text = 'x'.repeat(8000);
      for (let i = 0; i < 60; i++) await f.server.hub.publish('c1', { text });
      const bob = await f.connect('bob', { cursors: { c1: { seq: 60 } } });
      socketOf(bob).pause();
      // Each answer is a ~100 KB replay; 200 of them are far more than the kernel buffers take.
      let max = 0;
      const sample = setInterval(() => {
        max = Math.max(max, f.server.hub.stats().bufferedBytes);
      }, 1);
      for (let i = 0; i < 200; i++) {
        bob.send({ type: 'sync', ref: `s${i}`, conversationId: 'c1', after: 48 });
      }
      const slow = await closedSlow;
      clearInterval(sample);
      expect(slow.bufferedAmount).toBeLessThanOrEqual(budget);
      expect(max).toBeLessThanOrEqual(budget);
      expect(f.server.hub.stats().slowConsumerCloses).toBe(1);
      socketOf(bob).resume();
      expect((await bob.closed).code).toBe(1013);
    });

    it('7: malformed frames count against the rate limit; a malformed flood is closed 4429', async () => {
      const f = await setup({ limits: { rate: { burst: 5, perSecond: 1, floodThreshold: 20 } } });
      const alice = await f.connect('alice');
      for (let i = 0; i < 200; i++) alice.sendRaw(i % 2 === 0 ? '{not json' : '{"type":"nope"}');
      expect((await alice.closed).code).toBe(4429);
      const answers = alice.frames.filter((x) => x.type === 'error');
      expect(answers.filter((e) => e.code !== 'rate_limited').length).toBeLessThanOrEqual(6);
      expect(f.server.hub.stats().rateLimited).toBeGreaterThan(0);
    });

    it('8: a user holds at most limits.maxSocketsPerUser sockets; one more is closed 4409', async () => {
      const f = await setup({ limits: { maxSocketsPerUser: 3 } });
      const open = [await f.connect('alice'), await f.connect('alice'), await f.connect('alice')];
      const extra = await f.connect('alice', { hello: false });
      extra.send({ type: 'hello', protocol: 1, token: 'alice' });
      expect((await extra.closed).code).toBe(4409);
      expect(extra.frames.filter((x) => x.type === 'welcome')).toEqual([]);
      await open[0]!.close();
      // A slot is free again once a socket closed.
      const later = await f.connect('alice');
      expect(later.welcome.user.id).toBe('alice');
    });

    it('9: session start has a deadline: a hung authenticate or conversationsOf closes 1013', async () => {
      for (const where of ['authenticate', 'conversationsOf'] as const) {
        const never = new Promise<never>(() => {});
        const f = await setup({
          limits: { sessionStartTimeoutMs: 300 },
          ...(where === 'authenticate'
            ? { authenticate: () => never }
            : { conversationsOf: () => never }),
        });
        const c = await f.connect('alice', { hello: false });
        c.send({ type: 'hello', protocol: 1, token: 'alice' });
        const closed = await Promise.race([
          c.closed,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000)),
        ]);
        expect(closed, where).toEqual({ code: 1013, reason: 'session start timeout' });
      }
    });

    it('11: only the validated profile is used: no id override, no extra fields, a refresh is validated too', async () => {
      const f = await setup({
        authenticate: ({ token }) => {
          if (!token) return null;
          const [userId, variant] = token.split(':');
          if (variant === 'long') return { userId: userId!, profile: { name: 'n'.repeat(300) } };
          return {
            userId: userId!,
            profile: { id: 'mallory', name: 'Bob', email: 'bob@example.com' } as never,
          };
        },
      });
      const bob = await f.connect('bob');
      const alice = await f.connect('alice');
      expect(bob.welcome.user).toEqual({ id: 'bob', name: 'Bob' });
      bob.send({ type: 'send', ref: 'm', conversationId: 'c1', clientMsgId: 'm1', text: 'hi' });
      const got = await alice.next(is('message'));
      expect(got.message.sender).toEqual({ name: 'Bob' });
      expect(JSON.stringify(alice.raw)).not.toContain('bob@example.com');
      bob.send({ type: 'auth', ref: 'a', token: 'bob:long' });
      const answer = await bob.next(
        (x): x is ServerFrame => (x.type === 'authed' || x.type === 'error') && x.ref === 'a',
      );
      expect(answer.type).toBe('error');
      bob.send({ type: 'send', ref: 'm2', conversationId: 'c1', clientMsgId: 'm2', text: 'again' });
      const second = await alice.next(is('message'));
      expect(second.message.sender).toEqual({ name: 'Bob' });
    });

    it('12: text length is counted in code points by the hub too; an invalid persist result is rejected, never internal', async () => {
      let mode: 'enrich' | 'invalid' = 'enrich';
      const f = await setup({
        persist: (d) =>
          mode === 'enrich' ? { id: `app-${d.clientMsgId}` } : { text: 'y'.repeat(10_001) },
      });
      const alice = await f.connect('alice');
      const text = '😀'.repeat(5001); // 10,002 UTF-16 units, 5,001 code points
      alice.send({ type: 'send', ref: 'e', conversationId: 'c1', clientMsgId: 'e1', text });
      const ack = await alice.next(
        (x): x is ServerFrame => (x.type === 'ack' || x.type === 'error') && x.ref === 'e',
      );
      expect(ack.type).toBe('ack');
      const m = await f.server.hub.publish('c1', { text });
      expect(m.text).toBe(text);
      await expect(f.server.hub.publish('c1', { text: '😀'.repeat(10_001) })).rejects.toThrow(
        /text/,
      );
      mode = 'invalid';
      alice.send({ type: 'send', ref: 'i', conversationId: 'c1', clientMsgId: 'i1', text: 'x' });
      expect(await alice.next(is('error', (e) => e.ref === 'i'))).toMatchObject({
        code: 'rejected',
        clientMsgId: 'i1',
      });
    });

    it('13: a refresh that returns the same still-valid token does not trigger a reauth storm', async () => {
      const f = await setup({
        auth: { refreshLeadMs: 60_000 },
        limits: { rate: { burst: 1000, perSecond: 1000, floodThreshold: 10_000 } },
      });
      const token = `alice@${Date.now() + 30_000}`;
      const alice = await f.connect('alice', { token });
      let reauths = 0;
      const until = Date.now() + 1000;
      while (Date.now() < until) {
        const r = await alice
          .next(is('reauth'), Math.max(1, until - Date.now()))
          .catch(() => undefined);
        if (r === undefined) break;
        reauths++;
        alice.send({ type: 'auth', ref: `a${reauths}`, token });
        await alice.next(is('authed'));
      }
      expect(reauths).toBeLessThanOrEqual(2);
      expect(alice.closeInfo).toBeUndefined();
    });

    it('every frame of a conversation the user left stops at `left`', async () => {
      const f = await setup();
      const bob = await f.connect('bob');
      f.members.c1 = ['alice'];
      await f.server.hub.leave('c1', ['bob']);
      await f.server.hub.publish('c1', { text: 'after leave' });
      await bob.next(is('left'));
      await bob.barrier();
      const frames = framesOf(bob, 'c1');
      expect(frames.at(-1)).toEqual({ type: 'left', conversationId: 'c1' });
    });
  });
}

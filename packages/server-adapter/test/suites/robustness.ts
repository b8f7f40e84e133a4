/** Bad input, limits, backpressure, heartbeat, origin, auth failures and graceful shutdown. */
import net from 'node:net';
import type { ServerFrame } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../src/errors.js';
import { is, TestClient } from '../utils/client.js';
import { inProcessIt, type SuiteEnv, useFixture } from '../utils/fixture.js';

export function robustnessSuite(env: SuiteEnv): void {
  describe('robustness', () => {
    const setup = useFixture(env);
    const local = inProcessIt(env);

    it('answers malformed JSON, unknown types and invalid fields with error frames and stays up', async () => {
      const f = await setup();
      const alice = await f.connect('alice');
      const bob = await f.connect('bob');
      alice.sendRaw('{not json');
      expect(await alice.next(is('error'))).toMatchObject({ code: 'invalid_frame' });
      alice.sendAny({ type: 'teleport', ref: 't1' });
      expect(await alice.next(is('error'))).toMatchObject({
        code: 'unknown_type',
        field: 'type',
        ref: 't1',
      });
      alice.send({ type: 'send', ref: 's1', conversationId: '', clientMsgId: 'x', text: 'hi' });
      expect(await alice.next(is('error'))).toMatchObject({
        code: 'invalid_frame',
        field: 'conversationId',
        ref: 's1',
      });
      alice.send({
        type: 'send',
        ref: 's2',
        conversationId: 'c1',
        clientMsgId: 'x',
        text: 'y'.repeat(10_001),
      });
      expect(await alice.next(is('error'))).toMatchObject({
        code: 'too_large',
        field: 'text',
        ref: 's2',
      });
      alice.sendRaw(Buffer.from([0xff, 0xfe, 0x00]));
      expect(await alice.next(is('error'))).toMatchObject({ code: 'invalid_frame' });
      alice.send({ type: 'hello', protocol: 1, token: 'alice' });
      expect(await alice.closed).toMatchObject({ code: 4400 });
      await f.server.hub.publish('c1', { text: 'still fine' });
      expect((await bob.next(is('message'))).message.text).toBe('still fine');
    });

    it('closes oversize frames with 1009 without affecting other clients', async () => {
      const f = await setup({ limits: { maxFrameBytes: 2048 } });
      const alice = await f.connect('alice');
      const bob = await f.connect('bob');
      expect(bob.welcome.limits.maxFrameBytes).toBe(2048);
      alice.send({
        type: 'send',
        conversationId: 'c1',
        clientMsgId: 'big',
        text: 'x'.repeat(4000),
      });
      expect((await alice.closed).code).toBe(1009);
      await f.server.hub.publish('c1', { text: 'ok' });
      expect((await bob.next(is('message'))).message.text).toBe('ok');
    });

    it('closes frames before hello with 4401, an invalid hello with 4400, a silent client with 4408', async () => {
      const f = await setup();
      const early = await f.connect('alice', { hello: false });
      early.send({ type: 'send', conversationId: 'c1', clientMsgId: 'm', text: 'hi' });
      expect((await early.closed).code).toBe(4401);
      const bad = await f.connect('alice', { hello: false });
      bad.sendAny({ type: 'hello', token: 'alice' });
      expect((await bad.closed).code).toBe(4400);
      const notANumber = await f.connect('alice', { hello: false });
      notANumber.sendAny({ type: 'hello', protocol: '1', token: 'alice' });
      expect((await notANumber.closed).code).toBe(4400);
      const junk = await f.connect('alice', { hello: false });
      junk.sendRaw('nonsense');
      expect((await junk.closed).code).toBe(4400);
      const g = await setup({ limits: { helloTimeoutMs: 100 } });
      const silent = await g.connect('alice', { hello: false });
      expect(await silent.closed).toEqual({ code: 4408, reason: 'hello timeout' });
    });

    it('closes a hello for another protocol version with 4406, with or without a subprotocol (issue 19)', async () => {
      const f = await setup();
      for (const protocols of [[], ['parley.v1']]) {
        const c = await f.connect('alice', { hello: false, protocols });
        c.sendAny({ type: 'hello', protocol: 2, token: 'alice' });
        expect(await c.closed).toEqual({ code: 4406, reason: 'unsupported protocol version' });
        expect(c.take(is('welcome'))).toEqual([]);
      }
    });

    it('closes unknown subprotocols with 4406; a client offering none is accepted', async () => {
      const f = await setup();
      const other = await f.connect('alice', { hello: false, protocols: ['graphql-ws'] });
      expect((await other.closed).code).toBe(4406);
      const none = await f.connect('x', { hello: false, protocols: [] });
      none.send({ type: 'hello', protocol: 1, token: 'alice' });
      await none.next(is('welcome'));
    });

    local('refuses bad credentials (4401) or banned users (4403)', async () => {
      const f = await setup({
        authenticate: ({ token }) => {
          if (token === 'banned') throw new ForbiddenError('banned');
          if (token === 'boom') throw new Error('auth service down');
          return token === 'alice' ? { userId: 'alice' } : null;
        },
      });
      for (const [token, code] of [
        ['nobody', 4401],
        ['banned', 4403],
        ['boom', 1011],
      ] as const) {
        const c = await f.connect(token, { hello: false });
        c.send({ type: 'hello', protocol: 1, token });
        expect((await c.closed).code).toBe(code);
      }
    });

    it('authenticates from a cookie of the upgrade request', async () => {
      const f = await setup();
      const c = await f.connect('ignored', {
        hello: false,
        headers: { cookie: 'theme=dark; session=bob' },
      });
      c.send({ type: 'hello', protocol: 1 });
      expect((await c.next(is('welcome'))).user.id).toBe('bob');
    });

    it('enforces maxConversationsPerUser at connect (4403) and on hub.join (forbidden error)', async () => {
      const f = await setup({ limits: { maxConversationsPerUser: 1 } });
      const alice = await f.connect('alice', { hello: false });
      alice.send({ type: 'hello', protocol: 1, token: 'alice' });
      expect(await alice.closed).toEqual({ code: 4403, reason: 'too many conversations' });
      const bob = await f.connect('bob');
      await f.server.hub.join('c3', ['bob']);
      expect(await bob.next(is('error'))).toMatchObject({
        code: 'forbidden',
        conversationId: 'c3',
      });
      expect(bob.take(is('joined'))).toEqual([]);
    });

    it('refuses origins outside the allow-list with HTTP 403', async () => {
      const f = await setup({ origins: ['https://app.example'] });
      await expect(
        TestClient.connect(f.server.url, { token: 'alice', origin: 'https://evil.example' }),
      ).rejects.toThrow('HTTP 403');
      const ok = await f.connect('alice', { origin: 'https://app.example' });
      expect(ok.welcome.user.id).toBe('alice');
    });

    it('rate limits per connection with retryAfterMs and closes a flood with 4429', async () => {
      const f = await setup({ limits: { rate: { burst: 3, perSecond: 1, floodThreshold: 20 } } });
      const alice = await f.connect('alice');
      const bob = await f.connect('bob');
      for (let i = 0; i < 4; i++)
        alice.send({ type: 'read', ref: `r${i}`, conversationId: 'c1', seq: 1 });
      const err = await alice.next(is('error'));
      expect(err).toMatchObject({ code: 'rate_limited', ref: 'r3' });
      expect(err.retryAfterMs).toBeGreaterThan(0);
      for (let i = 0; i < 50; i++)
        alice.send({ type: 'typing', conversationId: 'c1', state: 'start' });
      const { code } = await alice.closed;
      if (env.remote?.dropsCloseDuringBurst) expect([4429, 1006]).toContain(code);
      else expect(code).toBe(4429);
      expect((await f.stats()).rateLimited).toBeGreaterThan(20);
      await bob.barrier();
    });

    it('closes a slow consumer with 1013 before its buffer passes the hard limit; it resumes without loss', async () => {
      const hard = 64 * 1024;
      const f = await setup({
        backpressure: { softLimitBytes: 16 * 1024, hardLimitBytes: hard },
        limits: { maxReplay: 100_000 },
      });
      const bob = await f.connect('bob');
      const alice = await f.connect('alice');
      // Stop reading: the server's send buffer grows once the kernel buffers are full.
      (bob.ws as unknown as { _socket: net.Socket })._socket.pause();
      let slow = false;
      void f.logger.waitFor('slow consumer').then(() => {
        slow = true;
      });
      const text = 'x'.repeat(9000);
      let sent = 0;
      while (!slow && sent < 20_000) {
        await f.server.hub.publish('c1', { text });
        sent++;
        // Let the test process's own clients read (they share this event loop with the server).
        await new Promise((r) => setImmediate(r));
      }
      // With a networked engine the fan-out may lag behind the publishes: wait for the close itself.
      const log = (await f.logger.waitFor('slow consumer')) as { bufferedAmount: number };
      expect(slow).toBe(true);
      expect(log.bufferedAmount).toBeLessThanOrEqual(hard + 10_000);
      // Stored while bob's socket is closing: never sent to it.
      for (let i = 0; i < 20; i++) await f.server.hub.publish('c1', { text: 'missed' });
      sent += 20;
      // Other clients are unaffected.
      alice.send({ type: 'typing', conversationId: 'c1', state: 'start' });
      await alice.barrier();
      (bob.ws as unknown as { _socket: net.Socket })._socket.resume();
      expect((await bob.closed).code).toBe(1013);
      const got = bob.frames.flatMap((x) => (x.type === 'message' ? [x.message.seq] : []));
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
      const last = got.at(-1) ?? 0;
      expect(last).toBeLessThanOrEqual(sent - 20);
      for (let i = 0; i < 3; i++) await f.server.hub.publish('c1', { text: 'after' });
      const again = await f.connect('bob', { cursors: { c1: { seq: last } } });
      const missed = Array.from({ length: sent + 3 - last }, (_, i) => last + i + 1);
      const answer = await again.next(
        (x): x is ServerFrame => x.type === 'replay' || x.type === 'reset',
        10_000,
      );
      if (answer.type === 'replay') {
        expect(answer.messages.map((m) => m.seq)).toEqual(missed);
      } else {
        // The gap is larger than one frame may be (half the byte budget): an explicit reset, and
        // the history still holds every missed message.
        expect(answer).toMatchObject({ reason: 'trimmed', seq: sent + 3 });
        const seqs: number[] = [];
        let before: number | undefined;
        while (seqs.at(0) !== last + 1) {
          again.send({ type: 'history', ref: `h${before}`, conversationId: 'c1', before });
          const page = await again.next(is('history'));
          seqs.unshift(...page.messages.map((m) => m.seq).filter((q) => q > last));
          before = page.messages[0]?.seq;
        }
        expect(seqs).toEqual(missed);
      }
    });

    it('drops ephemeral frames (typing, presence) past the soft limit but keeps messages', async () => {
      const f = await setup({
        backpressure: { softLimitBytes: 1024, hardLimitBytes: 64 * 1024 * 1024 },
        limits: { rate: { burst: 1_000_000, perSecond: 1_000_000 } },
      });
      const bob = await f.connect('bob');
      const alice = await f.connect('alice');
      const socket = (bob.ws as unknown as { _socket: net.Socket })._socket;
      socket.pause();
      const text = 'x'.repeat(9000);
      let sent = 0;
      while ((await f.stats()).droppedEphemeral === 0 && sent < 20_000) {
        await f.server.hub.publish('c1', { text });
        sent++;
        alice.send({ type: 'typing', conversationId: 'c1', state: 'start' });
        await alice.barrier(); // the typing frame was handled
      }
      expect((await f.stats()).droppedEphemeral).toBeGreaterThan(0);
      socket.resume();
      await f.server.hub.publish('c1', { text: 'last' });
      await bob.next(
        is('message', (m) => m.message.text === 'last'),
        10_000,
      );
      const seqs = bob.frames.flatMap((x) => (x.type === 'message' ? [x.message.seq] : []));
      expect(seqs).toEqual(Array.from({ length: sent + 1 }, (_, i) => i + 1));
      expect(bob.frames.filter((x) => x.type === 'typing').length).toBeLessThan(sent);
    });

    it('terminates a link that stops answering pings', async () => {
      // A generous timeout so that the live client's pongs make it even on a busy machine.
      const f = await setup({ heartbeat: { intervalMs: 30, timeoutMs: 400 } });
      const alive = await f.connect('alice');
      const dead = await f.connect('bob', { autoPong: false });
      expect(dead.welcome.heartbeat).toEqual({ intervalMs: 30, timeoutMs: 400 });
      // Terminated: the TCP connection dropped (1006), or closed where the runtime cannot drop it.
      expect((await dead.closed).code).toBe(env.remote?.terminateCode ?? 1006);
      await alive.pinged(3);
      await alive.barrier();
      expect((await f.stats()).heartbeatTimeouts).toBe(1);
    });

    it('hub.close() sends shutdown, closes every socket with 1012 and leaves nothing listening', async () => {
      const f = await setup({
        shutdown: { batchSize: 2, batchIntervalMs: 5, retryJitterMs: 1000 },
      });
      const clients = [
        await f.connect('alice'),
        await f.connect('bob'),
        await f.connect('carol'),
        await f.connect('dave'),
      ];
      const pending = await f.connect('alice', { hello: false });
      const stats = await f.stats();
      expect(stats).toMatchObject({ connections: 5, sessions: 4, users: 4 });
      await f.server.hub.close();
      for (const c of clients) {
        const shutdown = await c.next(is('shutdown'));
        expect(shutdown.retryAfterMs).toBeGreaterThanOrEqual(0);
        expect(shutdown.retryAfterMs).toBeLessThan(1000);
        expect(await c.closed).toEqual({ code: 1012, reason: 'service restart' });
      }
      expect((await pending.closed).code).toBe(1012);
      expect(await f.stats()).toMatchObject({ connections: 0, sessions: 0, closing: true });
      await expect(f.server.hub.publish('c1', { text: 'x' })).rejects.toThrow('closed');
      await f.server.serverClosed();
      const port = Number(new URL(f.server.url).port);
      await expect(
        new Promise((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s.destroy()));
          s.on('error', reject);
        }),
      ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });
  });
}

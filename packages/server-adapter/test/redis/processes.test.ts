/**
 * Issue 13's promises across processes: two hubs (two servers) on one Redis key prefix, so every
 * join, leave, kick and send lease crosses Redis pub/sub and scripts, not a local shortcut.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisEngine } from '../../src/engines/redis/index.js';
import type { HubOptions } from '../../src/hub/options.js';
import { is, TestClient } from '../utils/client.js';
import { held } from '../utils/gate.js';
import { type TServer, tServers } from '../utils/servers.js';
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from './helpers.js';

const available = await requireRedis('issue 13 across processes');

describe.skipIf(!available)(
  'hub × redis: membership changes and sends across two processes',
  () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c();
    });

    async function pair(options: Partial<HubOptions> = {}): Promise<[TServer, TServer]> {
      const keyPrefix = uniquePrefix();
      const members: Record<string, string[]> = { c1: ['alice', 'bob'], c3: ['carol'] };
      const start = async () => {
        const engine = createRedisEngine({ redis: REDIS_URL, keyPrefix });
        const server = await tServers[0]!.start({
          authenticate: ({ token }) => (token ? { userId: token } : null),
          conversationsOf: (u) => Object.keys(members).filter((c) => members[c]!.includes(u)),
          engine,
          ...options,
        });
        cleanup.push(async () => {
          await server.dispose();
          await engine.close();
        });
        return server;
      };
      const servers: [TServer, TServer] = [await start(), await start()];
      cleanup.push(() => deleteKeys(keyPrefix));
      return servers;
    }

    const clients: TestClient[] = [];
    afterEach(() => {
      for (const c of clients.splice(0)) c.terminate();
    });
    const connect = async (server: TServer, token: string, hello = true) => {
      const c = await TestClient.connect(server.url, { token, hello });
      clients.push(c);
      return c;
    };

    it('1: hub.join on one process, publish right after: the socket on the other gets it once', async () => {
      const [a, b] = await pair();
      const bob = await connect(b, 'bob');
      await a.hub.publish('c3', { text: 'before' });
      await a.hub.join('c3', ['bob']);
      const m = await a.hub.publish('c3', { text: 'right after the join' });
      const joined = await bob.next(is('joined', (j) => j.conversationId === 'c3'));
      expect(joined.seq).toBe(m.seq - 1);
      const got = await bob.next(
        (f): f is Extract<typeof f, { type: 'message' | 'replay' }> =>
          (f.type === 'message' && f.message.seq === m.seq) ||
          (f.type === 'replay' && f.messages.some((x) => x.seq === m.seq)),
      );
      expect(got).toBeDefined();
      await bob.barrier();
      const seqs = bob.frames.flatMap((f) =>
        f.type === 'message' && f.message.conversationId === 'c3'
          ? [f.message.seq]
          : f.type === 'replay' && f.conversationId === 'c3'
            ? f.messages.map((x) => x.seq)
            : [],
      );
      expect(seqs).toEqual([m.seq]);
    });

    it('3: a ban on one process while the session starts on the other closes it (4403)', async () => {
      const gate = held();
      const [a, b] = await pair({
        authenticate: async ({ token }) => {
          if (token === 'bob') await gate.hold();
          return token ? { userId: token } : null;
        },
      });
      const bob = await connect(b, 'bob', false);
      bob.send({ type: 'hello', protocol: 1, token: 'bob' });
      await gate.reached;
      await a.hub.disconnectUser('bob', { reason: 'banned' });
      gate.open();
      expect(await bob.closed).toEqual({ code: 4403, reason: 'banned' });
    });

    it('5: a retry reaching the other process while persist runs calls persist once', async () => {
      const slow = held();
      let calls = 0;
      const [a, b] = await pair({
        persist: async () => {
          if (++calls === 1) await slow.hold();
          return undefined;
        },
      });
      const first = await connect(a, 'alice');
      const retry = await connect(b, 'alice');
      const send = { type: 'send', conversationId: 'c1', clientMsgId: 'k1', text: 'once' } as const;
      first.send({ ...send, ref: 'first' });
      await slow.reached;
      retry.send({ ...send, ref: 'retry' });
      const busy = await retry.next(is('error', (e) => e.ref === 'retry'));
      expect(busy).toMatchObject({ code: 'unavailable', clientMsgId: 'k1' });
      // The lease's time left (persistTimeoutMs 10 s + 5 s, just taken): when a retry may take over.
      expect(busy.retryAfterMs).toBeGreaterThan(10_000);
      expect(busy.retryAfterMs).toBeLessThanOrEqual(15_000);
      slow.open();
      const ack = await first.next(is('ack', (x) => x.ref === 'first'));
      retry.send({ ...send, ref: 'again' });
      expect(await retry.next(is('ack', (x) => x.ref === 'again'))).toMatchObject({
        duplicate: true,
        message: ack.message,
      });
      expect(calls).toBe(1);
    });

    it('8: the socket cap counts sockets on every process', async () => {
      const [a, b] = await pair({ limits: { maxSocketsPerUser: 2 } });
      await connect(a, 'alice');
      await connect(b, 'alice');
      const third = await connect(a, 'alice', false);
      third.send({ type: 'hello', protocol: 1, token: 'alice' });
      expect((await third.closed).code).toBe(4409);
    });
  },
);

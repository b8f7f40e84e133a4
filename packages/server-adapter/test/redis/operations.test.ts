/**
 * Edit, delete and react across two processes (two hubs, two servers, one Redis key prefix):
 * fan-out, concurrent reactions from both, a retry reaching the other process while the app's
 * `persistOperation` runs, and the final state for a client that was offline.
 */
import type { ServerFrame } from '@parley/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine } from '../../src/engines/redis/index.js';
import type { HubOptions } from '../../src/hub/options.js';
import { is, TestClient } from '../utils/client.js';
import { held } from '../utils/gate.js';
import { type TServer, tServers } from '../utils/servers.js';
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from './helpers.js';

const available = await requireRedis('operations across processes');

type Answer = Extract<ServerFrame, { type: 'ack' | 'error' }>;
const answer = (c: TestClient, ref: string) =>
  c.next((f): f is Answer => (f.type === 'ack' || f.type === 'error') && f.ref === ref);

describe.skipIf(!available)('hub × redis: edit, delete and react across two processes', () => {
  const cleanup: (() => Promise<void>)[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function pair(options: Partial<HubOptions> = {}): Promise<[TServer, TServer]> {
    const keyPrefix = uniquePrefix();
    const members: Record<string, string[]> = { c1: ['alice', 'bob', 'carol'] };
    const start = async () => {
      const engine = createRedisEngine({ redis: REDIS_URL, keyPrefix });
      const server = await tServers[0]!.start({
        authenticate: ({ token }) => (token ? { userId: token } : null),
        conversationsOf: (u) => Object.keys(members).filter((c) => members[c]!.includes(u)),
        limits: { rate: { burst: 500, perSecond: 500 } },
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
  const connect = async (server: TServer, token: string, cursors = {}) => {
    const c = await TestClient.connect(server.url, { token, cursors });
    clients.push(c);
    return c;
  };

  it('an edit and a delete on one process reach the other; concurrent reactions from both all count; an offline client resumes to the final state', async () => {
    const [a, b] = await pair();
    const alice = await connect(a, 'alice');
    const bob = await connect(b, 'bob');
    const carol = await connect(b, 'carol');
    alice.send({ type: 'send', ref: 's', conversationId: 'c1', clientMsgId: 'm1', text: 'v1' });
    await answer(alice, 's');
    alice.send({ type: 'send', ref: 's2', conversationId: 'c1', clientMsgId: 'm2', text: 'bye' });
    await answer(alice, 's2');
    await carol.next(is('message', (m) => m.message.seq === 2));
    const epoch = carol.welcome.conversations[0]!.epoch;
    await carol.close();

    alice.send({
      type: 'edit',
      ref: 'e',
      conversationId: 'c1',
      clientMsgId: 'e1',
      target: 1,
      text: 'v2',
    });
    const edit = await answer(alice, 'e');
    expect(edit).toMatchObject({ type: 'ack', message: { kind: 'edit', seq: 3, text: 'v2' } });
    const live = await bob.next(is('message', (m) => m.message.seq === 3));
    expect(live.message).toEqual((edit as Extract<Answer, { type: 'ack' }>).message);

    // 10 reactions from each process at once: every one is stored and counted.
    const reacts = [alice, bob].flatMap((c, i) =>
      Array.from({ length: 10 }, (_, j) => {
        const ref = `r${i}-${j}`;
        c.send({
          type: 'react',
          ref,
          conversationId: 'c1',
          clientMsgId: ref,
          target: 1,
          emoji: `:e${j}:`,
          on: true,
        });
        return answer(c, ref);
      }),
    );
    const answers = await Promise.all(reacts);
    expect(answers.every((x) => x.type === 'ack')).toBe(true);
    bob.send({ type: 'delete', ref: 'd', conversationId: 'c1', clientMsgId: 'd1', target: 2 });
    expect(await answer(bob, 'd')).toMatchObject({ type: 'error', code: 'forbidden' });
    alice.send({ type: 'delete', ref: 'd', conversationId: 'c1', clientMsgId: 'd1', target: 2 });
    expect(await answer(alice, 'd')).toMatchObject({ type: 'ack', message: { seq: 24 } });
    await bob.next(is('message', (m) => m.message.seq === 24));

    // Carol was offline for all of it: back on the other process with her cursor, then fresh.
    const back = await connect(a, 'carol', { c1: { seq: 2, epoch } });
    const replay = await back.next(is('replay'));
    expect(replay.messages.map((m) => m.seq)).toEqual(Array.from({ length: 22 }, (_, i) => i + 3));
    const fresh = await connect(b, 'carol', { c1: { seq: 0 } });
    const full = (await fresh.next(is('replay'))).messages;
    expect(full[0]).toMatchObject({ seq: 1, text: 'v2', editedAt: expect.any(Number) });
    for (let j = 0; j < 10; j++) {
      expect([...full[0]!.reactions![`:e${j}:`]!].sort()).toEqual(['alice', 'bob']);
    }
    expect(full[1]).toMatchObject({ seq: 2, text: '', deleted: true, version: 24 });
    expect(full[0]!.version).toBeGreaterThan(3);
  });

  it('a retry reaching the other process while persistOperation runs calls it once', async () => {
    const gate = held();
    let calls = 0;
    const [a, b] = await pair({
      persistOperation: async () => {
        if (++calls === 1) await gate.hold();
        return undefined;
      },
    });
    const first = await connect(a, 'alice');
    const retry = await connect(b, 'alice');
    first.send({ type: 'send', ref: 's', conversationId: 'c1', clientMsgId: 'm1', text: 'x' });
    await answer(first, 's');
    const edit = {
      type: 'edit',
      conversationId: 'c1',
      clientMsgId: 'k1',
      target: 1,
      text: 'y',
    } as const;
    first.send({ ...edit, ref: 'first' });
    await gate.reached;
    retry.send({ ...edit, ref: 'retry' });
    expect(await answer(retry, 'retry')).toMatchObject({
      type: 'error',
      code: 'unavailable',
      // The lease's remaining time (persistTimeoutMs + margin), at least 1 s.
      retryAfterMs: expect.any(Number),
      clientMsgId: 'k1',
    });
    gate.open();
    const ack = await answer(first, 'first');
    expect(ack).toMatchObject({ type: 'ack', duplicate: false });
    retry.send({ ...edit, ref: 'again' });
    expect(await answer(retry, 'again')).toMatchObject({
      type: 'ack',
      duplicate: true,
      message: (ack as Extract<Answer, { type: 'ack' }>).message,
    });
    expect(calls).toBe(1);
  });
});

describe.skipIf(!available)('redis engine: a hot message', () => {
  it('150 reactions at once from 3 instances on one message: every one stored and counted', async () => {
    const keyPrefix = uniquePrefix();
    const engines: RedisEngine[] = [0, 1, 2].map(() =>
      createRedisEngine({ redis: REDIS_URL, keyPrefix }),
    );
    try {
      const c = 'hot';
      const base = { conversationId: c, kind: 'user' as const, createdAt: Date.now() };
      await engines[0]!.append({
        draft: { ...base, id: 'm', clientMsgId: 'm', senderId: 'alice', text: 'vote' },
      });
      const users = Array.from({ length: 150 }, (_, i) => `u${i}`);
      const results = await Promise.all(
        users.map((u, i) =>
          engines[i % 3]!.applyOperation({
            draft: {
              ...base,
              id: `r-${u}`,
              clientMsgId: `r-${u}`,
              senderId: u,
              kind: 'reaction',
              text: '',
              target: 1,
              reaction: { emoji: i % 2 === 0 ? '👍' : '🎉', on: true },
            },
          }),
        ),
      );
      expect(results.filter((r) => r.state !== 'stored')).toEqual([]);
      const target = (await engines[1]!.message(c, 1))!;
      expect(target.reactions!['👍']!.length + target.reactions!['🎉']!.length).toBe(150);
      expect(target.version).toBe(151);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
      await deleteKeys(keyPrefix);
    }
  });
});

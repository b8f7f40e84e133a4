/**
 * FLUSHALL while clients are connected, through a real hub on a private redis-server: clients get
 * `reset` (never a hang, never a silent hole), and the hub keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine } from '../../src/engines/redis/index.js';
import { is, TestClient } from '../utils/client.js';
import { type TServer, tServers } from '../utils/servers.js';
import { freePort, type PrivateRedis, privateRedis, requirePrivateRedis } from './helpers.js';

const available = await requirePrivateRedis('hub over a flushed redis');

describe.skipIf(!available)('hub × redis engine: FLUSHALL while connected', () => {
  let redis: PrivateRedis;
  let engine: RedisEngine;
  let server: TServer;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = privateRedis(await freePort());
    await redis.start();
    engine = createRedisEngine({ redis: redis.url });
    server = await tServers[0]!.start({
      authenticate: ({ token }) => (token ? { userId: token } : null),
      conversationsOf: () => ['c1'],
      membersOf: () => ['alice', 'bob'],
      engine,
    });
  });
  afterAll(async () => {
    for (const c of clients) c.terminate();
    await server?.dispose();
    await engine?.close();
    await redis?.kill();
  });

  const connect = async (
    token: string,
    cursors?: Record<string, { seq: number; epoch?: string }>,
  ) => {
    const c = await TestClient.connect(server.url, {
      token,
      ...(cursors === undefined ? {} : { cursors }),
    });
    clients.push(c);
    return c;
  };

  // The hub compares the epoch carried by live message envelopes (`MessageEnvelope.epoch`); without
  // that, a connected socket would drop seq 1 of the new history as already delivered.
  it('a connected client gets reset(epoch_changed) with the next live message, not a silent hole', async () => {
    const bob = await connect('bob');
    const epoch1 = bob.welcome.conversations[0]!.epoch;
    for (let i = 1; i <= 3; i++) await server.hub.publish('c1', { text: `m${i}` });
    await bob.next(is('message', (f) => f.message.seq === 3));

    await engine.redis.flushall();
    await server.hub.publish('c1', { text: 'after flush' });
    const reset = await bob.next(is('reset'), 2000);
    expect(reset).toMatchObject({ conversationId: 'c1', reason: 'epoch_changed' });
    expect(reset.epoch).not.toBe(epoch1);
    const after = await bob.next(is('message', (f) => f.message.text === 'after flush'));
    expect(after.message.seq).toBe(1);
    // The reset came first, so the client's cursor continues without a hole.
    expect(bob.frames.indexOf(reset)).toBeLessThan(bob.frames.indexOf(after));
    // Bob had 3 unread before the flush; the store forgot them and his read position: the count
    // at the reset's seq follows (a `read` for himself), so the client does not keep the stale 3.
    const counted = await bob.next(
      is('read', (f) => f.userId === 'bob'),
      2000,
    );
    expect(counted).toMatchObject({
      conversationId: 'c1',
      seq: 0,
      unread: { count: 0, at: reset.seq },
    });
  });

  it('a client resuming with a cursor from before the flush gets reset, and the hub keeps serving', async () => {
    const alice = await connect('alice');
    const epoch1 = alice.welcome.conversations[0]!.epoch;
    for (let i = 1; i <= 3; i++) await server.hub.publish('c1', { text: `m${i}` });
    const seq = (await alice.next(is('message', (f) => f.message.text === 'm3'))).message.seq;
    alice.terminate();

    await engine.redis.flushall();

    const back = await connect('alice', { c1: { seq, epoch: epoch1 } });
    const reset = await back.next(is('reset'));
    expect(reset).toMatchObject({ conversationId: 'c1', reason: 'epoch_changed', seq: 0 });
    expect(reset.epoch).not.toBe(epoch1);
    expect(back.welcome.conversations[0]).toMatchObject({ seq: 0, epoch: reset.epoch });
    back.send({
      type: 'send',
      ref: 's',
      conversationId: 'c1',
      clientMsgId: 'x',
      text: 'still serving',
    });
    expect((await back.next(is('ack'))).message).toMatchObject({ seq: 1, text: 'still serving' });
  });
});

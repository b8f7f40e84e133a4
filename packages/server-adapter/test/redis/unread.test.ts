/**
 * Issue 16 across processes: unread counts, reads and metadata with two hubs on one Redis key
 * prefix — the reader's devices on different processes, the writer on a third connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisEngine } from '../../src/engines/redis/index.js';
import { is, TestClient } from '../utils/client.js';
import { type TServer, tServers } from '../utils/servers.js';
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from './helpers.js';

const available = await requireRedis('issue 16 unread across processes');

describe.skipIf(!available)('hub × redis: unread counts across two processes', () => {
  const cleanup: (() => Promise<void>)[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function pair(): Promise<[TServer, TServer]> {
    const keyPrefix = uniquePrefix();
    const members: Record<string, string[]> = { c1: ['alice', 'bob'] };
    const start = async () => {
      const engine = createRedisEngine({ redis: REDIS_URL, keyPrefix });
      const server = await tServers[0]!.start({
        authenticate: ({ token }) => (token ? { userId: token } : null),
        conversationsOf: (u) => Object.keys(members).filter((c) => members[c]!.includes(u)),
        conversationMeta: (ids) => Object.fromEntries(ids.map((id) => [id, { title: id }])),
        engine,
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
  const connect = async (server: TServer, token: string) => {
    const c = await TestClient.connect(server.url, { token });
    clients.push(c);
    return c;
  };
  const row = (c: TestClient) => c.welcome.conversations.find((x) => x.id === 'c1')!;

  it('counts, reads on another device, a fresh device and the inbox agree on both processes', async () => {
    const [a, b] = await pair();
    const bob = await connect(b, 'bob');
    for (const t of ['m1', 'm2', 'm3', 'm4']) {
      bob.send({ type: 'send', ref: t, conversationId: 'c1', clientMsgId: t, text: t });
      await bob.next(is('ack', (f) => f.ref === t));
    }
    await a.hub.publish('c1', { text: 'system 5' });
    const phone = await connect(a, 'alice');
    const laptop = await connect(b, 'alice');
    expect(row(phone)).toMatchObject({ seq: 5, readSeq: 0, unread: 5 });
    expect(row(laptop)).toMatchObject({ seq: 5, readSeq: 0, unread: 5 });
    // Bob's own messages are not unread for him (sending marks read); the system one after is.
    const bob2 = await connect(a, 'bob');
    expect(row(bob2)).toMatchObject({ readSeq: 4, unread: 1 });
    // A read on the phone (process a) reaches the laptop (process b) with the count.
    phone.send({ type: 'read', conversationId: 'c1', seq: 3 });
    expect(await laptop.next(is('read'))).toMatchObject({
      userId: 'alice',
      seq: 3,
      unread: { count: 2, at: 5 },
    });
    expect((await bob.next(is('read'))).unread).toBeUndefined();
    // A fresh device and the server-side summary agree.
    const tablet = await connect(b, 'alice');
    expect(row(tablet)).toMatchObject({ readSeq: 3, unread: 2 });
    const [inbox] = await a.hub.conversationSummary('alice');
    expect(inbox).toMatchObject({
      id: 'c1',
      readSeq: 3,
      unread: 2,
      lastMessage: { seq: 5, text: 'system 5' },
      meta: { title: 'c1' },
    });
    // Metadata changes reach every member socket on both processes.
    await b.hub.updateConversation('c1', { title: 'Renamed' });
    for (const c of [phone, laptop, bob])
      expect(await c.next(is('conversation'))).toMatchObject({ meta: { title: 'Renamed' } });
  });
});

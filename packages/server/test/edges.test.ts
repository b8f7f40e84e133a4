/**
 * Issue 13, items 14 and 15, in-process (`startServer`) against real sockets on 127.0.0.1:
 * claims-mode membership across processes (the offline presence of a user who connected to
 * another process), the claim store's bounds, and the API's path decoding, unknown conversations
 * and duplicate publishes.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { is, TestClient } from '../../server-adapter/test/utils/client.js';
import { memoryClaimStore } from '../src/claims.js';
import { parseConfig, type ServerConfigInput } from '../src/config.js';
import { createJsonLogger } from '../src/logger.js';
import { type ParleyServer, startServer } from '../src/server.js';
import { API_KEY, api, jwtAuth, startApp, token } from './helpers.js';

const redisUp = await new Promise<boolean>((res) => {
  const s = connect(6379, '127.0.0.1');
  s.once('connect', () => {
    s.destroy();
    res(true);
  });
  s.once('error', () => res(false));
});

const running: ParleyServer[] = [];
const sockets: TestClient[] = [];
afterEach(async () => {
  for (const c of sockets.splice(0)) c.terminate();
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function start(config: Omit<ServerConfigInput, 'auth'>): Promise<ParleyServer> {
  const server = await startServer(
    parseConfig({ host: '127.0.0.1', port: 0, auth: jwtAuth, api: { key: API_KEY }, ...config }),
    { logger: createJsonLogger({ level: 'silent' }) },
  );
  running.push(server);
  return server;
}

async function join(server: ParleyServer, user: string, conversations: string[]) {
  const c = await TestClient.connect(`ws://127.0.0.1:${server.port}/parley`, {
    token: await token(user, { conversations }),
  });
  sockets.push(c);
  return c;
}

describe('14: claims membership is shared by every process (Redis), and bounded', () => {
  it.skipIf(!redisUp)(
    'a user who connected to process A is announced offline by process B',
    async () => {
      const config = {
        engine: {
          type: 'redis' as const,
          url: 'redis://127.0.0.1:6379',
          keyPrefix: `parley-server-edges-${crypto.randomUUID()}:`,
        },
        presence: { graceMs: 50 },
      };
      const [a, b] = [await start(config), await start(config)];
      const carol = await join(b, 'carol', ['r1']);
      const alice = await join(a, 'alice', ['r1']);
      await carol.next(is('presence', (p) => p.userId === 'alice' && p.online));
      // A stops (and with it its sweeps): only B can announce alice's end of the grace period.
      await a.close();
      expect((await alice.closed).code).toBe(1012);
      const off = await carol.next(
        is('presence', (p) => p.userId === 'alice' && !p.online),
        8000,
      );
      expect(typeof off.lastSeenAt).toBe('number');
    },
  );

  it('the in-memory claim store is bounded in count and age', async () => {
    let now = 0;
    const store = memoryClaimStore(3, 1000, () => now);
    for (const u of ['a', 'b', 'c', 'd', 'e']) await store.set(u, [`c-${u}`]);
    expect(store.size).toBe(3);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('e')).toEqual(['c-e']);
    now += 1001;
    expect(await store.get('e')).toBeUndefined();
    await store.set('f', ['c-f']);
    expect(store.size).toBe(1);
  });
});

describe('15: the API answers malformed paths 400, says duplicate, and may refuse unknown conversations', () => {
  it('a malformed %-escape in a path is a 400, not a 500', async () => {
    const s = await start({});
    const r = await api(
      `http://127.0.0.1:${s.apiPort}`,
      'POST',
      '/v1/conversations/%E0%A4%A/messages',
      {
        text: 'x',
      },
    );
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'invalid_path' } } });
  });

  it('a repeated publish with the same clientMsgId answers 200 duplicate with the original', async () => {
    const s = await start({});
    const base = `http://127.0.0.1:${s.apiPort}`;
    const body = { text: 'deploy done', clientMsgId: 'webhook-77' };
    const first = await api(base, 'POST', '/v1/conversations/d1/messages', body);
    expect(first).toMatchObject({ status: 201, body: { duplicate: false } });
    const again = await api(base, 'POST', '/v1/conversations/d1/messages', body);
    expect(again).toMatchObject({ status: 200, body: { duplicate: true } });
    expect(again.body.message).toEqual(first.body.message);
  });

  it('api.unknownConversations: create (default) creates; reject answers 404 until it has members', async () => {
    const open = await start({});
    const created = await api(
      `http://127.0.0.1:${open.apiPort}`,
      'POST',
      '/v1/conversations/new1/messages',
      {
        text: 'hello',
      },
    );
    expect(created.status).toBe(201);
    const strict = await start({
      api: { key: API_KEY, unknownConversations: 'reject' },
    });
    const base = `http://127.0.0.1:${strict.apiPort}`;
    const refused = await api(base, 'POST', '/v1/conversations/nobody/messages', { text: 'x' });
    expect(refused).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(
      (await api(base, 'POST', '/v1/conversations/nobody/join', { userIds: ['bob'] })).status,
    ).toBe(200);
    expect(
      (await api(base, 'POST', '/v1/conversations/nobody/messages', { text: 'x' })).status,
    ).toBe(201);
  });

  it('with a members callback, a 404 from it means the conversation does not exist', async () => {
    const app = await startApp({
      '/conversations': () => [200, { conversationIds: [] }],
      '/members': (body) =>
        body.conversationId === 'real' ? [200, { userIds: ['alice'] }] : [404, { error: 'none' }],
    });
    try {
      const s = await start({
        api: { key: API_KEY, unknownConversations: 'reject' },
        membership: {
          mode: 'callback',
          conversationsUrl: `${app.url}/conversations`,
          membersUrl: `${app.url}/members`,
        },
      });
      const base = `http://127.0.0.1:${s.apiPort}`;
      expect(
        (await api(base, 'POST', '/v1/conversations/ghost/messages', { text: 'x' })).status,
      ).toBe(404);
      expect(
        (await api(base, 'POST', '/v1/conversations/real/messages', { text: 'x' })).status,
      ).toBe(201);
    } finally {
      await app.close();
    }
  });
});

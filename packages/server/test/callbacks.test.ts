/**
 * The app's HTTP callbacks through the CLI: auth by callback, membership by callback (cached),
 * persistence (own id, rejection as a typed error, idempotency key), read receipts, and the app
 * being down: the message stays pending (not acked, not lost) and is delivered once it is back.
 */
import { ServerError } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { idempotencyKey } from '../src/hooks.js';
import {
  API_KEY,
  type App,
  api,
  type Cli,
  client,
  closeClients,
  killAll,
  opened,
  rawHello,
  startApp,
  startCli,
  waitFor,
} from './helpers.js';

const CALLBACK_SECRET = 'callback-secret';
const members: Record<string, string[]> = { c1: ['alice', 'bob'], c2: ['carol'] };
const stored = new Map<string, { id: string; text: string }>();
let app: App;
let cli: Cli;

beforeAll(async () => {
  app = await startApp({
    '/auth': (body, req) => {
      if (req.headers.authorization !== `Bearer ${CALLBACK_SECRET}`) return [401, {}];
      const t = body.token as string | null;
      if (t === 'banned') return [403, { reason: 'banned' }];
      if (t === null || !t.startsWith('tok-')) return [401, { error: 'bad token' }];
      const userId = t.slice(4);
      return [
        200,
        { userId, profile: { name: `User ${userId}` }, expiresAt: Date.now() + 3_600_000 },
      ];
    },
    '/conversations': (body) => [
      200,
      {
        conversationIds: Object.keys(members).filter((c) =>
          members[c]!.includes(body.userId as string),
        ),
      },
    ],
    '/members': (body) => [200, { userIds: members[body.conversationId as string] ?? [] }],
    '/persist': (body) => {
      const key = body.idempotencyKey as string;
      const message = body.message as { text: string };
      if (message.text.includes('darn')) return [422, { reason: 'no swearing, please' }];
      let row = stored.get(key);
      if (row === undefined) {
        row = { id: `app-${stored.size + 1}`, text: message.text };
        stored.set(key, row);
      }
      return [200, { id: row.id, data: { stored: true } }];
    },
    '/read': () => [204, undefined],
    '/stored': () => [204, undefined],
    '/meta': (body) => [
      200,
      {
        conversations: Object.fromEntries(
          (body.conversationIds as string[]).map((c) => [c, { title: `Room ${c}` }]),
        ),
      },
    ],
  });
  cli = await startCli({
    auth: { mode: 'callback', callback: { url: `${app.url}/auth`, headers: ['x-tenant'] } },
    membership: {
      mode: 'callback',
      conversationsUrl: `${app.url}/conversations`,
      membersUrl: `${app.url}/members`,
      cacheTtlMs: 200,
    },
    persistence: { url: `${app.url}/persist` },
    reads: { url: `${app.url}/read` },
    stored: { url: `${app.url}/stored` },
    meta: { url: `${app.url}/meta` },
    callbacks: { secret: CALLBACK_SECRET, timeoutMs: 1000, retries: 1, backoffMs: 20 },
    api: { key: API_KEY },
  });
});
afterAll(async () => {
  closeClients();
  await killAll();
  await app?.close();
});

describe('auth by callback', () => {
  it('accepts what the app accepts, with its profile', async () => {
    const r = await rawHello(cli.url, 'tok-alice');
    expect(r.frame).toMatchObject({ type: 'welcome', user: { id: 'alice', name: 'User alice' } });
    const call = app.calls.find((c) => c.path === '/auth' && c.body.token === 'tok-alice')!;
    expect(call.body).toMatchObject({ reason: 'hello', headers: {}, cookies: {} });
  });

  it('401 from the app closes with 4401; 403 closes with 4403', async () => {
    expect(await rawHello(cli.url, 'nope')).toEqual({ close: 4401 });
    expect(await rawHello(cli.url, 'banned')).toEqual({ close: 4403 });
  });
});

describe('membership by callback', () => {
  it('subscribes to the conversations the app lists and refuses others with forbidden', async () => {
    const a = client(cli.url, 'tok-alice');
    await opened(a);
    expect(a.conversation('c1').joined).toBe(true);
    const err = await a
      .conversation('c2')
      .send('let me in')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect((err as ServerError).code).toBe('forbidden');
    expect(app.calls.some((c) => c.path === '/conversations' && c.body.userId === 'alice')).toBe(
      true,
    );
  });

  it('an API join after the app added the member takes effect at once (cache invalidated)', async () => {
    const d = client(cli.url, 'tok-dave');
    await opened(d);
    members.c2!.push('dave');
    expect(
      (await api(cli.api, 'POST', '/v1/conversations/c2/join', { userIds: ['dave'] })).status,
    ).toBe(200);
    await waitFor(
      d.conversation('c2'),
      'update',
      () => d.conversation('c2').joined || undefined,
      'dave joined c2',
    );
    await expect(d.conversation('c2').send('hello c2')).resolves.toMatchObject({
      senderId: 'dave',
    });
  });
});

describe('persistence by callback', () => {
  it('stores through the app: its id and enrichments reach every member, with an idempotency key', async () => {
    const a = client(cli.url, 'tok-alice');
    const b = client(cli.url, 'tok-bob');
    await Promise.all([opened(a), opened(b)]);
    const got = new Promise<{ id: string }>((r) =>
      b.conversation('c1').on('message', (m) => r(m as never)),
    );
    const m = await a.conversation('c1').send('hello');
    expect(m.id).toMatch(/^app-\d+$/);
    expect(m.data).toEqual({ stored: true });
    expect((await got).id).toBe(m.id);
    const call = app.calls.find(
      (c) =>
        c.path === '/persist' &&
        (c.body.message as { clientMsgId: string }).clientMsgId === m.clientMsgId,
    )!;
    const key = idempotencyKey({
      senderId: 'alice',
      conversationId: 'c1',
      clientMsgId: m.clientMsgId,
    });
    expect(call.body.idempotencyKey).toBe(key);
    expect(call.headers['idempotency-key']).toBe(key);
    expect(call.headers.authorization).toBe(`Bearer ${CALLBACK_SECRET}`);
    // Then the app learns the seq it got (stored.url, issue 16).
    const isStored = (path: string, body: Record<string, unknown>) =>
      path === '/stored' && (body.message as { id: string }).id === m.id;
    const storedCall = app.calls.find((c) => isStored(c.path, c.body))?.body;
    const storedBody =
      storedCall ??
      (await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no /stored call')), 5000);
        app.events.on('call', (path: string, body: Record<string, unknown>) => {
          if (!isStored(path, body)) return;
          clearTimeout(timer);
          resolve(body);
        });
      }));
    expect(storedBody.message).toMatchObject({ id: m.id, seq: m.seq, clientMsgId: m.clientMsgId });
  });

  it('the inbox after welcome carries the app’s metadata (meta.url)', async () => {
    const frames = await new Promise<Record<string, unknown>[]>((resolve, reject) => {
      const ws = new WebSocket(cli.url, ['parley.v1']);
      const got: Record<string, unknown>[] = [];
      const timer = setTimeout(() => reject(new Error('no synced')), 5000);
      ws.on('open', () =>
        ws.send(JSON.stringify({ type: 'hello', protocol: 1, token: 'tok-carol' })),
      );
      ws.on('message', (d) => {
        const f = JSON.parse(String(d)) as Record<string, unknown>;
        got.push(f);
        if (f.type !== 'synced') return;
        clearTimeout(timer);
        ws.close();
        resolve(got);
      });
    });
    expect(frames.map((f) => f.type)).toEqual(['welcome', 'summary', 'synced']);
    expect(frames[1]).toMatchObject({ conversations: [{ id: 'c2', meta: { title: 'Room c2' } }] });
    const call = app.calls.find((c) => c.path === '/meta' && c.body.userId === 'carol')!;
    expect(call.body).toEqual({ userId: 'carol', conversationIds: ['c2'] });
  });

  it("a rejection reaches the sender as a typed 'rejected' error with the app's reason", async () => {
    const a = client(cli.url, 'tok-alice');
    await opened(a);
    const err = await a
      .conversation('c1')
      .send('darn it')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ code: 'rejected', message: 'no swearing, please' });
    const failed = a.conversation('c1').messages.find((m) => m.text === 'darn it');
    expect(failed).toMatchObject({ status: 'failed' });
  });

  it('read receipts reach the app', async () => {
    const a = client(cli.url, 'tok-alice');
    const b = client(cli.url, 'tok-bob');
    await Promise.all([opened(a), opened(b)]);
    const c1 = a.conversation('c1');
    // Bob's message is unread for alice (her own sends already marked her read).
    const sent = await b.conversation('c1').send('read me');
    await waitFor(c1, 'update', () => (c1.seq >= sent.seq ? true : undefined), 'c1 has it');
    c1.markRead();
    await waitFor(
      app.events,
      'call',
      () => app.calls.find((c) => c.path === '/read' && c.body.userId === 'alice'),
      'read callback',
    );
  });

  /** A fresh alice and bob, both open; `received` collects the texts bob gets in c1. */
  async function aliceAndBob() {
    const a = client(cli.url, 'tok-alice');
    const b = client(cli.url, 'tok-bob');
    await Promise.all([opened(a), opened(b)]);
    const received: string[] = [];
    b.conversation('c1').on('message', (m) => received.push(m.text));
    return { a, b, received };
  }

  /** Resolves when the server logged a failed hook for one of alice's frames among `hooks`. */
  const failedHook = (before: number, hooks: readonly string[], what: string) =>
    cli.waitForLog(
      (l) =>
        cli.logs.indexOf(l) >= before &&
        l.msg === 'parley: hook failed' &&
        l.userId === 'alice' &&
        hooks.includes(l.hook as string),
      what,
    );

  /** After the app is reachable again: the send resolves, bob gets it once, the app stored it once. */
  async function deliveredOnce(
    sending: Promise<{ status: string; text: string }>,
    received: string[],
    b: ReturnType<typeof client>,
    text: string,
  ) {
    const m = await sending;
    expect(m).toMatchObject({ status: 'sent', text });
    await waitFor(
      b.conversation('c1'),
      'message',
      () => received.includes(text) || undefined,
      'delivery to bob',
    );
    expect(received.filter((t) => t === text)).toHaveLength(1);
    expect([...stored.values()].filter((r) => r.text === text)).toHaveLength(1);
  }

  it('app down: the message is not acked and stays pending; once the app is back it is delivered once', async () => {
    const text = 'while the app is down';
    const { a, b, received } = await aliceAndBob();
    await app.down();
    const before = cli.logs.length;
    let settled = false;
    const sending = a.conversation('c1').send(text);
    void sending.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    // The hub answered `unavailable` and the client keeps the message. Which callback failed
    // depends on the membership cache (200 ms): still warm, the persist callback; expired (a busy
    // machine), the membership lookup before it. Both answer `unavailable`, so wait for either.
    await failedHook(before, ['isMember', 'persist'], "a failed callback for alice's send");
    expect(settled).toBe(false);
    expect(a.conversation('c1').messages.find((m) => m.text === text)).toMatchObject({
      status: 'pending',
    });
    expect(received).not.toContain(text);
    await app.up();
    await deliveredOnce(sending, received, b, text);
  });

  it('persistence down (5xx), membership up: unavailable, pending, then delivered once', async () => {
    const text = 'while persistence is down';
    const { a, b, received } = await aliceAndBob();
    const persist = app.routes['/persist']!;
    app.routes['/persist'] = () => [503, { error: 'maintenance' }];
    try {
      const before = cli.logs.length;
      const sending = a.conversation('c1').send(text);
      let settled = false;
      const mark = () => {
        settled = true;
      };
      void sending.then(mark, mark);
      await failedHook(before, ['persist'], 'a failed persist');
      expect(settled).toBe(false);
      expect(a.conversation('c1').messages.find((m) => m.text === text)).toMatchObject({
        status: 'pending',
      });
      expect(received).not.toContain(text);
      app.routes['/persist'] = persist;
      await deliveredOnce(sending, received, b, text);
    } finally {
      app.routes['/persist'] = persist;
    }
  });
});

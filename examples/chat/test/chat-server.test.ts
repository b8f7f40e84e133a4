/**
 * The demo server without a browser: sign-in tokens, the REST API, the hub's auth and origin
 * checks, "new conversation" going live, and a restart that keeps the store. The browser side is
 * covered by e2e/chat.e2e.test.ts.
 */

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ParleyClient } from '@parley/client';
import { createMemoryEngine } from '@parley/server-adapter';
import { waitUntil } from '@parley/testing';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { devSecret } from '../src/dev-secret.js';
import { createDirectory, dmId, SEED_NOTE } from '../src/directory.js';
import { type ChatServer, startChatServer } from '../src/server.js';
import { signToken, verifyToken } from '../src/token.js';

describe('demo chat server', () => {
  const servers: ChatServer[] = [];
  const clients: ParleyClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) await s.close();
  });

  async function start(options: Parameters<typeof startChatServer>[0] = {}) {
    const s = await startChatServer(options);
    servers.push(s);
    return s;
  }

  function connect(server: ChatServer, token: string | (() => string)) {
    const c = createClient({ url: `${server.url.replace('http', 'ws')}/parley`, token });
    clients.push(c);
    return c;
  }
  const isOpen = (c: ParleyClient) =>
    waitUntil(
      (fn) => c.on('state', fn),
      () => c.state === 'open',
      'open',
    );
  /** The close code of the first failed attempt (the client then schedules a retry). */
  const closedWith = (c: ParleyClient) =>
    new Promise<number>((resolve) => c.on('reconnect', ({ code }) => resolve(code)));

  it('tokens are HMAC-signed, expire, and cannot be forged', () => {
    const token = signToken('s3cret', { sub: 'alice', exp: Date.now() + 60_000 });
    expect(verifyToken('s3cret', token)?.sub).toBe('alice');
    expect(verifyToken('other', token)).toBeUndefined();
    const [v, payload, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'bob', exp: Date.now() + 60_000 })).toString(
      'base64url',
    );
    expect(verifyToken('s3cret', `${v}.${forged}.${sig}`)).toBeUndefined();
    expect(verifyToken('s3cret', `${v}.${payload}`)).toBeUndefined();
    expect(
      verifyToken('s3cret', signToken('s3cret', { sub: 'alice', exp: Date.now() - 1 })),
    ).toBeUndefined();
    expect(verifyToken('s3cret', 'alice')).toBeUndefined();
  });

  it('signs in through REST and connects; a plain user id is not a token', async () => {
    const server = await start();
    const res = await fetch(`${server.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'alice' }),
    });
    const { token, user } = (await res.json()) as { token: string; user: { name: string } };
    expect(user.name).toBe('Alice Martin');
    expect((await fetch(`${server.url}/api/conversations`)).status).toBe(401);
    const convs = (await (
      await fetch(`${server.url}/api/conversations`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { id: string }[];
    expect(convs.map((c) => c.id)).toEqual([
      dmId('alice', 'bob'),
      'launch',
      'support-4821',
      'design-crit',
    ]);

    const alice = connect(server, token);
    // Cold start: nothing is replayed; opening the DM pages it in (the sample-data note + 5 lines).
    const dmConv = alice.conversation(dmId('alice', 'bob'));
    void dmConv.open();
    await isOpen(alice);
    expect(alice.userId).toBe('alice');
    await waitUntil(
      (fn) => dmConv.on('update', fn),
      () => dmConv.messages.length === 6,
      'the DM paged in',
    );
    const dm = dmConv.messages;
    expect(dm.map((m) => m.kind)).toEqual(['system', 'user', 'user', 'user', 'user', 'user']);
    expect(dm[0]?.text).toBe(SEED_NOTE);
    expect(alice.conversation(dmId('alice', 'bob')).unreadCount).toBe(0);
    expect(alice.conversation('design-crit').unreadCount).toBe(2);

    const impostor = connect(server, 'alice');
    expect(await closedWith(impostor)).toBe(4401);
  });

  it('HEAD answers like GET without a body', async () => {
    const server = await start();
    for (const path of ['/', '/index.html', '/app.js', '/styles.css']) {
      const get = await fetch(`${server.url}${path}`);
      const body = Buffer.from(await get.arrayBuffer());
      const head = await fetch(`${server.url}${path}`, { method: 'HEAD' });
      expect(head.status, path).toBe(200);
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
      expect(head.headers.get('content-length'), path).toBe(String(body.length));
      expect((await head.arrayBuffer()).byteLength, path).toBe(0);
    }
    expect((await fetch(`${server.url}/nope`, { method: 'HEAD' })).status).toBe(404);
  });

  it('the dev secret is created once (0600) and read back by every later start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-demo-secret-'));
    try {
      const file = join(dir, 'nested', 'dev-secret');
      const [a, b] = await Promise.all([devSecret(file), devSecret(file)]);
      expect(a).toBe(b); // two processes starting at once agree
      expect(a.length).toBeGreaterThanOrEqual(32);
      expect(await devSecret(file)).toBe(a);
      expect((await readFile(file, 'utf8')).trim()).toBe(a);
      if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
      await writeFile(file, 'short\n');
      const replaced = await devSecret(file);
      expect(replaced).not.toBe('short');
      expect(await devSecret(file)).toBe(replaced);

      // A token issued by one server is accepted by the next one started with the same secret,
      // and refused by a server with another secret.
      const first = await start({ secret: a });
      const token = first.tokenFor('alice');
      await first.close();
      servers.length = 0;
      const me = (s: ChatServer) =>
        fetch(`${s.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect((await me(await start({ secret: await devSecret(file) }))).status).toBe(401);
      expect((await me(await start({ secret: a }))).status).toBe(200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses browser upgrades from another origin', async () => {
    const server = await start();
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/parley`, 'parley.v1', {
      origin: 'https://evil.example',
    });
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(status).toBe(403);
    ws.on('error', () => undefined);
    ws.terminate();
  });

  it('"new conversation" is live for the other member without reconnecting', async () => {
    const server = await start();
    const erin = connect(server, server.tokenFor('erin'));
    const dave = connect(server, server.tokenFor('dave'));
    await Promise.all([isOpen(erin), isOpen(dave)]);
    // Listening before the request: `joined` may arrive before the REST answer.
    const joined = new Promise<string>((resolve) =>
      dave.on(
        'conversation',
        ({ type, conversationId }) => type === 'joined' && resolve(conversationId),
      ),
    );
    const res = await fetch(`${server.url}/api/conversations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${server.tokenFor('erin')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ userId: 'dave' }),
    });
    expect(res.status).toBe(201);
    const id = dmId('dave', 'erin');
    expect(await joined).toBe(id);
    await erin.conversation(id).send('hi Dave');
    const conv = dave.conversation(id);
    await waitUntil(
      (fn) => conv.on('update', fn),
      () => conv.messages.length === 1,
      'message',
    );
    expect(conv.unreadCount).toBe(1);
  });

  it('a restart on the same port with the same engine loses and duplicates nothing', async () => {
    const engine = createMemoryEngine();
    const directory = createDirectory();
    const secret = 'kept';
    const hub = { shutdown: { retryJitterMs: 50 } };
    let server = await start({ engine, directory, secret, hub });
    const alice = connect(server, server.tokenFor('alice'));
    const bob = connect(server, server.tokenFor('bob'));
    await Promise.all([isOpen(alice), isOpen(bob)]);
    const dm = dmId('alice', 'bob');
    await alice.conversation(dm).send('before');

    await server.close();
    servers.length = 0;
    expect(alice.state).not.toBe('open');
    const during = alice.conversation(dm).send('during'); // queued in the outbox
    server = await start({ port: server.port, engine, directory, secret, hub });
    await Promise.all([isOpen(alice), isOpen(bob)]);
    await during;
    await alice.conversation(dm).send('after');

    const conv = bob.conversation(dm);
    await waitUntil(
      (fn) => conv.on('update', fn),
      () => conv.messages.at(-1)?.text === 'after',
      'after',
    );
    const texts = conv.messages.map((m) => m.text);
    expect(texts.slice(-3)).toEqual(['before', 'during', 'after']);
    // Bob never opened the DM: he holds what arrived live (the seed is paged in on open), once.
    expect(conv.messages.map((m) => m.seq)).toEqual([7, 8, 9]);
    // The engine outlived the first hub: hub.close() does not close an engine it did not create.
    expect((await engine.heads([dm])).get(dm)?.seq).toBe(9);
  });
});

/**
 * The embedding examples (examples/node-http, examples/express, examples/fastify) run as real
 * processes, exactly as `pnpm start` runs them, and are driven with Parley clients in Node:
 * the app's own auth (token, bearer, cookie) admits users, messages flow, REST routes publish.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient, type ParleyClient, type WebSocketConstructor } from '@parley/client';
import { waitUntil } from '@parley/testing';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  base: string;
  ws: string;
}

const running: Running[] = [];
const clients: ParleyClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const { child } of running.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM'); // the examples shut the hub down gracefully on SIGTERM
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
});

/** Starts `examples/<name>/server.ts` like `pnpm start` and waits for it to listen. */
async function startExample(name: string, ready: RegExp): Promise<Running> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--conditions=@parley/source', '--import', 'tsx', 'server.ts'],
    {
      cwd: `${ROOT}examples/${name}`,
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const r: Running = {
    child,
    base: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/parley`,
  };
  running.push(r);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 15_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output}`));
    });
  });
  return r;
}

/** A `ws` WebSocket that sends a Cookie header with the upgrade (like a browser would). */
function withCookie(cookie: string): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers: { cookie } });
    }
  } as unknown as WebSocketConstructor;
}

function connect(url: string, options: { token?: string; cookie?: string } = {}) {
  const c = createClient({
    url,
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.cookie === undefined ? {} : { WebSocket: withCookie(options.cookie) }),
  });
  clients.push(c);
  return c;
}

const isOpen = (c: ParleyClient) =>
  waitUntil(
    (fn) => c.on('state', fn),
    () => c.state === 'open',
    'open',
  );
const lastText = (c: ParleyClient, conv: string, text: string) => {
  const h = c.conversation(conv);
  return waitUntil(
    (fn) => h.on('update', fn),
    () => h.messages.at(-1)?.text === text,
    text,
  );
};

describe('embedding examples as processes', () => {
  it('node-http: token auth, messages between two users, /health', async () => {
    const ex = await startExample('node-http', /parley on/);
    const alice = connect(ex.ws, { token: 'alice' });
    const bob = connect(ex.ws, { token: 'bob' });
    await Promise.all([isOpen(alice), isOpen(bob)]);
    await alice.conversation('general').send('hello from alice');
    await lastText(bob, 'general', 'hello from alice');
    const health = (await (await fetch(`${ex.base}/health`)).json()) as { sessions: number };
    expect(health.sessions).toBe(2);
  }, 30_000);

  it('express: bearer token and session cookie next to REST routes that publish', async () => {
    const ex = await startExample('express', /http:\/\/localhost/);
    const login = await fetch(`${ex.base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice' }),
    });
    const { token } = (await login.json()) as { token: string };
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const alice = connect(ex.ws, { token }); // bearer-style token in hello
    const bob = connect(ex.ws, { cookie: 'session=token-bob' }); // the app's cookie on the upgrade
    await Promise.all([isOpen(alice), isOpen(bob)]);
    expect([alice.userId, bob.userId]).toEqual(['alice', 'bob']);
    expect(cookie).toBe(`session=${token}`);

    const denied = await fetch(`${ex.base}/conversations/general/announce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'nope' }),
    });
    expect(denied.status).toBe(401);
    const res = await fetch(`${ex.base}/conversations/general/announce`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ text: 'Release 2.0 is out' }),
    });
    expect(res.status).toBe(201);
    await Promise.all([
      lastText(alice, 'general', 'Release 2.0 is out'),
      lastText(bob, 'general', 'Release 2.0 is out'),
    ]);
    expect(bob.conversation('general').messages.at(-1)).toMatchObject({
      kind: 'system',
      senderId: 'announcer',
    });
    const impostor = connect(ex.ws, { token: 'alice' });
    const code = await new Promise<number>((r) => impostor.on('reconnect', (i) => r(i.code)));
    expect(code).toBe(4401);
  }, 30_000);

  it('fastify: cookie auth from POST /login, a REST route that publishes', async () => {
    const ex = await startExample('fastify', /Server listening/);
    const login = async (user: string) => {
      const res = await fetch(`${ex.base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user }),
      });
      expect(res.status).toBe(200);
      return res.headers.get('set-cookie')!.split(';')[0]!;
    };
    const aliceCookie = await login('alice');
    const alice = connect(ex.ws, { cookie: aliceCookie }); // no token: the cookie is the credential
    const bob = connect(ex.ws, { cookie: await login('bob') });
    await Promise.all([isOpen(alice), isOpen(bob)]);
    const res = await fetch(`${ex.base}/conversations/general/system`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: aliceCookie },
      body: JSON.stringify({ text: 'Maintenance at 22:00' }),
    });
    expect(res.status).toBe(200);
    await lastText(bob, 'general', 'Maintenance at 22:00');
    await bob.conversation('general').send('thanks');
    await lastText(alice, 'general', 'thanks');
  }, 30_000);
});

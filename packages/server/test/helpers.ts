/**
 * Test helpers: the CLI as a child process, a real callback backend (node:http), HS256 tokens,
 * real Parley clients, and waits on events with timeouts (never fixed sleeps).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient, type ParleyClient } from '@parley/client';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import type { ServerConfigInput } from '../src/config.js';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const CLI = resolve(ROOT, 'packages/server/src/cli.ts');
export const SECRET = 'test-secret-0123456789abcdef-0123456789';
export const API_KEY = 'test-api-key';

/** Waits until `check()` returns a value (re-checked whenever `emitter` emits `event`). */
/** Anything with `on(event, listener)` returning an unsubscribe function or supporting `off`. */
interface Subscribable {
  on(event: string, listener: () => void): unknown;
  off?(event: string, listener: () => void): unknown;
}

export function waitFor<T>(
  target: object,
  event: string,
  check: () => T | undefined | false,
  what: string,
  timeoutMs = 8000,
): Promise<T> {
  const emitter = target as Subscribable;
  return new Promise((resolvePromise, reject) => {
    const first = check();
    if (first !== undefined && first !== false) return resolvePromise(first);
    let unsubscribe = () => {};
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const on = () => {
      const v = check();
      if (v === undefined || v === false) return;
      clearTimeout(timer);
      unsubscribe();
      resolvePromise(v);
    };
    const un = emitter.on(event, on);
    unsubscribe = () =>
      typeof un === 'function' ? (un as () => void)() : emitter.off?.(event, on);
  });
}

/** A running CLI child. */
export interface Cli {
  port: number;
  url: string;
  api: string;
  logs: Record<string, unknown>[];
  events: EventEmitter;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(
    pred: (l: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const children = new Set<ChildProcess>();

/** Starts `parley-server start --config <tmp file>` and waits for its `listening` line. */
export async function startCli(
  config: ServerConfigInput,
  o: { args?: string[]; env?: Record<string, string> } = {},
): Promise<Cli> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-server-'));
  const file = join(dir, 'parley.config.json');
  writeFileSync(file, JSON.stringify({ host: '127.0.0.1', port: 0, logLevel: 'debug', ...config }));
  const child = spawn(
    process.execPath,
    [
      '--conditions=@parley/source',
      '--import',
      'tsx',
      CLI,
      'start',
      '--config',
      file,
      ...(o.args ?? []),
    ],
    { cwd: ROOT, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  const logs: Record<string, unknown>[] = [];
  const events = new EventEmitter();
  let stderr = '';
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl = buf.indexOf('\n');
    while (nl !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
      events.emit('log');
      nl = buf.indexOf('\n');
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      // The config lives in its own temporary directory: gone with the process.
      rmSync(dir, { recursive: true, force: true });
      events.emit('exit');
      r({ code, signal });
    }),
  );
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  const waitForLog = (
    pred: (l: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 15_000,
  ) =>
    new Promise<Record<string, unknown>>((res, rej) => {
      const check = () => {
        const hit = logs.find(pred);
        if (hit) {
          cleanup();
          res(hit);
        } else if (dead) {
          cleanup();
          rej(
            new Error(
              `CLI exited before ${what}; stderr: ${stderr.slice(-2000)}; logs: ${JSON.stringify(logs.slice(-5))}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        rej(new Error(`timed out waiting for ${what}; stderr: ${stderr.slice(-2000)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        events.off('log', check);
        events.off('exit', check);
      };
      events.on('log', check);
      events.on('exit', check);
      check();
    });
  const listening = await waitForLog((l) => l.msg === 'listening', 'the listening log line');
  const port = listening.port as number;
  return {
    port,
    url: `ws://127.0.0.1:${port}/parley`,
    api: `http://127.0.0.1:${listening.apiPort as number}`,
    logs,
    events,
    child,
    exited,
    waitForLog,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Kills every CLI child still running (afterAll/afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          c.once('exit', () => r());
          c.kill('SIGKILL');
        }),
    ),
  );
}

export type Route = (
  body: Record<string, unknown>,
  req: IncomingMessage,
) => [number, unknown] | Promise<[number, unknown]>;

/** A callback backend: routes by path, records calls, can go down and come back on its port. */
export interface App {
  url: string;
  calls: { path: string; body: Record<string, unknown>; headers: IncomingMessage['headers'] }[];
  events: EventEmitter;
  routes: Record<string, Route>;
  /** Stops listening (connections refused) until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startApp(routes: Record<string, Route>): Promise<App> {
  const calls: App['calls'] = [];
  const events = new EventEmitter();
  const handler = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        const path = (req.url ?? '/').split('?')[0]!;
        calls.push({ path, body, headers: req.headers });
        events.emit('call', path, body);
        const route = app.routes[path];
        const [status, json] = route ? await route(body, req) : [404, { error: 'no route' }];
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(json === undefined ? '' : JSON.stringify(json));
      })();
    });
  };
  let server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  const app: App = {
    url: `http://127.0.0.1:${port}`,
    calls,
    events,
    routes,
    down: stop,
    async up() {
      server = createServer(handler);
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    },
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
  return app;
}

/** An HS256 token for `sub`, valid for an hour unless `exp` says otherwise. */
export function token(
  sub: string,
  claims: Record<string, unknown> = {},
  o: { exp?: number | string; aud?: string; iss?: string; secret?: string } = {},
): Promise<string> {
  return new SignJWT({ name: sub.toUpperCase(), ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setIssuer(o.iss ?? 'test-app')
    .setAudience(o.aud ?? 'parley')
    .setExpirationTime(o.exp ?? '1h')
    .sign(new TextEncoder().encode(o.secret ?? SECRET));
}

/** JWT auth config matching {@link token}. */
export const jwtAuth = {
  mode: 'jwt' as const,
  jwt: { secret: SECRET, issuer: 'test-app', audience: 'parley' },
};

const clients = new Set<ParleyClient>();

/** A real Parley client with fast reconnects. */
export function client(
  url: string,
  tok: string | (() => Promise<string>),
  extra: Record<string, unknown> = {},
): ParleyClient {
  const c = createClient({
    url,
    token: tok,
    WebSocket: WebSocket as never,
    reconnect: { minDelayMs: 50, maxDelayMs: 400, minUptimeMs: 100 },
    ...extra,
  });
  clients.add(c);
  return c;
}

export function closeClients(): void {
  for (const c of clients) c.close();
  clients.clear();
}

/** Resolves when the client is `open`. */
export function opened(c: ParleyClient, timeoutMs = 8000): Promise<void> {
  return waitFor(
    c as never,
    'state',
    () => c.state === 'open' || undefined,
    'client open',
    timeoutMs,
  ).then(() => undefined);
}

/** An API call with the test key. */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  key = API_KEY,
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : undefined) as Record<string, unknown>,
  };
}

/** Raw WebSocket: sends hello with `tok`, resolves with the first frame or the close. */
export function rawHello(
  url: string,
  tok: string,
): Promise<{ frame?: Record<string, unknown>; close?: number }> {
  return new Promise((res) => {
    const ws = new WebSocket(url, ['parley.v1']);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, token: tok })));
    ws.on('message', (d) => {
      res({ frame: JSON.parse(String(d)) as Record<string, unknown> });
      ws.close();
    });
    ws.on('close', (code) => res({ close: code }));
    ws.on('error', () => {});
  });
}

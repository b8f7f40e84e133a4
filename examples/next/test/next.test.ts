/**
 * The Next.js recipe: the custom server (server.ts, Next in development mode, no build step) as a
 * child process on 127.0.0.1:0. The page answers; clients (`@parley/client`) connect to the hub
 * on the same server and exchange messages after Next has added its own `upgrade` listener (hot
 * reload, on the first request).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type ParleyClient, type StoredMessage } from '@parley/client';
import { waitUntil } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Next compiles the page on the first request in development: generous on a busy 2-core box. */
const COMPILE_MS = 120_000;

let child: ChildProcess;
let url: string;
let wsUrl: string;
let output = '';

beforeAll(async () => {
  child = spawn(process.execPath, ['--conditions=@parley/source', '--import', 'tsx', 'server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start in 60 s: ${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const hit = /next app on (http:\/\/\S+) \(hub: (ws:\/\/\S+)\)/.exec(output);
      if (hit) {
        clearTimeout(timer);
        resolve(hit);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  [, url, wsUrl] = m as unknown as [string, string, string];
}, 70_000);

afterAll(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM'); // graceful: hub.close(), app.close(), server.close()
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}, 20_000);

const clients: ParleyClient[] = [];
afterAll(() => {
  for (const c of clients) c.close();
});

async function connect(user: string) {
  const client = createClient({ url: wsUrl, token: `${user}-token` });
  clients.push(client);
  const got: StoredMessage[] = [];
  client.on('message', (m) => got.push(m));
  await waitUntil(
    (fn) => client.on('state', fn),
    () => client.state === 'open',
    `${user} open`,
  );
  return { client, got };
}

describe('Parley in a Next.js custom server', () => {
  it(
    'the page answers (Next renders it)',
    async () => {
      const res = await fetch(`${url}/`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('Parley on Next.js');
    },
    COMPILE_MS,
  );

  // After the page request above: Next (development) has added its own `upgrade` listener to the
  // server by now, and the hub's path still reaches the hub.
  it("the hub answers on the same server, next to Next's own upgrade listener", async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const stored = await alice.client.conversation('general').send('hello from Next');
    await waitUntil(
      (fn) => bob.client.on('message', fn),
      () => bob.got.length === 1,
      'bob received',
    );
    expect(bob.got[0]).toMatchObject({ id: stored.id, senderId: 'alice', text: 'hello from Next' });

    expect(alice.client.state).toBe('open');
  });
});

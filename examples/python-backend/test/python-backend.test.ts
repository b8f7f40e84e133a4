/**
 * End to end: the Python backend (standard library only) and parley-server as child processes;
 * real Parley clients log in through the Python app and talk through Parley, which calls back
 * into Python for membership, persistence and read receipts. Skipped LOUDLY without python3;
 * under CI=true a missing python3 fails.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ServerError, type StoredMessage } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Cli,
  client,
  closeClients,
  killAll,
  opened,
  startCli,
  waitFor,
} from '../../../packages/server/test/helpers.js';

const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython) {
  process.stderr.write(
    '\n!!! python3 not found: SKIPPING the examples/python-backend end-to-end tests !!!\n\n',
  );
}

it('python3 is available (required under CI=true)', () => {
  expect(hasPython || process.env.CI !== 'true').toBe(true);
});

const JWT_SECRET = 'python-secret-python-secret-python-secret';
const CALLBACK_SECRET = 'cb-secret';
const API_KEY = 'py-api-key';
const ADMIN_KEY = 'py-admin';

/**
 * A free port for parley-server: the Python app must know Parley's API URL at start and Parley
 * must know the app's callback URLs, so one side's port is chosen up front.
 */
function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

describe.skipIf(!hasPython)('python backend end to end', () => {
  let py: ChildProcess | undefined;
  let backend = '';
  let cli: Cli;

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${backend}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Token provider: logs in through the Python app on every (re)connect. */
  const login = (userId: string) => async () =>
    (await post('/login', { userId, password: `${userId}-pw` })).body.token as string;

  beforeAll(async () => {
    const parleyPort = await freePort();
    py = spawn('python3', [resolve(import.meta.dirname, '../server.py')], {
      env: {
        ...process.env,
        PORT: '0',
        JWT_SECRET,
        CALLBACK_SECRET,
        ADMIN_KEY,
        PARLEY_API: `http://127.0.0.1:${parleyPort}`,
        PARLEY_API_KEY: API_KEY,
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const port = await new Promise<number>((res, rej) => {
      py!.once('exit', (code) => rej(new Error(`python exited with ${code}`)));
      createInterface({ input: py!.stdout! }).once('line', (line) =>
        res((JSON.parse(line) as { port: number }).port),
      );
    });
    backend = `http://127.0.0.1:${port}`;
    cli = await startCli({
      port: parleyPort,
      auth: {
        mode: 'jwt',
        jwt: { secret: JWT_SECRET, issuer: 'python-backend', audience: 'parley' },
      },
      membership: {
        mode: 'callback',
        conversationsUrl: `${backend}/parley/conversations`,
        membersUrl: `${backend}/parley/members`,
        cacheTtlMs: 1000,
      },
      persistence: { url: `${backend}/parley/persist` },
      reads: { url: `${backend}/parley/read` },
      callbacks: { secret: CALLBACK_SECRET },
      api: { key: API_KEY },
    });
  });
  afterAll(async () => {
    closeClients();
    await killAll();
    py?.kill('SIGKILL');
  });

  it('clients talk through Parley; Python stores the messages and assigns their ids', async () => {
    const alice = client(cli.url, login('alice'));
    const bob = client(cli.url, login('bob'));
    await Promise.all([opened(alice), opened(bob)]);
    const got = new Promise<StoredMessage>((r) => bob.conversation('general').on('message', r));
    const sent = await alice.conversation('general').send('hello from node');
    expect(sent).toMatchObject({ senderId: 'alice', sender: { name: 'Alice' } });
    expect(sent.id).toMatch(/^msg-\d+$/);
    expect(await got).toMatchObject({ id: sent.id, text: 'hello from node' });
    const stored = await (await fetch(`${backend}/conversations/general/messages`)).json();
    expect(stored.messages).toContainEqual({
      id: sent.id,
      senderId: 'alice',
      text: 'hello from node',
    });
  });

  it("Python's membership and rejections reach the client as typed errors", async () => {
    const carol = client(cli.url, login('carol'));
    await opened(carol);
    const forbidden = await carol
      .conversation('general')
      .send('hi')
      .catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(ServerError);
    expect((forbidden as ServerError).code).toBe('forbidden');
    const rejected = await carol
      .conversation('random')
      .send('buy spam now')
      .catch((e: unknown) => e);
    expect(rejected).toMatchObject({ code: 'rejected', message: 'that word is not allowed here' });
  });

  it('Python adds a member live and announces through the publish API', async () => {
    const carol = client(cli.url, login('carol'));
    const bob = client(cli.url, login('bob'));
    await Promise.all([opened(carol), opened(bob)]);
    const general = carol.conversation('general');
    expect(
      (
        await post(
          '/conversations/general/members',
          { userId: 'carol' },
          { 'x-admin-key': ADMIN_KEY },
        )
      ).status,
    ).toBe(200);
    await waitFor(general, 'update', () => general.joined || undefined, 'carol joined general');
    const atBob = new Promise<StoredMessage>((r) =>
      bob.conversation('general').on('message', (m) => m.kind === 'system' && r(m)),
    );
    const res = await post(
      '/announce',
      { conversationId: 'general', text: 'deploy at 5pm' },
      { 'x-admin-key': ADMIN_KEY },
    );
    expect(res.status).toBe(201);
    expect(await atBob).toMatchObject({
      kind: 'system',
      text: 'deploy at 5pm',
      sender: { name: 'Announcements' },
    });
    await waitFor(
      general,
      'update',
      () => general.messages.some((m) => m.text === 'deploy at 5pm') || undefined,
      'carol sees it',
    );
    expect((await post('/announce', { conversationId: 'general', text: 'x' })).status).toBe(403);
  });
});

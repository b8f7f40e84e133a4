/**
 * The Bun chat server, end to end under Bun: `src/main.ts` runs under the pinned Bun (root
 * devDependency `bun`) as a child process; the clients are `@parley/client` in this process. The
 * cases are the hand-written server's failures (README.md): a receiver that never opened a chat,
 * a user in two tabs, a join at runtime, call signalling as typed events, identity from the token.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AppEvent,
  createClient,
  type ParleyClient,
  ServerError,
  type StoredMessage,
} from '@parley/client';
import { waitUntil } from '@parley/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CallEvents, callEvents } from '../src/events.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bun = join(
  dirname(createRequire(import.meta.url).resolve('bun/package.json')),
  'bin',
  'bun.exe',
);

let child: ChildProcess;
let url: string;
let wsUrl: string;

beforeAll(async () => {
  child = spawn(bun, ['--conditions=@parley/source', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listening = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start in 30 s: ${output}`)), 30_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /listening on (http:\/\/\S+) \(hub: (ws:\/\/\S+)\)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`bun exited ${code}: ${output}`)));
  });
  [, url, wsUrl] = listening as unknown as [string, string, string];
}, 40_000);

afterAll(async () => {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM'); // graceful: hub.close(), then the server stops
  await exited;
});

type Client = ParleyClient<CallEvents>;
const clients: Client[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

async function connect(user: string): Promise<Client> {
  const c = createClient({ url: wsUrl, token: `${user}-token`, events: callEvents });
  clients.push(c);
  await waitUntil(
    (fn) => c.on('state', fn),
    () => c.state === 'open',
    `${user} open`,
  );
  return c;
}

/** Every stored message the client receives, in any conversation, whether opened or not. */
function inbox(c: Client): StoredMessage[] {
  const got: StoredMessage[] = [];
  c.on('message', (m) => got.push(m));
  return got;
}

/** The custom events addressed to the client's user. */
function signals(c: Client): AppEvent<CallEvents>[] {
  const got: AppEvent<CallEvents>[] = [];
  c.on('event', (e) => got.push(e));
  return got;
}

const until = (c: Client, what: string, check: () => boolean) =>
  waitUntil((fn) => c.on('message', fn), check, what);

describe('the Bun chat server ported to Parley, under Bun', () => {
  it('runs on the pinned Bun', async () => {
    const pinned = createRequire(import.meta.url)('bun/package.json').version as string;
    expect(await (await fetch(`${url}/health`)).json()).toEqual({
      ok: true,
      runtime: `bun ${pinned}`,
    });
  });

  it('a receiver who never opened the chat still gets it, on every tab, sender from the token', async () => {
    const alice = await connect('alice');
    const bobTab1 = await connect('bob');
    const bobTab2 = await connect('bob');
    const [got1, got2] = [inbox(bobTab1), inbox(bobTab2)];
    // Bob never calls bob.conversation('dm-alice-bob'): no "join" frame, nothing opened.
    const stored = await alice.conversation('dm-alice-bob').send('are you there?');
    await until(bobTab1, 'tab 1', () => got1.length === 1);
    await until(bobTab2, 'tab 2', () => got2.length === 1);
    for (const m of [got1[0]!, got2[0]!]) {
      expect(m).toMatchObject({
        id: stored.id,
        conversationId: 'dm-alice-bob',
        senderId: 'alice',
        sender: { name: 'alice' },
        text: 'are you there?',
      });
    }
    // And it is in the inbox with an unread count, without opening anything.
    expect(bobTab1.inbox().find((r) => r.conversationId === 'dm-alice-bob')).toMatchObject({
      unreadCount: 1,
    });
  });

  it('a conversation the user is not in is refused, not silently ignored', async () => {
    const carol = await connect('carol');
    const refused = await carol
      .conversation('dm-alice-bob')
      .send('let me in')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServerError);
    expect(refused).toMatchObject({ code: 'forbidden' });
  });

  it('adding a member at runtime reaches their open sockets, no reconnect', async () => {
    const alice = await connect('alice');
    const carol = await connect('carol');
    const got = inbox(carol);
    const joined = new Promise<string>((resolve) =>
      carol.on('conversation', (c) => c.type === 'joined' && resolve(c.conversationId)),
    );
    const res = await fetch(`${url}/api/conversations/design/members`, {
      method: 'POST',
      headers: { authorization: 'Bearer alice-token', 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'carol' }),
    });
    expect(res.status).toBe(200);
    expect(await joined).toBe('design');
    await alice.conversation('design').send('welcome, carol');
    await until(carol, 'carol', () => got.some((m) => m.text === 'welcome, carol'));
    expect(carol.state).toBe('open');
  });

  it('offer / answer / ICE travel as typed events over the same connection; nobody else sees them', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const carol = await connect('carol'); // shares "team" with both, not in the call
    const [toAlice, toBob, toCarol] = [signals(alice), signals(bob), signals(carol)];
    const waitFor = (c: Client, got: unknown[], n: number) =>
      waitUntil(
        (fn) => c.on('event', fn),
        () => got.length >= n,
        `${n} events`,
      );

    await alice.emit(
      'call.offer',
      { userId: 'bob' },
      { callId: 'k1', sdp: 'v=0 offer', video: true },
    );
    await waitFor(bob, toBob, 1);
    const offer = toBob[0]!;
    expect(offer).toEqual({
      name: 'call.offer',
      from: 'alice',
      payload: { callId: 'k1', sdp: 'v=0 offer', video: true },
    });
    if (offer.name === 'call.offer') {
      const video: boolean = offer.payload.video; // typed from the zod schema
      expect(video).toBe(true);
    }
    await bob.emit('call.answer', { userId: offer.from }, { callId: 'k1', sdp: 'v=0 answer' });
    const ice = {
      callId: 'k1',
      candidate: 'candidate:0 1 udp 1 192.0.2.1 5000 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
    };
    await alice.emit('call.ice', { userId: 'bob' }, ice);
    await bob.emit('call.ice', { userId: 'alice' }, { ...ice, sdpMid: null, sdpMLineIndex: null });
    await alice.emit('call.hangup', { userId: 'bob' }, { callId: 'k1', reason: 'ended' });
    await waitFor(bob, toBob, 3);
    await waitFor(alice, toAlice, 2);
    expect(toBob.map((e) => e.name)).toEqual(['call.offer', 'call.ice', 'call.hangup']);
    expect(toAlice.map((e) => [e.name, e.from])).toEqual([
      ['call.answer', 'bob'],
      ['call.ice', 'bob'],
    ]);

    // An invalid payload is refused by the client (and TypeScript) before it leaves...
    const bad = alice.emit(
      'call.offer',
      { userId: 'bob' },
      // @ts-expect-error -- video must be a boolean
      { callId: 'k2', sdp: 'v=0', video: 'yes' },
    );
    await expect(bad).rejects.toMatchObject({ code: 'invalid_frame' });
    // ...and a user who shares no conversation cannot be signalled at all.
    await expect(
      carol.emit('call.offer', { userId: 'nobody' }, { callId: 'k3', sdp: 'v=0', video: false }),
    ).rejects.toMatchObject({ code: 'forbidden' });

    // The same connection carries chat: a message sent after every signal reaches carol, and
    // none of the call did.
    const got = inbox(carol);
    await alice.conversation('team').send('call is over');
    await until(carol, 'carol', () => got.length === 1);
    expect(toCarol).toEqual([]);
  });
});

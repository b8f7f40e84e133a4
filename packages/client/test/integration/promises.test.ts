/**
 * Issue 14 against the REAL hub: the client's promises under lost acks, resets, `unavailable`
 * hooks, frame limits, membership changes while offline, refused events and the dedupe window.
 * Each test failed before the fix.
 */
import { defineEvents } from '@parley/protocol';
import { createMemoryEngine, UnavailableError } from '@parley/server-adapter';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ClientCode,
  type ClientMessage,
  type ClientOptions,
  createClient,
  manualLifecycle,
  type ParleyClient,
  type ReconnectInfo,
  type StateChange,
} from '../../src/index.js';
import { nextEvent, opened, until } from '../helpers/mock-hub.js';
import { startHub, type TestHub } from './hub.js';

let hub: TestHub | undefined;
const clients: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

function connect<E extends Record<string, never> = Record<string, never>>(
  h: TestHub,
  token: string,
  extra: Partial<ClientOptions<E>> = {},
): ParleyClient<E> {
  const c = createClient<E>({
    url: h.url,
    token,
    WebSocket: h.WebSocket,
    reconnect: { minDelayMs: 5, maxDelayMs: 50 },
    ...extra,
  } as ClientOptions<E>);
  clients.push(c);
  return c;
}

/** A client that stays down after a cut until `lc.signal('online')`. */
function held(
  h: TestHub,
  token: string,
  extra: Partial<ClientOptions<Record<string, never>>> = {},
) {
  const lc = manualLifecycle();
  const c = connect(h, token, {
    lifecycle: lc,
    reconnect: { minDelayMs: 600_000, maxDelayMs: 600_000 },
    random: () => 0.999,
    ...extra,
  });
  const down = () =>
    nextEvent<StateChange>(
      (l) => c.on('state', l),
      (s) => s.from === 'open',
    );
  return { c, lc, down };
}

const shown = (ms: readonly ClientMessage[]) => ms.map((m) => `${m.text}:${m.status}`);

describe('lost ack, then a reset (defect 1)', () => {
  it('the retried send resolves and leaves no pending copy beside the stored message', async () => {
    // A history of 2 messages: a client 3 behind gets a reset.
    hub = await startHub({}, () => createMemoryEngine({ history: { maxMessages: 2 } }));
    const bob = connect(hub, 'bob');
    const { c: alice, lc, down } = held(hub, 'alice');
    await Promise.all([opened(alice), opened(bob)]);
    const conv = alice.conversation('room');
    const lost = hub.loseNext('ack');
    const wentDown = down();
    const p = conv.send('mine');
    await lost;
    await wentDown;
    for (const t of ['b1', 'b2', 'b3']) await bob.conversation('room').send(t);
    const reset = nextEvent((l) => conv.on('reset', l));
    lc.signal('online');
    expect(await reset).toMatchObject({ reason: 'trimmed', seq: 4 });
    expect(await p).toMatchObject({ text: 'mine', seq: 1, status: 'sent' });
    expect(shown(conv.messages)).toEqual([]);
    await conv.loadOlder(10);
    expect(shown(conv.messages)).toEqual(['b2:sent', 'b3:sent']);
  });
});

describe('own send order after unavailable (defect 2)', () => {
  it('a send waiting for its retry holds back the ones behind it', async () => {
    let calls = 0;
    hub = await startHub({
      persist: async () => {
        if (++calls === 1) throw new UnavailableError('db blip', { retryAfterMs: 30 });
        return undefined;
      },
    });
    const alice = connect(hub, 'alice');
    const bob = connect(hub, 'bob');
    await Promise.all([opened(alice), opened(bob)]);
    const conv = alice.conversation('room');
    await Promise.all([conv.send('first'), conv.send('second'), conv.send('third')]);
    await until(() => expect(bob.conversation('room').messages).toHaveLength(3));
    expect(bob.conversation('room').messages.map((m) => m.text)).toEqual([
      'first',
      'second',
      'third',
    ]);
  });
});

describe('every retry path ends (defect 4)', () => {
  it('a frame that escaping pushes past maxFrameBytes fails at once, no 1009 close', async () => {
    hub = await startHub({ limits: { maxFrameBytes: 8_192 } });
    const alice = connect(hub, 'alice');
    await opened(alice);
    const closes: StateChange[] = [];
    alice.on('state', (s) => closes.push(s));
    const conv = alice.conversation('room');
    // 5,000 bytes of text, 10,000+ once every quote is escaped.
    await expect(conv.send('"'.repeat(5_000))).rejects.toMatchObject({ code: 'too_large' });
    await expect(conv.send('fits')).resolves.toMatchObject({ seq: 1 });
    expect(closes).toEqual([]);
  });

  it('a persist hook that keeps failing ends in a typed failure after outbox.maxRetries', async () => {
    let calls = 0;
    hub = await startHub({
      persist: async () => {
        calls++;
        throw new UnavailableError('db down', { retryAfterMs: 5 });
      },
    });
    const alice = connect(hub, 'alice', { outbox: { maxRetries: 3 } });
    await opened(alice);
    const conv = alice.conversation('room');
    await expect(conv.send('x')).rejects.toMatchObject({ code: 'unavailable' });
    expect(calls).toBe(4);
    expect(shown(conv.messages)).toEqual(['x:failed']);
  });
});

describe('welcome timeout (defect 5)', () => {
  it('a hung authenticate is given up and retried', async () => {
    let hang = true;
    hub = await startHub({
      authenticate: ({ token }) =>
        hang ? new Promise(() => {}) : { userId: token ?? 'x', profile: { name: 'X' } },
    });
    const alice = connect(hub, 'alice', { welcomeTimeoutMs: 200 });
    const retried = nextEvent<ReconnectInfo>((l) => alice.on('reconnect', l));
    expect(await retried).toMatchObject({ code: ClientCode.WelcomeTimeout });
    hang = false;
    await opened(alice);
  });
});

describe('membership (defects 8, 10)', () => {
  it('a conversation left while offline is marked left after the reconnect', async () => {
    const members = new Set(['room', 'side']);
    hub = await startHub({ conversationsOf: async () => [...members] });
    const { c: alice, lc, down } = held(hub, 'alice');
    await opened(alice);
    const side = alice.conversation('side');
    expect(side.joined).toBe(true);
    const wentDown = down();
    hub.killServerSockets();
    await wentDown;
    members.delete('side');
    await hub.hub.leave('side', ['alice']);
    const left = nextEvent((l) => alice.on('conversation', l));
    lc.signal('online');
    expect(await left).toEqual({ type: 'left', conversationId: 'side' });
    expect(side.joined).toBe(false);
    expect(alice.inbox().map((r) => r.conversationId)).toEqual(['room']);
    // Rejoined live: the same handle works.
    members.add('side');
    await hub.hub.join('side', ['alice']);
    await until(() => expect(side.joined).toBe(true));
    expect(alice.conversation('side')).toBe(side);
    const bob = connect(hub, 'bob', {});
    await opened(bob);
    await bob.conversation('side').send('back');
    await until(() => expect(side.messages.map((m) => m.text)).toEqual(['back']));
  });

  it('a send to a foreign conversation is refused and leaves no inbox row', async () => {
    hub = await startHub();
    const alice = connect(hub, 'alice');
    await opened(alice);
    await expect(alice.conversation('secret').send('hi')).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect(alice.inbox().map((r) => r.conversationId)).toEqual(['room']);
  });
});

describe('emit (defect 9)', () => {
  it('resolves once published, rejects with the hub’s refusal', async () => {
    const events = defineEvents({ ring: z.object({ n: z.number() }) });
    hub = await startHub({
      events,
      conversationsOf: async (u) => (u === 'stranger' ? ['elsewhere'] : ['room']),
    });
    const alice = connect(hub, 'alice', { events } as never) as unknown as ParleyClient<
      typeof events
    >;
    const bob = connect(hub, 'bob', { events } as never) as unknown as ParleyClient<typeof events>;
    await Promise.all([opened(alice), opened(bob)]);
    const rang = nextEvent((l) => bob.on('event', l));
    await alice.emit('ring', { userId: 'bob' }, { n: 1 });
    expect(await rang).toMatchObject({ name: 'ring', from: 'alice', payload: { n: 1 } });
    await expect(alice.emit('ring', { userId: 'stranger' }, { n: 2 })).rejects.toMatchObject({
      code: 'forbidden',
      name: 'ServerError',
    });
  });
});

describe('the dedupe window (defect 12)', () => {
  it('an outbox item older than welcome.limits.dedupeWindowMs fails; retry() stores it once', async () => {
    hub = await startHub({}, () => createMemoryEngine({ idempotency: { ttlMs: 10_000 } }));
    let skew = 0;
    const { c: alice, lc, down } = held(hub, 'alice', { now: () => Date.now() + skew });
    await opened(alice);
    const wentDown = down();
    hub.killServerSockets();
    await wentDown;
    const conv = alice.conversation('room');
    const p = conv.send('stale');
    skew = 10_000;
    lc.signal('online');
    await expect(p).rejects.toMatchObject({ code: 'expired', name: 'ExpiredError' });
    const failed = conv.messages[0]!;
    if (failed.status !== 'failed') throw new Error(`expected failed, got ${failed.status}`);
    const stored = await failed.retry();
    expect(stored.clientMsgId).not.toBe(failed.clientMsgId);
    expect(shown(conv.messages)).toEqual(['stale:sent']);
  });
});

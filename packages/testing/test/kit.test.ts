import { createClient } from '@parley/client';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestHub, listenerCounts } from '../src/index.js';

const kit = createTestHub({
  users: { alice: { name: 'Alice' }, bob: { name: 'Bob' } },
  conversations: { c1: ['alice', 'bob'] },
});
const server = setupServer(kit.handler);
beforeAll(() => server.listen());
afterEach(async () => {
  vi.useRealTimers();
  await kit.reset();
});
afterAll(() => server.close());

describe('createTestHub', () => {
  it('signs two users in and delivers a message through the real hub', async () => {
    const alice = kit.client('alice');
    const bob = kit.client('bob');
    await kit.connected(alice);
    await kit.connected(bob);
    expect(alice.userId).toBe('alice');
    const sent = await alice.conversation('c1').send('hi bob');
    expect(sent).toMatchObject({
      status: 'sent',
      seq: 1,
      senderId: 'alice',
      sender: { name: 'Alice' },
    });
    const got = await kit.waitFor(() => bob.conversation('c1').messages[0]);
    expect(got).toMatchObject({ text: 'hi bob', seq: 1, status: 'sent' });
    await kit.waitForFrame({ direction: 'in', userId: 'alice', type: 'send' });
    await kit.waitForFrame({
      direction: 'out',
      userId: 'bob',
      type: 'message',
      conversationId: 'c1',
    });
    expect(kit.hub.stats()).toMatchObject({ sessions: 2, users: 2, messagesStored: 1 });
  });

  it('refuses unknown users with 4401 (the client keeps retrying with a fresh token)', async () => {
    const mallory = kit.client('mallory');
    const codes: number[] = [];
    mallory.on('reconnect', ({ code }) => codes.push(code));
    const frame = await kit.waitForFrame((f) => f.direction === 'in' && f.frame.type === 'hello');
    expect(frame.userId).toBeUndefined();
    await kit.waitFor(() => codes.length >= 2);
    expect(codes.slice(0, 2)).toEqual([4401, 4401]);
    expect(mallory.state).toBe('connecting');
    expect(kit.connections('mallory')).toHaveLength(0);
  });

  it('goes offline, queues sends in the outbox, and delivers them on goOnline', async () => {
    // Connected one after the other: see the README's note on presence while two sockets
    // authenticate at the same time.
    const alice = kit.client('alice');
    await kit.connected(alice);
    const bob = kit.client('bob');
    await kit.connected(bob);
    await kit.waitFor(() => bob.presence('alice')?.online === true);

    kit.goOffline('alice');
    await kit.waitFor(() => alice.state === 'offline');
    expect(kit.connections('alice')).toHaveLength(0);
    await kit.waitFor(() => bob.presence('alice')?.online === false);

    const pending = alice.conversation('c1').send('written offline');
    expect(alice.conversation('c1').messages.at(-1)).toMatchObject({ status: 'pending' });
    await bob.conversation('c1').send('while you were away');

    kit.goOnline('alice');
    await expect(pending).resolves.toMatchObject({ status: 'sent', seq: 2 });
    await kit.waitFor(() => alice.conversation('c1').messages.length === 2);
    expect(alice.conversation('c1').messages.map((m) => m.text)).toEqual([
      'while you were away',
      'written offline',
    ]);
    await kit.waitFor(() => bob.conversation('c1').messages.length === 2);
    await kit.waitFor(() => bob.presence('alice')?.online === true);
  });

  it('refuses reconnects while offline, also for clients the app made itself', async () => {
    const app = createClient({
      url: kit.url,
      token: kit.token('alice'),
      WebSocket: kit.WebSocket,
      reconnect: { minDelayMs: 5, maxDelayMs: 20 },
    });
    await kit.connected(app);
    const before = kit.frames.length;
    kit.goOffline('alice');
    // A second hello is refused before it reaches the hub.
    await kit.waitForFrame({ direction: 'in', type: 'hello', userId: 'alice' }, { from: before });
    expect(kit.connections('alice')).toHaveLength(0);
    expect(app.state).not.toBe('open');
    kit.goOnline('alice');
    await kit.connected(app);
    app.close();
  });

  it('drives typing expiry with fake timers', async () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    const alice = kit.client('alice');
    const bob = kit.client('bob');
    await kit.connected(alice);
    await kit.connected(bob);
    bob.conversation('c1').typing();
    await kit.waitFor(() => alice.conversation('c1').typingUsers.includes('bob'));
    // The hub's typing ttl is 6 s; bob's client sends `stop` after 5 s idle, so freeze bob's
    // connection first to see the receiver-side expiry.
    kit.goOffline('bob');
    await vi.advanceTimersByTimeAsync(5_999);
    expect(alice.conversation('c1').typingUsers).toEqual(['bob']);
    await vi.advanceTimersByTimeAsync(2);
    expect(alice.conversation('c1').typingUsers).toEqual([]);
  });

  it('counts listeners for leak checks', async () => {
    const alice = kit.client('alice');
    const base = listenerCounts(alice);
    const off = alice.conversation('c1').on('update', () => {});
    expect(listenerCounts(alice)['conversation:c1']).toBe(1);
    off();
    expect(listenerCounts(alice)).toEqual(base);
  });

  it('negotiates the subprotocol like a real adapter (4406 for anything but parley.v1)', async () => {
    const socket = new kit.WebSocket(kit.url, 'chat.v9') as unknown as WebSocket;
    const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener('close', resolve));
    expect((await closed).code).toBe(4406);

    const ok = new kit.WebSocket(kit.url, 'parley.v1') as unknown as WebSocket;
    await new Promise((resolve) => ok.addEventListener('open', resolve));
    expect(ok.protocol).toBe('parley.v1');
    ok.close();
  });

  it('lets server code publish through the real hub', async () => {
    const alice = kit.client('alice');
    await kit.connected(alice);
    const from = kit.frames.length;
    await kit.hub.publish('c1', { text: 'Deploy finished' });
    const f = await kit.waitForFrame(
      { direction: 'out', type: 'message', userId: 'alice' },
      { from },
    );
    expect(f.frame).toMatchObject({ message: { kind: 'system', text: 'Deploy finished', seq: 1 } });
    await kit.waitFor(() => alice.conversation('c1').messages.length === 1);
  });

  it('starts every test with an empty hub after reset()', async () => {
    const alice = kit.client('alice');
    await kit.connected(alice);
    expect(kit.hub.stats().messagesStored).toBe(0);
    expect(kit.frames.filter((f) => f.frame.type === 'hello')).toHaveLength(1);
  });
});

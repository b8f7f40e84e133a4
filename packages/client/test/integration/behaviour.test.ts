/** Offline sends, the persistent outbox and typing against the REAL hub. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createClient,
  localStorageOutbox,
  memoryStorage,
  type ParleyClient,
  type ReadEvent,
  type StateChange,
  type StoredMessage,
  type TypingEvent,
} from '../../src/index.js';
import { nextEvent, opened, until } from '../helpers/mock-hub.js';
import { startHub, type TestHub } from './hub.js';

let hub: TestHub | undefined;
const clients: ParleyClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

function connect(
  h: TestHub,
  token: string,
  extra: Partial<Parameters<typeof createClient>[0]> = {},
) {
  const c = createClient({
    url: h.url,
    token,
    WebSocket: h.WebSocket,
    reconnect: { minDelayMs: 5 },
    ...extra,
  });
  clients.push(c);
  return c;
}

describe('against the real hub', () => {
  it('a send while disconnected is pending at once and delivered after the reconnect', async () => {
    hub = await startHub();
    // A long first backoff window keeps the client down while it sends.
    const a = connect(hub, 'alice', { reconnect: { minDelayMs: 200 }, random: () => 0.999 });
    const b = connect(hub, 'bob');
    await Promise.all([opened(a), opened(b)]);
    const down = nextEvent<StateChange>(
      (l) => a.on('state', l),
      (s) => s.to === 'reconnecting',
    );
    hub.killServerSockets();
    await down;
    const conv = a.conversation('room');
    const p = conv.send('sent while offline');
    expect(conv.messages).toMatchObject([{ status: 'pending', text: 'sent while offline' }]);
    const atBob = nextEvent<StoredMessage>((l) => b.conversation('room').on('message', l));
    const stored = await p;
    expect(stored).toMatchObject({
      status: 'sent',
      seq: 1,
      senderId: 'alice',
      sender: { name: 'ALICE' },
    });
    expect(conv.messages).toEqual([stored]);
    expect((await atBob).clientMsgId).toBe(stored.clientMsgId);
  });

  it('connects with the default WebSocket (isomorphic-ws resolves to ws in Node)', async () => {
    hub = await startHub();
    const c = createClient({ url: hub.url, token: 'alice' });
    clients.push(c);
    await opened(c);
    expect((await c.conversation('room').send('hi')).senderId).toBe('alice');
  });

  it('the localStorage outbox survives a client restart', async () => {
    hub = await startHub();
    const storage = memoryStorage();
    const b = connect(hub, 'bob');
    await opened(b);
    // The first client never reaches a server.
    const first = createClient({
      url: 'ws://127.0.0.1:9/parley',
      token: 'alice',
      outbox: { storage: localStorageOutbox('parley:alice', storage) },
      reconnect: { minDelayMs: 60_000 },
    });
    const lost = first.conversation('room').send('from before the reload');
    const id = first.conversation('room').messages[0]!.clientMsgId;
    await until(() => expect(storage.getItem('parley:alice')).toContain(id));
    first.close();
    await expect(lost).rejects.toMatchObject({ code: 'client_closed', persisted: true });

    const atBob = nextEvent<StoredMessage>((l) => b.conversation('room').on('message', l));
    const second = connect(hub, 'alice', {
      outbox: { storage: localStorageOutbox('parley:alice', storage) },
    });
    expect(second.conversation('room').messages).toMatchObject([
      { status: 'pending', clientMsgId: id },
    ]);
    const m = await atBob;
    expect(m).toMatchObject({ clientMsgId: id, text: 'from before the reload', senderId: 'alice' });
    await until(() =>
      expect(second.conversation('room').messages).toMatchObject([
        { status: 'sent', clientMsgId: id },
      ]),
    );
    await until(() => expect(storage.getItem('parley:alice')).toBeNull());
  });

  it('typing: one start per throttle window reaches the other member, and it expires there', async () => {
    hub = await startHub({ typing: { ttlMs: 300 } });
    const a = connect(hub, 'alice', { typing: { throttleMs: 3_000, idleMs: 60_000 } });
    const b = connect(hub, 'bob');
    await Promise.all([opened(a), opened(b)]);
    const convB = b.conversation('room');
    const seen: boolean[] = [];
    convB.on('typing', (e) => seen.push(e.typing));
    const started = nextEvent<TypingEvent>(
      (l) => convB.on('typing', l),
      (e) => e.typing,
    );
    for (let i = 0; i < 20; i++) a.conversation('room').typing();
    expect(await started).toMatchObject({ userId: 'alice', typing: true, users: ['alice'] });
    // Expires after the hub's ttl without a refresh (alice keeps "typing" but is throttled).
    await nextEvent<TypingEvent>(
      (l) => convB.on('typing', l),
      (e) => !e.typing,
    );
    expect(convB.typingUsers).toEqual([]);
    expect(seen).toEqual([true, false]);
  });

  it('reads reach the other member and the unread count follows', async () => {
    hub = await startHub();
    const a = connect(hub, 'alice');
    const b = connect(hub, 'bob');
    await Promise.all([opened(a), opened(b)]);
    await a.conversation('room').send('one');
    await a.conversation('room').send('two');
    const convB = b.conversation('room');
    await until(() => expect(convB.unreadCount).toBe(2));
    const readAtA = nextEvent<ReadEvent>(
      (l) => a.conversation('room').on('read', l),
      (e) => e.userId === 'bob',
    );
    convB.markRead();
    expect(convB.unreadCount).toBe(0);
    expect(await readAtA).toEqual({ conversationId: 'room', userId: 'bob', seq: 2 });
    expect(a.conversation('room').reads.get('bob')).toBe(2);
  });
});

import { CloseCode, type Message } from '@parley/protocol';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  ClientClosedError,
  type ClientMessage,
  createClient,
  localStorageOutbox,
  memoryStorage,
  OutboxFullError,
  ServerError,
  type StateChange,
  type StoredMessage,
} from '../src/index.js';
import {
  mockedWebSocket,
  mockHub,
  nextEvent,
  opened,
  URL,
  until,
  useMockedClients,
} from './helpers/mock-hub.js';

const client = useMockedClients({ random: () => 0 });

const seqs = (ms: readonly ClientMessage[]) => ms.map((m) => m.seq);

describe('sending', () => {
  it('shows the optimistic message at once and replaces it in place with the stored one', async () => {
    const hub = mockHub();
    const c = client();
    await opened(c);
    const conv = c.conversation('c1');
    const p = conv.send('hello', { data: { x: 1 } });
    expect(conv.messages).toHaveLength(1);
    const optimistic = conv.messages[0]!;
    expect(optimistic).toMatchObject({
      status: 'pending',
      text: 'hello',
      data: { x: 1 },
      senderId: 'u1',
    });
    expect(optimistic.clientMsgId).toMatch(/^[0-9a-f-]{36}$/);
    const stored = await p;
    expect(stored).toMatchObject({
      status: 'sent',
      seq: 1,
      clientMsgId: optimistic.clientMsgId,
      text: 'hello',
    });
    expect(conv.messages).toEqual([stored]);
    const frame = hub.frames('send')[0];
    expect(frame).toEqual({
      type: 'send',
      ref: optimistic.clientMsgId,
      conversationId: 'c1',
      clientMsgId: optimistic.clientMsgId,
      text: 'hello',
      data: { x: 1 },
    });
    // The same message arriving again (broadcast, replay) is not duplicated.
    hub.conns[0]!.send({ type: 'message', message: hub.conversations.c1!.messages[0]! });
    hub.conns[0]!.send({
      type: 'replay',
      conversationId: 'c1',
      epoch: 'e1',
      seq: 1,
      messages: hub.conversations.c1!.messages,
    });
    await hub.conns[0]!.send({ type: 'pong' });
    await until(() => hub.conns[0]!.frames.length > 0);
    expect(conv.messages).toHaveLength(1);
  });

  it('keeps pending messages after stored ones, in send order', async () => {
    const hub = mockHub({ onFrame: (f) => f.type === 'send' });
    hub.store('c1', 'old');
    const c = client();
    const conv = c.conversation('c1');
    void conv.open();
    await opened(c);
    await until(() => expect(conv.messages).toHaveLength(1));
    void conv.send('a').catch(() => {});
    void conv.send('b').catch(() => {});
    expect(conv.messages.map((m) => [m.text, m.status])).toEqual([
      ['old', 'sent'],
      ['a', 'pending'],
      ['b', 'pending'],
    ]);
  });

  it('re-sends an unacknowledged message with the same clientMsgId after ackTimeoutMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let swallow = true;
    const hub = mockHub({ onFrame: (f) => f.type === 'send' && swallow });
    const c = client({ ackTimeoutMs: 1_000, heartbeat: { intervalMs: 60_000 } });
    await opened(c);
    const p = c.conversation('c1').send('retry me');
    await until(() => expect(hub.frames('send')).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(999);
    expect(hub.frames('send')).toHaveLength(1);
    swallow = false;
    await vi.advanceTimersByTimeAsync(1);
    await until(() => expect(hub.frames('send')).toHaveLength(2));
    const [a, b] = hub.frames('send');
    expect(a).toEqual(b);
    const stored = await p;
    expect(stored.seq).toBe(1);
    expect(c.conversation('c1').messages).toHaveLength(1);
  });

  it('puts in-flight sends back in the outbox when the link drops and flushes them in order first', async () => {
    let swallow = true;
    const hub = mockHub({ onFrame: (f) => f.type === 'send' && swallow });
    const c = client();
    await opened(c);
    const conv = c.conversation('c1');
    const p1 = conv.send('one');
    const p2 = conv.send('two');
    // One send per conversation is on the wire at a time (own send order): 'two' waits.
    await until(() => expect(hub.frames('send')).toHaveLength(1));
    swallow = false;
    const down = nextEvent<StateChange>(
      (l) => c.on('state', l),
      (x) => x.to === 'reconnecting',
    );
    hub.conns[0]!.close(CloseCode.GoingAway);
    await down;
    const p3 = conv.send('three');
    expect(conv.messages.map((m) => m.status)).toEqual(['pending', 'pending', 'pending']);
    const [m1, m2, m3] = await Promise.all([p1, p2, p3]);
    expect([m1.seq, m2.seq, m3.seq]).toEqual([1, 2, 3]);
    const sent = (n: number) => hub.conns[n]!.frames.flatMap((f) => (f.type === 'send' ? [f] : []));
    expect(sent(1).map((f) => f.text)).toEqual(['one', 'two', 'three']);
    // The in-flight send went again with the same clientMsgId.
    expect(sent(1)[0]!.clientMsgId).toBe(sent(0)[0]!.clientMsgId);
    expect(seqs(conv.messages)).toEqual([1, 2, 3]);
  });

  it('a send while offline shows as pending at once and is delivered after reconnect', async () => {
    const hub = mockHub();
    const c = client({ autoConnect: false });
    const conv = c.conversation('c1');
    const p = conv.send('offline');
    expect(conv.messages).toMatchObject([{ status: 'pending', text: 'offline' }]);
    expect(hub.conns).toHaveLength(0);
    c.connect();
    expect(await p).toMatchObject({ status: 'sent', seq: 1 });
    expect(conv.messages).toMatchObject([{ status: 'sent', seq: 1 }]);
  });

  it('marks a refused send failed, rejects with a typed error, and retry() sends it again', async () => {
    let refuse = true;
    const hub = mockHub({
      onFrame: (f, conn) => {
        if (f.type !== 'send' || !refuse) return false;
        conn.send({
          type: 'error',
          ref: f.ref,
          code: 'rejected',
          message: 'spam',
          clientMsgId: f.clientMsgId,
          conversationId: f.conversationId,
        });
        return true;
      },
    });
    const c = client();
    await opened(c);
    const conv = c.conversation('c1');
    const p = conv.send('buy now');
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ code: 'rejected', name: 'ServerError', message: 'spam' });
    const failed = conv.messages[0]!;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'rejected' } });
    refuse = false;
    if (failed.status !== 'failed') throw new Error('unreachable');
    const stored = await failed.retry();
    expect(stored.clientMsgId).toBe(failed.clientMsgId);
    expect(conv.messages).toEqual([stored]);
    expect(hub.frames('send')).toHaveLength(2);
  });

  it('retries after retryAfterMs when rate limited', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let limited = true;
    const hub = mockHub({
      onFrame: (f, conn) => {
        if (f.type !== 'send' || !limited) return false;
        limited = false;
        conn.send({
          type: 'error',
          code: 'rate_limited',
          message: 'slow down',
          clientMsgId: f.clientMsgId,
          retryAfterMs: 700,
        });
        return true;
      },
    });
    const c = client({ heartbeat: { intervalMs: 60_000 } });
    await opened(c);
    const p = c.conversation('c1').send('hi');
    await until(() => expect(hub.frames('send')).toHaveLength(1));
    await vi.advanceTimersByTimeAsync(699);
    expect(hub.frames('send')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(p).resolves.toMatchObject({ seq: 1 });
  });

  it('rejects sends that can never succeed', async () => {
    mockHub();
    const c = client({ autoConnect: false, outbox: { maxItems: 1 } });
    const conv = c.conversation('c1');
    await expect(conv.send('x'.repeat(10_001))).rejects.toMatchObject({
      code: 'too_large',
      field: 'text',
    });
    expect(conv.messages).toHaveLength(0);
    const first = conv.send('queued');
    await expect(conv.send('overflow')).rejects.toBeInstanceOf(OutboxFullError);
    expect(conv.messages).toHaveLength(1);
    c.close();
    await expect(first).rejects.toBeInstanceOf(ClientClosedError);
    await expect(first).rejects.toMatchObject({ code: 'client_closed', persisted: false });
    await expect(conv.send('late')).rejects.toMatchObject({ code: 'client_closed' });
  });

  it('persists the outbox: a new client over the same storage shows and flushes it', async () => {
    const storage = memoryStorage();
    const hub = mockHub();
    const a = client({ autoConnect: false, outbox: { storage: localStorageOutbox('k', storage) } });
    const lost = a.conversation('c1').send('survives');
    const id = a.conversation('c1').messages[0]!.clientMsgId;
    await until(() => expect(storage.getItem('k')).toContain('survives'));
    a.close();
    await expect(lost).rejects.toMatchObject({ persisted: true });
    expect(storage.getItem('k')).toContain(id);

    const b = client({ autoConnect: false, outbox: { storage: localStorageOutbox('k', storage) } });
    expect(b.conversation('c1').messages).toMatchObject([
      { status: 'pending', text: 'survives', clientMsgId: id },
    ]);
    const delivered = nextEvent<StoredMessage>((l) => b.conversation('c1').on('message', l));
    b.connect();
    expect(await delivered).toMatchObject({ clientMsgId: id, seq: 1, status: 'sent' });
    expect(b.conversation('c1').messages).toMatchObject([{ status: 'sent', clientMsgId: id }]);
    await until(() => expect(storage.getItem('k')).toBeNull());
    expect(hub.frames('send')).toHaveLength(1);
  });
});

describe('ordering and recovery', () => {
  it('restored optimistic messages learn the sender id at the first welcome', async () => {
    const storage = memoryStorage();
    localStorageOutbox('k', storage).save([
      { clientMsgId: 'restored-1', conversationId: 'c1', text: 'from storage', createdAt: 1 },
    ]);
    mockHub({ onFrame: (f) => f.type === 'send' });
    const c = client({ autoConnect: false, outbox: { storage: localStorageOutbox('k', storage) } });
    expect(c.conversation('c1').messages).toMatchObject([{ status: 'pending', senderId: '' }]);
    c.connect();
    await opened(c);
    expect(c.conversation('c1').messages).toMatchObject([
      { status: 'pending', senderId: 'u1', clientMsgId: 'restored-1' },
    ]);
  });

  it('fills a seq gap with a sync and never shows a hole', async () => {
    const hub = mockHub();
    const c = client();
    await opened(c);
    const conv = c.conversation('c1');
    const seen: number[] = [];
    conv.on('message', (m) => seen.push(m.seq));
    const snapshots: Array<Array<number | undefined>> = [];
    conv.on('update', () => snapshots.push(seqs(conv.messages)));
    const m1 = hub.store('c1', 'one');
    const m2 = hub.store('c1', 'two');
    const m3 = hub.store('c1', 'three');
    hub.conns[0]!.send({ type: 'message', message: m1 });
    hub.conns[0]!.send({ type: 'message', message: m3 });
    const sync = await hub.waitForFrame((f) => f.type === 'sync');
    expect(sync).toEqual({
      type: 'sync',
      ref: expect.any(String),
      conversationId: 'c1',
      after: 1,
      epoch: 'e1',
    });
    await until(() => expect(seqs(conv.messages)).toEqual([1, 2, 3]));
    // The late duplicate of 2 is dropped.
    hub.conns[0]!.send({ type: 'message', message: m2 });
    expect(seen).toEqual([1, 2, 3]);
    for (const s of snapshots) expect(s).toEqual(Array.from({ length: s.length }, (_, i) => i + 1));
    expect(conv.seq).toBe(3);
  });

  it('surfaces a reset (epoch changed) on the conversation and the client', async () => {
    const hub = mockHub();
    hub.store('c1', 'one');
    const c = client();
    const conv = c.conversation('c1');
    void conv.open();
    await opened(c);
    await until(() => expect(conv.messages).toHaveLength(1));
    hub.conversations.c1 = { epoch: 'e2', messages: [] };
    hub.store('c1', 'new 1');
    hub.store('c1', 'new 2');
    const convReset = nextEvent((l) => conv.on('reset', l));
    const clientReset = nextEvent((l) => c.on('reset', l));
    hub.conns[0]!.close(CloseCode.GoingAway);
    const ev = await convReset;
    expect(ev).toEqual({ conversationId: 'c1', reason: 'epoch_changed', epoch: 'e2', seq: 2 });
    expect(await clientReset).toEqual(ev);
    expect(conv.messages).toHaveLength(0);
    expect(conv.epoch).toBe('e2');
    const older = await conv.loadOlder(10);
    expect(older.map((m) => m.text)).toEqual(['new 1', 'new 2']);
    expect(seqs(conv.messages)).toEqual([1, 2]);
  });

  it('loadOlder prepends pages of history after a trimmed reset', async () => {
    const hub = mockHub({
      onFrame: (f, conn) => {
        if (f.type !== 'hello') return false;
        conn.send({
          type: 'welcome',
          protocol: 1,
          sessionId: 's',
          user: { id: 'u1' },
          conversations: [{ id: 'c1', seq: 5, epoch: 'e1', readSeq: 0, unread: 0 }],
          presence: [],
          heartbeat: { intervalMs: 30_000, timeoutMs: 10_000 },
          limits: { maxFrameBytes: 65_536, maxTextLength: 10_000 },
        });
        conn.send({ type: 'reset', conversationId: 'c1', epoch: 'e1', seq: 5, reason: 'trimmed' });
        return true;
      },
    });
    for (let i = 1; i <= 5; i++) hub.store('c1', `m${i}`);
    const c = client();
    const conv = c.conversation('c1');
    const reset = nextEvent((l) => conv.on('reset', l));
    await opened(c);
    expect(await reset).toMatchObject({ reason: 'trimmed', seq: 5 });
    expect(conv.messages).toEqual([]);
    expect((await conv.loadOlder(2)).map((m) => m.seq)).toEqual([4, 5]);
    expect(conv.hasMore).toBe(true);
    expect((await conv.loadOlder(2)).map((m) => m.seq)).toEqual([2, 3]);
    expect((await conv.loadOlder(5)).map((m) => m.seq)).toEqual([1]);
    expect(conv.hasMore).toBe(false);
    expect(seqs(conv.messages)).toEqual([1, 2, 3, 4, 5]);
    expect(hub.frames('history')[0]).toMatchObject({
      type: 'history',
      conversationId: 'c1',
      before: 6,
      limit: 2,
    });
    // A live message continues after the reset cursor.
    hub.conns[0]!.send({ type: 'message', message: hub.store('c1', 'm6') });
    await until(() => expect(seqs(conv.messages)).toEqual([1, 2, 3, 4, 5, 6]));
  });

  it('rejects loadOlder while disconnected', async () => {
    const hub = mockHub();
    const c = client({ reconnect: { minDelayMs: 60_000 }, random: () => 0.5 });
    await opened(c);
    hub.conns[0]!.send({ type: 'joined', conversationId: 'c2', seq: 4, epoch: 'x' });
    await until(() => expect(c.conversation('c2').seq).toBe(4));
    const down = nextEvent<StateChange>(
      (l) => c.on('state', l),
      (x) => x.to === 'reconnecting',
    );
    hub.conns[0]!.close(CloseCode.GoingAway);
    await down;
    await expect(c.conversation('c2').loadOlder()).rejects.toMatchObject({
      code: 'disconnected',
      name: 'DisconnectedError',
    });
  });
});

describe('typing, reads, presence, inbox, events', () => {
  it('sends at most one typing start per throttle window and stops after idling and on send', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub();
    const c = client({ heartbeat: { intervalMs: 600_000 } });
    await opened(c);
    const conv = c.conversation('c1');
    for (let t = 0; t < 7_000; t += 100) {
      conv.typing();
      await vi.advanceTimersByTimeAsync(100);
    }
    const typing = () => hub.frames('typing').map((f) => f.type === 'typing' && f.state);
    expect(typing()).toEqual(['start', 'start', 'start']);
    // The last typing() was at 6 900 ms: the idle stop comes 5 000 ms later.
    await vi.advanceTimersByTimeAsync(4_899);
    expect(typing()).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(typing()).toEqual(['start', 'start', 'start', 'stop']);
    conv.typing();
    await conv.send('done');
    await until(() => expect(typing()).toHaveLength(6));
    expect(typing()).toEqual(['start', 'start', 'start', 'stop', 'start', 'stop']);
  });

  it('expires remote typing after the ttl', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub();
    const c = client({ heartbeat: { intervalMs: 600_000 } });
    await opened(c);
    const conv = c.conversation('c1');
    const events: boolean[] = [];
    conv.on('typing', (e) => events.push(e.typing));
    hub.conns[0]!.send({
      type: 'typing',
      conversationId: 'c1',
      userId: 'u2',
      state: 'start',
      ttlMs: 6_000,
    });
    await until(() => expect(conv.typingUsers).toEqual(['u2']));
    expect(c.inbox()[0]!.typingUsers).toEqual(['u2']);
    await vi.advanceTimersByTimeAsync(5_999);
    expect(conv.typingUsers).toEqual(['u2']);
    await vi.advanceTimersByTimeAsync(1);
    expect(conv.typingUsers).toEqual([]);
    expect(events).toEqual([true, false]);
  });

  it('tracks reads and unread counts; markRead is monotonic', async () => {
    const hub = mockHub();
    hub.store('c1', 'a');
    hub.store('c1', 'b');
    hub.store('c1', 'c');
    const c = client();
    const conv = c.conversation('c1');
    void conv.open();
    await opened(c);
    await until(() => expect(conv.messages).toHaveLength(3));
    expect(conv.unreadCount).toBe(3);
    conv.markRead(1);
    expect(conv.unreadCount).toBe(2);
    conv.markRead();
    expect(conv.readSeq).toBe(3);
    conv.markRead(2);
    expect(conv.readSeq).toBe(3);
    // The frame is debounced (test/reads.test.ts): one, with the newest seq.
    await until(() => expect(hub.frames('read')).toHaveLength(1));
    expect(hub.frames('read')).toEqual([{ type: 'read', conversationId: 'c1', seq: 3 }]);
    hub.conns[0]!.send({ type: 'read', conversationId: 'c1', userId: 'u2', seq: 2 });
    await until(() => expect(conv.reads.get('u2')).toBe(2));
    expect(c.inbox()).toMatchObject([
      { conversationId: 'c1', unreadCount: 0, lastMessage: { text: 'c' } },
    ]);
  });

  it('presence, joined and left', async () => {
    const hub = mockHub();
    const c = client();
    await opened(c);
    const inboxes: number[] = [];
    c.on('inbox', (rows) => inboxes.push(rows.length));
    hub.conns[0]!.send({ type: 'presence', userId: 'u2', online: true });
    await until(() => expect(c.presence('u2')).toEqual({ userId: 'u2', online: true }));
    const joined = nextEvent((l) => c.on('conversation', l));
    hub.conns[0]!.send({ type: 'joined', conversationId: 'c2', seq: 4, epoch: 'x' });
    expect(await joined).toEqual({ type: 'joined', conversationId: 'c2' });
    expect(c.conversation('c2').seq).toBe(4);
    const left = new Promise<void>((resolve) => c.conversation('c2').on('left', resolve));
    hub.conns[0]!.send({ type: 'left', conversationId: 'c2' });
    await left;
    expect(c.inbox().map((e) => e.conversationId)).toEqual(['c1']);
    expect(inboxes).toContain(2);
    expect(inboxes.at(-1)).toBe(1);
  });

  it('validates custom events on send and receive', async () => {
    const { z } = await import('zod');
    const { defineEvents } = await import('@parley/protocol');
    const events = defineEvents({ 'call.offer': z.object({ sdp: z.string() }) });
    const hub = mockHub();
    const c = createClient({ url: URL, WebSocket: mockedWebSocket(), events });
    onTestFinished(() => c.close());
    await nextEvent<StateChange>(
      (l) => c.on('state', l),
      (s) => s.to === 'open',
    );
    await c.conversation('c1').emit('call.offer', { sdp: 'v=0' });
    await c.emit('call.offer', { userId: 'u2' }, { sdp: 'x' });
    expect(hub.frames('event')).toEqual([
      {
        type: 'event',
        ref: expect.any(String),
        name: 'call.offer',
        conversationId: 'c1',
        payload: { sdp: 'v=0' },
      },
      {
        type: 'event',
        ref: expect.any(String),
        name: 'call.offer',
        userId: 'u2',
        payload: { sdp: 'x' },
      },
    ]);
    // @ts-expect-error: the payload is typed by the app's schema
    await expect(c.emit('call.offer', { userId: 'u2' }, { sdp: 1 })).rejects.toMatchObject({
      code: 'invalid_frame',
    });
    const got: unknown[] = [];
    c.on('event', (e) => got.push(e.payload.sdp));
    const convGot = nextEvent((l) => c.conversation('c1').on('event', l));
    hub.conns[0]!.send({ type: 'event', name: 'call.offer', from: 'u2', payload: { sdp: 1 } });
    hub.conns[0]!.send({ type: 'event', name: 'nope', from: 'u2', payload: {} });
    hub.conns[0]!.send({ type: 'event', name: 'call.offer', from: 'u2', payload: { sdp: 'ok' } });
    hub.conns[0]!.send({
      type: 'event',
      name: 'call.offer',
      from: 'u2',
      conversationId: 'c1',
      payload: { sdp: 'conv' },
    });
    expect(await convGot).toEqual({
      name: 'call.offer',
      from: 'u2',
      conversationId: 'c1',
      payload: { sdp: 'conv' },
    });
    expect(got).toEqual(['ok']);
  });
});

// Keep the Message import used for type-level documentation of the mock.
export type { Message };

/**
 * The outbox's promises (issue 14): own send order holds across retryable errors, the outbox is
 * paced by the hub's advertised rate limit, every retry path has a cap or a typed failure, a frame
 * that can never fit fails at once, and a send older than the hub's dedupe window is never
 * retried with the same id.
 */
import type { ClientFrame } from '@parley/protocol';
import { describe, expect, it, vi } from 'vitest';
import {
  type ClientMessage,
  localStorageOutbox,
  memoryStorage,
  type OptimisticMessage,
  ServerError,
} from '../src/index.js';
import { type MockConn, mockHub, opened, until, useMockedClients } from './helpers/mock-hub.js';

const client = useMockedClients({ random: () => 0, heartbeat: { intervalMs: 600_000 } });

const texts = (ms: readonly ClientMessage[]) => ms.map((m) => m.text);
const failedEntry = (ms: readonly ClientMessage[]): OptimisticMessage => {
  const m = ms.find((x) => x.status === 'failed');
  if (m === undefined || m.status !== 'failed') throw new Error('no failed entry');
  return m;
};

/** Answers `send` frames with an error while `refuse(frame)` returns one. */
function refusing(
  refuse: (f: Extract<ClientFrame, { type: 'send' }>, n: number) => Record<string, unknown> | null,
) {
  let n = 0;
  return (f: ClientFrame, conn: MockConn) => {
    if (f.type !== 'send') return false;
    const err = refuse(f, n++);
    if (err === null) return false;
    conn.send({
      type: 'error',
      ref: f.ref,
      clientMsgId: f.clientMsgId,
      conversationId: f.conversationId,
      message: 'refused',
      code: 'unavailable',
      ...err,
    } as never);
    return true;
  };
}

describe('own send order (defect 2)', () => {
  it.each([
    ['rate_limited', { code: 'rate_limited', retryAfterMs: 50 }],
    ['unavailable', { code: 'unavailable', retryAfterMs: 50 }],
  ])('a %s send blocks the sends behind it in its conversation', async (_name, error) => {
    const hub = mockHub({ onFrame: refusing((_f, n) => (n === 0 ? error : null)) });
    const c = client();
    await opened(c);
    const conv = c.conversation('c1');
    const results = await Promise.all([conv.send('first'), conv.send('second')]);
    expect(results.map((m) => m.text)).toEqual(['first', 'second']);
    expect(hub.conversations.c1!.messages.map((m) => m.text)).toEqual(['first', 'second']);
    expect(texts(conv.messages)).toEqual(['first', 'second']);
  });

  it('other conversations keep going while one waits for its retry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub({
      conversations: { c1: { epoch: 'e1', messages: [] }, c2: { epoch: 'e2', messages: [] } },
      onFrame: refusing((f) =>
        f.conversationId === 'c1' ? { code: 'unavailable', retryAfterMs: 60_000 } : null,
      ),
    });
    const c = client();
    await opened(c);
    void c
      .conversation('c1')
      .send('stuck')
      .catch(() => {});
    await expect(c.conversation('c2').send('free')).resolves.toMatchObject({ seq: 1 });
    expect(hub.conversations.c2!.messages).toHaveLength(1);
  });
});

/** A token bucket like the hub's; counts the frames it would refuse. */
function bucket(burst: number, perSecond: number) {
  let tokens = burst;
  let last = Date.now();
  const counts = { ok: 0, refused: 0 };
  return {
    counts,
    take(): boolean {
      const t = Date.now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * perSecond);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        counts.ok++;
        return true;
      }
      counts.refused++;
      return false;
    },
  };
}

describe('pacing by the advertised rate limit (defect 3)', () => {
  it('drains a queued outbox within welcome.limits.rate, in order, without one refusal', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const rate = bucket(5, 10);
    const hub = mockHub({
      limits: { rate: { burst: 5, perSecond: 10 } },
      onFrame: (f, conn) => {
        if (f.type === 'hello' || f.type === 'ping' || f.type === 'pong') return false;
        if (rate.take()) return false;
        conn.send({
          type: 'error',
          code: 'rate_limited',
          message: 'slow down',
          retryAfterMs: 100,
          ...(f.type === 'send' ? { ref: f.ref, clientMsgId: f.clientMsgId } : {}),
        });
        return true;
      },
    });
    const c = client({ autoConnect: false });
    const conv = c.conversation('c1');
    const sends = Array.from({ length: 30 }, (_, i) => conv.send(`m${i}`));
    c.connect();
    await opened(c);
    await vi.advanceTimersByTimeAsync(10_000);
    const stored = await Promise.all(sends);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(hub.conversations.c1!.messages.map((m) => m.text)).toEqual(
      Array.from({ length: 30 }, (_, i) => `m${i}`),
    );
    expect(rate.counts.refused).toBe(0);
    expect(hub.frames('send')).toHaveLength(30);
  });

  it('after a rate_limited answer the whole outbox waits retryAfterMs, then resumes paced', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let limited = false;
    const hub = mockHub({
      conversations: { c1: { epoch: 'e1', messages: [] }, c2: { epoch: 'e2', messages: [] } },
      onFrame: refusing(() => {
        if (limited) return null;
        limited = true;
        return { code: 'rate_limited', retryAfterMs: 1_000 };
      }),
    });
    const c = client();
    await opened(c);
    const a = c.conversation('c1').send('a');
    await until(() => expect(hub.frames('send')).toHaveLength(1));
    await until(() => expect(limited).toBe(true));
    // Sent during the pause: held back until retryAfterMs has passed.
    const b = c.conversation('c2').send('b');
    await vi.advanceTimersByTimeAsync(999);
    expect(hub.frames('send')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(Promise.all([a, b])).resolves.toHaveLength(2);
  });
});

describe('every retry path ends (defect 4)', () => {
  it('a frame that JSON escaping pushes past maxFrameBytes fails at once with too_large', async () => {
    const hub = mockHub({ limits: { maxFrameBytes: 2_000 } });
    const c = client();
    await opened(c);
    const conv = c.conversation('c1');
    // 1,000 characters, 1,000 bytes of text: 2,000+ bytes once every quote is escaped.
    const err = await conv.send('"'.repeat(1_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ code: 'too_large' });
    expect(hub.frames('send')).toHaveLength(0);
    expect(conv.messages).toEqual([]);
    // Something that fits still goes.
    await expect(conv.send('"'.repeat(400))).resolves.toMatchObject({ seq: 1 });
  });

  it('a restored item is re-checked against the limits of each welcome', async () => {
    const storage = memoryStorage();
    localStorageOutbox('k', storage).save([
      { clientMsgId: 'big', conversationId: 'c1', text: 'x'.repeat(3_000), createdAt: Date.now() },
      { clientMsgId: 'small', conversationId: 'c1', text: 'ok', createdAt: Date.now() },
    ]);
    const hub = mockHub({ limits: { maxFrameBytes: 1_024 } });
    const c = client({ autoConnect: false, outbox: { storage: localStorageOutbox('k', storage) } });
    const conv = c.conversation('c1');
    expect(conv.messages.map((m) => m.status)).toEqual(['pending', 'pending']);
    c.connect();
    await opened(c);
    await until(() =>
      expect(conv.messages.map((m) => [m.clientMsgId, m.status])).toEqual([
        ['small', 'sent'],
        ['big', 'failed'],
      ]),
    );
    expect(failedEntry(conv.messages).error).toMatchObject({ code: 'too_large' });
    expect(hub.frames('send').map((f) => f.type === 'send' && f.clientMsgId)).toEqual(['small']);
    await until(() => expect(storage.getItem('k')).toBeNull());
  });

  it('unavailable is retried with backoff up to outbox.maxRetries, then fails; retry() sends again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let down = true;
    const hub = mockHub({ onFrame: refusing(() => (down ? { code: 'unavailable' } : null)) });
    const c = client({ outbox: { maxRetries: 3 } });
    await opened(c);
    const conv = c.conversation('c1');
    const p = conv.send('hello');
    const settled = p.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(120_000);
    const err = await settled;
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ code: 'unavailable' });
    // The first attempt and three retries.
    expect(hub.frames('send')).toHaveLength(4);
    const failed = failedEntry(conv.messages);
    down = false;
    const stored = await failed.retry();
    expect(stored.clientMsgId).toBe(failed.clientMsgId);
    expect(conv.messages).toEqual([stored]);
  });

  it('unanswered sends are re-sent after ackTimeoutMs at most outbox.maxRetries times', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub({ onFrame: (f) => f.type === 'send' });
    const c = client({ ackTimeoutMs: 1_000, outbox: { maxRetries: 2 } });
    await opened(c);
    const settled = c
      .conversation('c1')
      .send('into the void')
      .then(
        () => 'resolved',
        (e: unknown) => e,
      );
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await settled).toMatchObject({ code: 'timeout', name: 'TimeoutError' });
    expect(hub.frames('send')).toHaveLength(3);
  });
  it('a send the hub keeps closing with 1009 fails with too_large after outbox.maxRetries', async () => {
    // A hub whose real frame limit is below the one it announced.
    const hub = mockHub({
      onFrame: (f, conn) => {
        if (f.type !== 'send') return false;
        conn.close(1009, 'frame too large');
        return true;
      },
    });
    const c = client({ outbox: { maxRetries: 2 } });
    await opened(c);
    const err = await c
      .conversation('c1')
      .send('big for this hub')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'too_large' });
    // The first attempt and two retries, each on a new link.
    expect(hub.frames('send')).toHaveLength(3);
    expect(hub.conns.length).toBeGreaterThanOrEqual(3);
  });
});

describe('the dedupe window bounds the outbox (defect 12)', () => {
  it('a send older than welcome.limits.dedupeWindowMs fails with expired; retry() uses a fresh id', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub({ limits: { dedupeWindowMs: 10_000 } });
    const c = client({ autoConnect: false });
    const conv = c.conversation('c1');
    const p = conv.send('old news').catch((e: unknown) => e);
    const oldId = conv.messages[0]!.clientMsgId;
    await vi.advanceTimersByTimeAsync(10_000);
    c.connect();
    await opened(c);
    expect(await p).toMatchObject({ code: 'expired', name: 'ExpiredError' });
    expect(hub.frames('send')).toHaveLength(0);
    const failed = failedEntry(conv.messages);
    const stored = await failed.retry();
    expect(stored.clientMsgId).not.toBe(oldId);
    expect(conv.messages).toEqual([stored]);
    expect(hub.conversations.c1!.messages).toHaveLength(1);
  });

  it('an unacknowledged send is not re-sent with the same id once the window has passed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const hub = mockHub({
      limits: { dedupeWindowMs: 5_000 },
      onFrame: (f) => f.type === 'send',
    });
    const c = client({ ackTimeoutMs: 4_000 });
    await opened(c);
    const p = c
      .conversation('c1')
      .send('lost')
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(await p).toMatchObject({ code: 'expired' });
    expect(hub.frames('send')).toHaveLength(2);
  });
});

/**
 * The Redis engine's per-frame commands (append, setRead, publish) issued in one event-loop turn
 * leave in one socket write (issue 15): Redis reads them together and answers in one write.
 * Counted on the command connection's socket (`_write` / `_writev`, what Node's stream calls once
 * per system write), on the shared Redis. Also: nothing is lost when the link drops with writes
 * held, and an app's fake timers cannot hold them.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { setTimeout as realSetTimeout } from 'node:timers';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createRedisEngine, type RedisEngine } from '../../src/engines/redis/index.js';
import type { Envelope } from '../../src/engines/types.js';
import { Collector, deleteKeys, draft, REDIS_URL, requireRedis, uniquePrefix } from './helpers.js';

const available = await requireRedis('redis engine: coalesced appends');

/** Counts the system writes of the engine's command socket from now on. */
function countWrites(engine: RedisEngine): { readonly count: number; restore(): void } {
  const stream = (engine.redis as Redis).stream as Socket & {
    _write: (...a: unknown[]) => void;
    _writev: (...a: unknown[]) => void;
  };
  const write = vi.spyOn(stream, '_write');
  const writev = vi.spyOn(stream, '_writev');
  return {
    get count() {
      return write.mock.calls.length + writev.mock.calls.length;
    },
    restore() {
      write.mockRestore();
      writev.mockRestore();
    },
  };
}

describe.skipIf(!available)('redis engine: commands of one turn leave together', () => {
  const prefix = uniquePrefix();
  const engines: RedisEngine[] = [];
  const engine = (): RedisEngine => {
    // No health check: its PING is a write of its own, and this suite counts writes.
    const e = createRedisEngine({ redis: REDIS_URL, keyPrefix: prefix, health: false });
    engines.push(e);
    return e;
  };
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await deleteKeys(prefix);
  });
  /** A fresh engine whose command connection is ready (one append made), and its conversation. */
  const ready = async (
    tag: string,
    seen?: Collector<Envelope>,
  ): Promise<{ e: RedisEngine; conv: string }> => {
    const e = engine();
    const conv = `${tag}-${randomUUID()}`;
    if (seen !== undefined) await e.subscribe(`conv:${conv}`, seen.push);
    await e.append({ draft: draft(conv, 'warm-up') });
    return { e, conv };
  };

  it('sends 20 appends made in one turn in one write; each is stored and published once, in order', async () => {
    const seen = new Collector<Envelope>();
    const { e, conv } = await ready('batch', seen);
    const writes = countWrites(e);
    try {
      const all = Array.from({ length: 20 }, (_, i) => e.append({ draft: draft(conv, `m${i}`) }));
      const results = await Promise.all(all);
      expect(writes.count).toBe(1);
      expect(results.map((r) => [r.duplicate, r.message.seq, r.message.text])).toEqual(
        Array.from({ length: 20 }, (_, i) => [false, i + 2, `m${i}`]),
      );
    } finally {
      writes.restore();
    }
    await seen.until((items) => items.length === 21);
    expect(seen.items.map((x) => (x.kind === 'message' ? x.message.seq : -1))).toEqual(
      Array.from({ length: 21 }, (_, i) => i + 1),
    );
  });

  it('sends the read positions and signals of one turn with its appends, in one write', async () => {
    const seen = new Collector<Envelope>();
    const { e, conv } = await ready('mixed', seen);
    const writes = countWrites(e);
    try {
      // Not led by an append: each kind of command starts the held write by itself.
      await Promise.all([
        e.setRead(conv, 'bob', 1),
        e.publish(`conv:${conv}`, {
          kind: 'typing',
          conversationId: conv,
          userId: 'bob',
          state: 'start',
        }),
        e.append({ draft: draft(conv, 'hello') }),
        e.setRead(conv, 'carol', 2),
      ]);
      expect(writes.count).toBe(1);
    } finally {
      writes.restore();
    }
    expect(await e.reads(conv)).toMatchObject({ bob: 1, carol: 2 });
    await seen.until((items) => items.some((x) => x.kind === 'typing'));
  });

  it('sends appends of successive turns as they come (nothing waits for a later one)', async () => {
    const { e, conv } = await ready('turns');
    const writes = countWrites(e);
    try {
      for (let i = 0; i < 5; i++) {
        const r = await e.append({ draft: draft(conv, `t${i}`) });
        expect(r.message.seq).toBe(i + 2);
      }
      expect(writes.count).toBe(5);
    } finally {
      writes.restore();
    }
  });

  it("still sends under an app's fake timers (the held writes never wait for a faked setImmediate)", async () => {
    const { e, conv } = await ready('fake');
    vi.useFakeTimers(); // vitest's defaults fake setImmediate too
    try {
      const r = await Promise.race([
        e.append({ draft: draft(conv, 'under fake timers') }),
        new Promise<'stuck'>((resolve) => {
          // A real timer (node:timers is not faked) bounds the wait.
          realSetTimeout(() => resolve('stuck'), 2_000).unref();
        }),
      ]);
      expect(r === 'stuck' ? r : r.message.seq).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('loses nothing when the connection drops with appends held for the turn: each lands once', async () => {
    const { e, conv } = await ready('drop');
    const drafts = Array.from({ length: 10 }, (_, i) => draft(conv, `d${i}`));
    const pending = drafts.map((d) => e.append({ draft: d }));
    // Still in the same turn: the writes are held; the socket goes away under them.
    (e.redis as Redis).stream.destroy();
    // ioredis resends what got no reply; a resend of one that did reach Redis is a duplicate.
    const results = await Promise.all(pending);
    const seqs = results.map((r) => r.message.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 2));
    const page = await e.page(conv, undefined, 50);
    expect(page.messages.map((m) => m.text)).toEqual(['warm-up', ...drafts.map((d) => d.text)]);
  });
});

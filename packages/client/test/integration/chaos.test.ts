/**
 * Against the REAL hub: connections killed at random points (seeded) while two clients send 200
 * messages. Every client ends with all 200, in seq order, without duplicates; every optimistic
 * entry is replaced by its stored message; every `send` promise settles.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type ParleyClient } from '../../src/index.js';
import { opened, until } from '../helpers/mock-hub.js';
import { prng, startHub, type TestHub } from './hub.js';

let hub: TestHub | undefined;
const clients: ParleyClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

function connect(h: TestHub, token: string, random: () => number) {
  const c = createClient({
    url: h.url,
    token,
    WebSocket: h.WebSocket,
    random,
    reconnect: { minDelayMs: 5, maxDelayMs: 50 },
    ackTimeoutMs: 1_000,
  });
  clients.push(c);
  return c;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([1, 2, 3, 4, 5])('chaos (seed %i)', (seed) => {
  it('delivers 200 messages from two clients exactly once, in order, despite killed links', async () => {
    const random = prng(seed);
    hub = await startHub({
      limits: { rate: { burst: 1_000, perSecond: 1_000, floodThreshold: 10_000 } },
    });
    const a = connect(hub, 'alice', random);
    const b = connect(hub, 'bob', random);
    await Promise.all([opened(a), opened(b)]);
    let drops = 0;
    for (const c of [a, b]) c.on('state', (s) => s.from === 'open' && drops++);

    const sends: Promise<unknown>[] = [];
    let kills = 0;
    const h = hub;
    for (let i = 0; i < 100; i++) {
      sends.push(a.conversation('room').send(`a${i}`));
      sends.push(b.conversation('room').send(`b${i}`));
      const r = random();
      if (r < 0.08) kills += hub.killClientSockets();
      else if (r < 0.16) kills += hub.killServerSockets();
      if (random() < 0.3) await delay(Math.floor(random() * 10));
    }
    // Keep killing while the outbox flushes and acks come back.
    let settled = false;
    const killer = (async () => {
      for (let n = 0; n < 6 && !settled; n++) {
        await delay(Math.floor(random() * 15));
        if (settled) break;
        kills += random() < 0.5 ? h.killClientSockets() : h.killServerSockets();
      }
    })();
    const results = await Promise.allSettled(sends);
    settled = true;
    await killer;
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(kills).toBeGreaterThan(0);
    expect(drops).toBeGreaterThan(0);

    for (const c of [a, b]) {
      const conv = c.conversation('room');
      await until(() => expect(conv.messages.length).toBe(200), 2_000);
      const msgs = conv.messages;
      expect(msgs.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(msgs.every((m) => m.status === 'sent')).toBe(true);
      expect(new Set(msgs.map((m) => m.clientMsgId)).size).toBe(200);
      // Each sender's own messages appear in its send order.
      const texts = msgs.map((m) => m.text);
      for (const p of ['a', 'b']) {
        expect(texts.filter((t) => t.startsWith(p))).toEqual(
          Array.from({ length: 100 }, (_, i) => `${p}${i}`),
        );
      }
    }
    // Both clients hold the same history.
    expect(a.conversation('room').messages.map((m) => m.id)).toEqual(
      b.conversation('room').messages.map((m) => m.id),
    );
  });
});

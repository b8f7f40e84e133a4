/**
 * Issue 14, defect 3, against the REAL hub with its DEFAULT limits (burst 60, 20 frames/s, flood
 * close 4429 past 100 refusals in 10 s): an outbox of 1,000 sends (the documented maximum) queued
 * while offline drains after the reconnect without one 4429 close — in fact without one
 * `rate_limited` answer — every message stored once, in send order. At the hub's 20/s this takes
 * about 50 s (the client uses 90 % of it).
 */
import type { MetricEvent } from '@parley/server-adapter';
import { afterEach, expect, it } from 'vitest';
import {
  createClient,
  manualLifecycle,
  type ParleyClient,
  type StateChange,
} from '../../src/index.js';
import { nextEvent, opened, until } from '../helpers/mock-hub.js';
import { startHub, type TestHub } from './hub.js';

const N = 1_000;
let hub: TestHub | undefined;
const clients: ParleyClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub?.dispose();
  hub = undefined;
});

it(`drains an offline outbox of ${N} with default hub limits: no 4429, stored once, in order`, async () => {
  const metrics: MetricEvent[] = [];
  hub = await startHub({ metrics: (e) => metrics.push(e) });
  const lc = manualLifecycle();
  const alice = createClient({
    url: hub.url,
    token: 'alice',
    WebSocket: hub.WebSocket,
    lifecycle: lc,
    // Down until `online`, then never again unless the hub closes the link.
    reconnect: { minDelayMs: 600_000, maxDelayMs: 600_000 },
    random: () => 0.999,
  });
  const bob = createClient({ url: hub.url, token: 'bob', WebSocket: hub.WebSocket });
  clients.push(alice, bob);
  await Promise.all([opened(alice), opened(bob)]);
  const states: StateChange[] = [];
  alice.on('state', (s) => states.push(s));
  const down = nextEvent<StateChange>(
    (l) => alice.on('state', l),
    (s) => s.from === 'open',
  );
  hub.killServerSockets();
  await down;
  await opened(bob);

  const conv = alice.conversation('room');
  const sends = Array.from({ length: N }, (_, i) => conv.send(`m${i}`));
  expect(conv.messages).toHaveLength(N);
  const started = Date.now();
  lc.signal('online');
  const stored = await Promise.all(sends);
  const seconds = (Date.now() - started) / 1000;

  expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  const atBob = bob.conversation('room');
  await until(() => expect(atBob.messages).toHaveLength(N), 2_000);
  expect(atBob.messages.map((m) => m.text)).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
  expect(new Set(atBob.messages.map((m) => m.clientMsgId)).size).toBe(N);
  expect(conv.messages.every((m) => m.status === 'sent')).toBe(true);
  const closes = metrics.filter((e) => e.type === 'connection.close' && e.code === 4429);
  const refused = metrics.filter((e) => e.type === 'rate_limited');
  expect(closes).toEqual([]);
  expect(refused).toEqual([]);
  expect(states.filter((s) => s.code === 4429)).toEqual([]);
  // One reconnect: the drain never lost the link.
  expect(states.filter((s) => s.to === 'open')).toHaveLength(1);
  console.log(
    `[drain] ${N} sends in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(1)}/s), ` +
      `4429 closes: ${closes.length}, rate_limited: ${refused.length}`,
  );
}, 120_000);

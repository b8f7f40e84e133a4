/**
 * A hub in its own process, so that the memory-bound test measures the hub's memory alone. Run
 * with `--expose-gc`. Prints `READY <port>`; answers `{ type: 'stats' }` on the IPC channel with
 * its memory (after a GC) and the hub's byte counters.
 *   BUDGET (bytes, backpressure.hardLimitBytes), MESSAGES and MESSAGE_BYTES (history of c1)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachHub } from '../../src/adapters/node.js';
import { createHub } from '../../src/hub/hub.js';

const budget = Number(process.env.BUDGET ?? 1_048_576);
let maxSlow = 0;
const hub = createHub({
  authenticate: ({ token }) => (token ? { userId: token } : null),
  conversationsOf: () => ['c1'],
  backpressure: { hardLimitBytes: budget },
  // The test's clients read nothing until every socket was closed; on a loaded machine that can
  // pass the default 3 s closing handshake, and the hub would terminate (1006) before they read
  // the 1013 (seen once under load). The handshake's own deadline is tested elsewhere.
  shutdown: { closeTimeoutMs: 60_000 },
  limits: { rate: { burst: 100_000, perSecond: 100_000, floodThreshold: 1_000_000 } },
  metrics: (e) => {
    if (e.type === 'slow_consumer') maxSlow = Math.max(maxSlow, e.bufferedAmount);
  },
});
const text = 'x'.repeat(Number(process.env.MESSAGE_BYTES ?? 8000));
for (let i = 0; i < Number(process.env.MESSAGES ?? 120); i++) await hub.publish('c1', { text });

const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', (m: { type?: string }) => {
  if (m.type !== 'stats') return;
  gc?.();
  const s = hub.stats();
  process.send?.({
    rss: process.memoryUsage().rss,
    bufferedBytes: s.bufferedBytes,
    slowConsumerCloses: s.slowConsumerCloses,
    connections: s.connections,
    maxSlow,
  });
});

const server = createServer();
attachHub(hub, server);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  void hub.close().finally(() => process.exit(0));
});

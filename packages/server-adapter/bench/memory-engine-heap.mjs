/**
 * Heap held by the memory engine, and what a full GC costs over it (issue 15).
 *
 *   pnpm --filter @parley/server-adapter build
 *   node --expose-gc --max-old-space-size=8192 packages/server-adapter/bench/memory-engine-heap.mjs
 *   (CONVERSATIONS=…, MESSAGES=… for another size; ENGINE_DIST=/abs/path/dist/index.js for another build)
 *
 * Sends like the hub does (`claimSend` then `append`, 10 senders per conversation, a 100 B text):
 * CONVERSATIONS (default 500) × MESSAGES (default 10,000) — so every conversation holds its full
 * history (1,000 messages) and its full dedupe window (10,000 idempotency records). Then reports
 * the heap used after a GC and the duration of forced full GCs (`performance.now()` around
 * `gc()`, median and max of 5), and a sanity read (a history page, a duplicate). The default size
 * holds 5 M records: ~2.2 GB of heap here, several times that with an engine that keeps objects;
 * MESSAGES=1000 (history full, 1,000 records per conversation) is the quick comparison.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

// ENGINE_DIST: another build to compare (a path to its dist/index.js, e.g. a copy of the old dist
// inside this package, so that it resolves @parley/protocol).
const { createMemoryEngine } = await import(process.env.ENGINE_DIST ?? '../dist/index.js');

if (typeof globalThis.gc !== 'function') {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(1);
}
const gc = globalThis.gc;
const CONVERSATIONS = Number(process.env.CONVERSATIONS ?? 500);
const MESSAGES = Number(process.env.MESSAGES ?? 10_000);
const TEXT = 'x'.repeat(100);
const MB = 1024 * 1024;

const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const fullGcMs = (runs = 5) => {
  const t = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    gc();
    t.push(performance.now() - start);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(runs / 2)], max: t[runs - 1] };
};

const base = heapAfterGc();
const engine = createMemoryEngine();
const conversations = Array.from({ length: CONVERSATIONS }, (_, i) => `conv-${i}`);
const senders = Array.from({ length: 10 }, (_, i) => `user-${i}`);
let firstClientMsgId = '';
const started = performance.now();
for (let m = 0; m < MESSAGES; m++) {
  for (const conversationId of conversations) {
    const senderId = senders[m % senders.length];
    const clientMsgId = randomUUID();
    if (m === 0 && conversationId === conversations[0]) firstClientMsgId = clientMsgId;
    await engine.claimSend(conversationId, senderId, clientMsgId, 10_000);
    await engine.append({
      draft: {
        id: randomUUID(),
        conversationId,
        clientMsgId,
        senderId,
        kind: 'user',
        text: TEXT,
        createdAt: Date.now(),
      },
      origin: 'conn-1',
    });
  }
}
const appendMs = performance.now() - started;
const held = heapAfterGc() - base;
const gcMs = fullGcMs();
const page = await engine.page(conversations[0], undefined, 50);
const dup = await engine.findByClientId(conversations[0], senders[0], firstClientMsgId);

const appends = CONVERSATIONS * MESSAGES;
process.stdout.write(
  `${JSON.stringify(
    {
      node: process.version,
      conversations: CONVERSATIONS,
      messagesPerConversation: MESSAGES,
      appendUsPerMessage: Number(((appendMs * 1000) / appends).toFixed(2)),
      heapUsedAfterGcMB: Number((held / MB).toFixed(1)),
      heapBytesPerAppend: Math.round(held / appends),
      fullGcMs: { median: Number(gcMs.median.toFixed(1)), max: Number(gcMs.max.toFixed(1)) },
      check: { pageSize: page.messages.length, oldestDuplicateStillKnown: dup !== undefined },
    },
    null,
    2,
  )}\n`,
);
await engine.close();

/**
 * Micro-benchmark of the memory engine's append (issue 15): N appends of a 100-character message
 * round-robin over 500 conversations of 10 senders, in one loop, and the mean time per append and
 * the heap kept per message after GC. Not a test and not the product figure (that is
 * `pnpm bench`): a quick before/after for one change. Without `--conditions=@parley/source` it
 * runs the built package (`dist/`), as users install it.
 *
 *   npx tsx --expose-gc bench/micro/memory-append.ts [messages=100000]
 */
import { createMemoryEngine } from '@parley/server-adapter';

const N = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

let next = 0;
const draft = (i: number) => {
  const c = i % 500;
  return {
    id: crypto.randomUUID(),
    conversationId: `c${c}`,
    clientMsgId: `m${++next}`,
    senderId: `u${c * 10 + ((i * 7) % 10)}`,
    kind: 'user' as const,
    text: 'x'.repeat(100),
    createdAt: Date.now(),
  };
};

gc();
const heapBefore = process.memoryUsage().heapUsed;
const engine = createMemoryEngine();
const t0 = performance.now();
for (let i = 0; i < N; i++) await engine.append({ draft: draft(i) });
const t1 = performance.now();
gc();
const kept = (process.memoryUsage().heapUsed - heapBefore) / N;
// Read the engine after the GC so that it is still alive when the heap is measured.
const { head } = await engine.range('c0', 0, 1);
console.log(
  `${N} appends: ${(((t1 - t0) * 1000) / N).toFixed(2)} µs per append, ${kept.toFixed(0)} B kept per message (c0 at seq ${head.seq})`,
);

/**
 * Several load generator processes driven as one (`--loadgens=N`): on a machine with more than
 * one core to spare, a single Node process (one JavaScript thread) would be the bottleneck of a
 * ramp before a lean server is. Each process gets a share of the users (`shard`) and of the rate
 * (in proportion to its senders, so each connection still sends `rate / senders`); windows are
 * opened with one tag for all; what they collect is merged here.
 */
import { Histogram } from './hist.js';
import { type LoadgenHandle, startLoadgen } from './procs.js';

type Json = Record<string, unknown>;
const sumKeys = [
  'sent',
  'dropped',
  'expected',
  'delivered',
  'duplicates',
  'errors',
  'rateLimited',
  'lost',
  'outbox',
  'backpressured',
  'ackRetries',
  'ready',
  'failed',
  'total',
  'buffered',
  'senders',
] as const;
/** Per-process figures where the worst process is what matters (each is one thread). */
const maxKeys = ['windowS', 'clientCpuPct', 'loopP99Ms', 'loopMaxMs', 'drainMs', 'ms'] as const;

/** Merges the answers of every load generator to one command. */
export function merge(parts: Json[]): Json {
  if (parts.length === 1) return parts[0]!;
  const out: Json = { ...parts[0] };
  for (const k of sumKeys)
    if (k in out) out[k] = parts.reduce((a, p) => a + ((p[k] as number) ?? 0), 0);
  for (const k of maxKeys)
    if (k in out) out[k] = Math.max(...parts.map((p) => (p[k] as number) ?? 0));
  for (const k of ['lastError', 'lastLost'] as const)
    if (k in out) out[k] = parts.map((p) => p[k]).find((v) => typeof v === 'string' && v) ?? '';
  if ('announcedRate' in out)
    out.announcedRate = parts.map((p) => p.announcedRate).find(Boolean) ?? null;
  if ('hist' in out) {
    const h = new Histogram();
    for (const p of parts) {
      const x = Histogram.from(p.hist as Parameters<typeof Histogram.from>[0]);
      for (let i = 0; i < x.counts.length; i++) h.counts[i]! += x.counts[i]!;
      h.n += x.n;
      h.sum += x.sum;
      h.max = Math.max(h.max, x.max);
    }
    out.hist = h.toJSON();
  }
  if ('frames' in out) {
    const frames: Record<string, number> = {};
    for (const p of parts)
      for (const [k, v] of Object.entries((p.frames as Record<string, number>) ?? {}))
        frames[k] = (frames[k] ?? 0) + v;
    out.frames = frames;
  }
  return out;
}

/** Starts `n` load generators (pinned to the load generator cores) driven as one handle. */
export async function startLoadgens(n: number): Promise<LoadgenHandle> {
  if (n <= 1) return withTags(await startLoadgen());
  const settled = await Promise.allSettled(Array.from({ length: n }, () => startLoadgen()));
  const all = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (all.length < n) {
    await Promise.all(all.map((l) => l.stop()));
    throw (settled.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
  }
  let senders: number[] = all.map(() => 0);
  let tag = 0;
  const call = async <T>(msg: Json, timeoutMs?: number): Promise<T> => {
    if (msg.cmd === 'init') {
      const parts = await Promise.all(
        all.map((l, index) => l.call<Json>({ ...msg, shard: { index, count: n } }, timeoutMs)),
      );
      senders = parts.map((p) => (p.senders as number) ?? 0);
      return merge(parts) as T;
    }
    if (msg.cmd === 'rate') {
      const total = senders.reduce((a, b) => a + b, 0) || 1;
      const rate = msg.rate as number;
      await Promise.all(
        all.map((l, i) => l.call({ cmd: 'rate', rate: (rate * senders[i]!) / total })),
      );
      return { ok: true } as T;
    }
    const m = msg.cmd === 'window' ? { ...msg, tag: ++tag } : msg;
    return merge(await Promise.all(all.map((l) => l.call<Json>(m, timeoutMs)))) as T;
  };
  return { call, stop: async () => void (await Promise.all(all.map((l) => l.stop()))) };
}

/** A single load generator, with the window tags the group would give it. */
function withTags(lg: LoadgenHandle): LoadgenHandle {
  let tag = 0;
  return {
    call: <T>(msg: Json, timeoutMs?: number) =>
      lg.call<T>(msg.cmd === 'window' ? { ...msg, tag: ++tag } : msg, timeoutMs),
    stop: () => lg.stop(),
  };
}

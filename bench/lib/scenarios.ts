/**
 * The scenarios: fixed rate, ramp, idle memory, and the profile runs that explain a missed
 * target (the reconnect storm is lib/storm.ts). Each call is one run on a fresh server process
 * and fresh load generators (lib/harness.ts); everything is stopped before it returns.
 */
import { rmSync } from 'node:fs';
import {
  connect,
  measure,
  sleep,
  stepPassed,
  type WindowResult,
  type Workload,
  warmUp,
  withProcs,
} from './harness.js';
import {
  type CpuSummary,
  cpuSummary,
  type HeapSummary,
  heapSummary,
  profileFiles,
} from './profile.js';
import { rateCeiling } from './topology.js';

export async function fixedRate(
  system: string,
  w: Workload,
  o: { rate: number; warmupMs: number; durationMs: number },
): Promise<WindowResult> {
  return withProcs(system, w, async (s, lg, backing) => {
    const c = await connect(lg, system, s.port, w);
    // the drain ends as soon as everything arrived; 10 s only bounds a stalled server
    const r = await measure(s, lg, backing, o.rate, o.warmupMs, o.durationMs, 10_000, true);
    return c.announcedRate ? { ...r, announcedRate: c.announcedRate } : r;
  });
}

export interface RampResult {
  steps: WindowResult[];
  /** Highest step that met p99 ≤ 50 ms and ≥ 99.9 % delivered (null: none did). */
  best: WindowResult | null;
  /** Highest rate (msg/s) the topology's senders may send within the hub's default rate limit. */
  ceiling: number;
  /** The ramp reached `ceiling` without failing: `best` is a lower bound of the system's max. */
  capped: boolean;
}

export async function ramp(
  system: string,
  w: Workload,
  o: {
    start: number;
    factor: number;
    maxSteps: number;
    warmupMs: number;
    durationMs: number;
    p99Ms: number;
    minDeliveredPct: number;
    /** A failing step is measured again this many times before the ramp stops (noise). */
    retries: number;
    /** Bisection steps between the last passing and the first failing rate. */
    refine: number;
  },
): Promise<RampResult> {
  return withProcs(system, w, async (s, lg, backing) => {
    await connect(lg, system, s.port, w);
    const steps: WindowResult[] = [];
    let best: WindowResult | null = null;
    const step = async (rate: number): Promise<boolean> => {
      const r = await measure(
        s,
        lg,
        backing,
        Math.min(Math.round(rate), Math.floor(ceiling)),
        o.warmupMs,
        o.durationMs,
        1500,
        false,
      );
      steps.push(r);
      const ok = stepPassed(r, o.p99Ms, o.minDeliveredPct);
      if (ok && (!best || r.deliveriesPerS > best.deliveriesPerS)) best = r;
      if (!ok) {
        // let an overloaded server drain before the next step (at most 15 s)
        await lg.call({ cmd: 'rate', rate: 0 });
        await sleep(1000);
        for (let t = 0; t < 14; t++) {
          const st = await lg.call<{ buffered: number }>({ cmd: 'status' });
          const alive = await s.stats(1000).then(
            () => true,
            () => false,
          );
          if (st.buffered === 0 && alive) break;
          await sleep(1000);
        }
      }
      return ok;
    };
    // Every sender stays within the hub's default rate limit: the ramp never offers more than
    // the topology's senders may send (run.ts sizes the ramp topology for --ramp-max).
    const ceiling = rateCeiling(w.topology, w.devices);
    let capped = false;
    // 0. warm up (JIT, pools, engine scripts) at the start rate, unmeasured
    await lg.call({ cmd: 'rate', rate: Math.min(o.start, ceiling) });
    await sleep(1000);
    // 1. grow geometrically until a step fails (a failing step is measured again `retries` times)
    let rate = Math.min(o.start, ceiling);
    let pass = 0;
    let fail = 0;
    let retries = o.retries;
    for (let i = 0; i < o.maxSteps; i++) {
      if (await step(rate)) {
        pass = rate;
        if (rate >= ceiling) {
          capped = true;
          break;
        }
        rate = Math.min(rate * o.factor, ceiling);
      } else if (retries-- > 0) {
        i--;
      } else {
        fail = rate;
        break;
      }
    }
    // 2. bisect between the last passing and the first failing rate
    for (let i = 0; i < o.refine && fail > 0 && pass > 0; i++) {
      const mid = (pass + fail) / 2;
      if (await step(mid)) pass = mid;
      else fail = mid;
    }
    await lg.call({ cmd: 'rate', rate: 0 });
    return { steps, best, ceiling, capped };
  });
}

export interface IdleResult {
  connections: number;
  rssPerConnKB: number;
  heapPerConnKB: number;
  /** Off-heap memory V8 knows about (Buffers, ArrayBuffers), per connection. */
  externalPerConnKB: number;
  connectS: number;
  gc: boolean;
}

export async function idleMemory(system: string, w: Workload): Promise<IdleResult> {
  return withProcs(system, w, async (s, lg) => {
    await warmUp(s, system, w);
    const a = await s.gc();
    const r = await connect(lg, system, s.port, w);
    await sleep(1000);
    const b = await s.gc();
    return {
      connections: r.ready,
      rssPerConnKB: (b.rss - a.rss) / r.ready / 1024,
      heapPerConnKB: (b.heapUsed - a.heapUsed) / r.ready / 1024,
      externalPerConnKB: (b.external - a.external) / r.ready / 1024,
      connectS: r.ms / 1000,
      gc: true,
    };
  });
}

/**
 * A fixed-rate window with the server under V8's CPU profiler (`--cpu-prof`), summarised over the
 * window only (start-up and shutdown cut off). Explains a missed CPU, latency or ramp target.
 */
export async function profiledFixed(
  system: string,
  w: Workload,
  o: { rate: number; warmupMs: number; durationMs: number },
  dir: string,
): Promise<{ window: WindowResult; cpu: CpuSummary }> {
  rmSync(dir, { recursive: true, force: true });
  const window = await withProcs(
    system,
    w,
    async (s, lg, backing) => {
      await connect(lg, system, s.port, w);
      return measure(s, lg, backing, o.rate, o.warmupMs, o.durationMs, 3000, true);
    },
    dir,
  );
  // withProcs stopped the server with SIGTERM and waited: it wrote its profile on the way out
  const files = profileFiles(dir);
  if (!files.length) throw new Error(`${system}: the server wrote no CPU profile into ${dir}`);
  return {
    window,
    cpu: cpuSummary(files, { startUs: window.windowStartUs, endUs: window.windowEndUs }),
  };
}

/**
 * The idle scenario with V8's sampling heap profiler on: what each connection retains, by
 * allocation site (explains a missed memory target).
 */
export async function heapProfiledIdle(
  system: string,
  w: Workload,
): Promise<{ connections: number; heap: HeapSummary }> {
  return withProcs(system, w, async (s, lg) => {
    await warmUp(s, system, w);
    await s.heapStart();
    const r = await connect(lg, system, s.port, w);
    await sleep(1000);
    const { profile } = await s.heapStop();
    return {
      connections: r.ready,
      heap: heapSummary(profile as Parameters<typeof heapSummary>[0], r.ready),
    };
  });
}

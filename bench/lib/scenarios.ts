/**
 * The scenarios: fixed rate, ramp, idle memory, reconnect storm. Each call is one run on a fresh
 * server process and a fresh load generator process; both are stopped before it returns.
 */
import { rmSync } from 'node:fs';
import { BACKINGS, type Backing, type CommandStat } from './backing.js';
import { Histogram } from './hist.js';
import type { SystemKind } from './loadgen.js';
import { startLoadgens } from './loadgens.js';
import { type LoadgenHandle, profileDir, type ServerHandle, startServer } from './procs.js';
import {
  type CpuSummary,
  cpuSummary,
  type HeapSummary,
  heapSummary,
  profileFiles,
} from './profile.js';
import type { ServerConfig, ServerStats } from './server-host.js';
import { systemDef } from './systems.js';
import {
  DEFAULT_RATE_LIMIT,
  rateCeiling,
  SENDER_HEADROOM,
  senderBudget,
  type Topology,
} from './topology.js';

export interface Workload {
  topology: Topology;
  devices: number;
  payload: number;
  /** Load generator processes sharing the users (lib/loadgens.ts). @default 1 */
  loadgens?: number;
}

interface Collected {
  sent: number;
  dropped: number;
  expected: number;
  delivered: number;
  duplicates: number;
  windowS: number;
  clientCpuPct: number;
  loopP99Ms: number;
  loopMaxMs: number;
  hist: ReturnType<Histogram['toJSON']>;
  errors: number;
  lastError: string;
  rateLimited: number;
  lost: number;
  lastLost: string;
  outbox: number;
  backpressured: number;
  ackRetries?: number;
  frames?: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** µs of the system's monotonic clock: the clock of V8's CPU profile timestamps. */
const monoUs = () => Number(process.hrtime.bigint() / 1000n);
export const kindOf = (system: string): SystemKind => systemDef(system).wire;

let prefixSeq = 0;
function serverConfig(w: Workload, backing: Backing | null, port = 0): ServerConfig {
  return {
    topology: w.topology,
    port,
    redisPrefix: `parley-bench:${process.pid}:${Date.now()}:${++prefixSeq}:`,
    ...(backing ? { backingUrl: backing.url } : {}),
  };
}

/** The run's own backing store, when the system has one (lib/backing.ts). */
async function startBacking(system: string): Promise<Backing | null> {
  const id = systemDef(system).backing;
  return id ? BACKINGS[id]() : null;
}

async function withProcs<T>(
  system: string,
  w: Workload,
  fn: (s: ServerHandle, lg: LoadgenHandle, backing: Backing | null) => Promise<T>,
  cpuProfileDir?: string,
): Promise<T> {
  const backing = await startBacking(system);
  try {
    // server and load generator start in parallel; if one fails, the other is stopped too
    const [sr, lr] = await Promise.allSettled([
      startServer(system, serverConfig(w, backing), cpuProfileDir),
      startLoadgens(w.loadgens ?? 1),
    ]);
    if (sr.status === 'rejected' || lr.status === 'rejected') {
      if (lr.status === 'fulfilled') await lr.value.stop();
      if (sr.status === 'fulfilled') await sr.value.stop('SIGKILL');
      throw sr.status === 'rejected' ? sr.reason : (lr as PromiseRejectedResult).reason;
    }
    const s = sr.value;
    const lg = lr.value;
    try {
      return await fn(s, lg, backing);
    } finally {
      await lg.stop();
      // a profiled server must exit on its own to write its profile
      await s.stop(profileDir || cpuProfileDir ? 'SIGTERM' : 'SIGKILL');
    }
  } finally {
    await backing?.stop();
  }
}

async function connect(
  lg: LoadgenHandle,
  system: string,
  port: number,
  w: Workload,
  storm = false,
  backoff?: { firstMs: number; baseMs: number; capMs: number },
): Promise<{
  ready: number;
  failed: number;
  ms: number;
  announcedRate: { perSecond: number; burst: number } | null;
}> {
  const total = w.topology.users * w.devices;
  const r = await lg.call<{
    ready: number;
    failed: number;
    ms: number;
    announcedRate: { perSecond: number; burst: number } | null;
  }>(
    {
      cmd: 'init',
      kind: kindOf(system),
      port,
      topology: w.topology,
      devices: w.devices,
      payload: w.payload,
      storm,
      concurrency: 64,
      connectTimeoutMs: 60_000,
      backoff,
      maxPerSender: senderBudget(),
    },
    90_000,
  );
  if (r.ready < total * 0.99) {
    throw new Error(`${system}: only ${r.ready}/${total} clients connected (${r.failed} failed)`);
  }
  // The workload is sized for the hub's default rate limit: if the hub announces another one,
  // the sizing (lib/topology.ts DEFAULT_RATE_LIMIT) is stale and the figures would not be valid.
  const a = r.announcedRate;
  if (a && (a.perSecond * SENDER_HEADROOM < senderBudget() || a.burst < DEFAULT_RATE_LIMIT.burst)) {
    throw new Error(
      `${system} announces a rate limit of ${a.perSecond}/s (burst ${a.burst}), below the ${DEFAULT_RATE_LIMIT.perSecond}/s (burst ${DEFAULT_RATE_LIMIT.burst}) the workload is sized for: update DEFAULT_RATE_LIMIT in bench/lib/topology.ts`,
    );
  }
  return r;
}

export interface WindowResult {
  rate: number;
  sent: number;
  expected: number;
  delivered: number;
  deliveredPct: number;
  deliveriesPerS: number;
  /** Deliveries the window's sends called for, per second. */
  offeredPerS: number;
  msgsPerS: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  serverCpuUsPerDelivery: number;
  serverCpuPct: number;
  /** The backing store's CPU (redis-server), µs per delivery; NaN without one. */
  backingCpuUsPerDelivery: number;
  backingCpuPct: number;
  /** Server + backing CPU per delivery (= server's without a backing). */
  totalCpuUsPerDelivery: number;
  /** Redis: the window's most expensive commands (INFO commandstats). */
  backingCommands?: CommandStat[];
  /** The load generator's CPU over the window, % of one core. */
  clientCpuPct: number;
  /** The load generator's event-loop delay over the window (p99 and max, ms). */
  clientLoopP99Ms: number;
  clientLoopMaxMs: number;
  rssMB: number;
  heapMB: number;
  errors: number;
  lastError: string;
  /** Parley `rate_limited` errors in the window: 0 unless the workload broke the sender budget. */
  rateLimited: number;
  /** Connections the server closed during the window (and how the last one was closed). */
  lost: number;
  lastLost: string;
  /** Sends the load generator skipped because the socket's send buffer was full. */
  backpressured: number;
  /** The window on the monotonic clock (µs), to cut CPU profiles to it. */
  windowStartUs: number;
  windowEndUs: number;
  /** The run's own backing store (e.g. redis://127.0.0.1:<free port>). */
  backingUrl?: string;
  /** Parley: the rate limit the hub announced in `welcome.limits.rate` (fixed-rate runs). */
  announcedRate?: { perSecond: number; burst: number };
  hist: ReturnType<Histogram['toJSON']>;
}

/** One measurement window at `rate`, with the load already running for `warmupMs`. */
async function measure(
  s: ServerHandle,
  lg: LoadgenHandle,
  backing: Backing | null,
  rate: number,
  warmupMs: number,
  durationMs: number,
  drainMs: number,
  stop: boolean,
): Promise<WindowResult> {
  await lg.call({ cmd: 'rate', rate });
  await sleep(warmupMs);
  // CPU from /proc (immune to a saturated event loop); IPC only as a fallback
  const cpuNow = async () => {
    const p = s.procStats();
    if (p) return p.cpuUs;
    const st = await s.stats(5000);
    return st.cpuUserUs + st.cpuSystemUs;
  };
  await backing?.resetStats().catch(() => {});
  const backingA = backing?.cpuUs() ?? Number.NaN;
  const cpuA = await cpuNow().catch(() => Number.NaN);
  const windowStartUs = monoUs();
  await lg.call({ cmd: 'window' });
  await sleep(durationMs);
  const windowEndUs = monoUs();
  const cpuB = await cpuNow().catch(() => Number.NaN);
  const backingB = backing?.cpuUs() ?? Number.NaN;
  await lg.call({ cmd: 'endWindow' });
  const backingCommands = backing
    ? (await backing.commandStats().catch(() => [])).slice(0, 12)
    : undefined;
  if (stop) await lg.call({ cmd: 'rate', rate: 0 });
  // Wait for the window's deliveries here, on the totals: with several load generators a
  // message sent by one is delivered (partly) to the others, so none can tell alone.
  const drainEnd = performance.now() + drainMs;
  while (performance.now() < drainEnd) {
    const st = await lg.call<{ expected: number; delivered: number }>({ cmd: 'status' });
    if (st.delivered >= st.expected) break;
    await sleep(20);
  }
  const c = await lg.call<Collected>({ cmd: 'collect', drainMs: 0, stallMs: 0 }, 30_000);
  // heap needs the server's event loop: a saturated server may not answer in time
  const b: ServerStats | null = await s.stats(3000).catch(() => null);
  const h = Histogram.from(c.hist);
  const cpuUs = cpuB - cpuA;
  const backingUs = backingB - backingA;
  const perDelivery = (us: number) => (c.delivered ? us / c.delivered : Number.NaN);
  return {
    rate,
    sent: c.sent,
    expected: c.expected,
    delivered: c.delivered,
    deliveredPct: c.expected ? (c.delivered / c.expected) * 100 : 0,
    deliveriesPerS: c.delivered / c.windowS,
    offeredPerS: c.expected / c.windowS,
    msgsPerS: c.sent / c.windowS,
    p50: h.percentile(50),
    p95: h.percentile(95),
    p99: h.percentile(99),
    max: h.max,
    serverCpuUsPerDelivery: perDelivery(cpuUs),
    serverCpuPct: (cpuUs / 1e6 / c.windowS) * 100,
    backingCpuUsPerDelivery: perDelivery(backingUs),
    backingCpuPct: (backingUs / 1e6 / c.windowS) * 100,
    totalCpuUsPerDelivery: perDelivery(backing ? cpuUs + backingUs : cpuUs),
    ...(backingCommands ? { backingCommands } : {}),
    clientCpuPct: c.clientCpuPct,
    clientLoopP99Ms: c.loopP99Ms,
    clientLoopMaxMs: c.loopMaxMs,
    rssMB: (b?.rss ?? s.procStats()?.rss ?? Number.NaN) / 2 ** 20,
    heapMB: (b?.heapUsed ?? Number.NaN) / 2 ** 20,
    backpressured: c.backpressured,
    windowStartUs,
    windowEndUs,
    ...(backing ? { backingUrl: backing.url } : {}),
    errors: c.errors,
    lastError: c.lastError,
    rateLimited: c.rateLimited,
    lost: c.lost,
    lastLost: c.lastLost,
    hist: c.hist,
  };
}

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

/** Whether a ramp step met the budget: p99, delivered share, nothing skipped, limited or lost. */
export function stepPassed(r: WindowResult, p99Ms = 50, minDeliveredPct = 99.9): boolean {
  return (
    r.p99 <= p99Ms &&
    r.deliveredPct >= minDeliveredPct &&
    r.backpressured === 0 &&
    (r.rateLimited ?? 0) === 0 &&
    (r.lost ?? 0) === 0
  );
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

/**
 * Connects and drops a small batch first, so one-off costs (JIT-compiled code, lazily created
 * pools) are in the baseline, not divided among the measured connections.
 */
async function warmUp(s: ServerHandle, system: string, w: Workload): Promise<void> {
  const warm = await startLoadgens(1);
  try {
    const k = Math.max(1, Math.min(200, Math.round(w.topology.users / 10)));
    await warm.call(
      {
        cmd: 'init',
        kind: kindOf(system),
        port: s.port,
        topology: w.topology,
        devices: w.devices,
        payload: w.payload,
        storm: false,
        concurrency: 32,
        connectTimeoutMs: 30_000,
        limit: k,
        maxPerSender: senderBudget(),
      },
      60_000,
    );
  } finally {
    await warm.stop();
  }
  await sleep(500);
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

export interface StormResult {
  clients: number;
  /** From SIGTERM until the old server process exited (its graceful shutdown). */
  shutdownS: number;
  /** Until the new server process was listening. */
  restartS: number;
  /** From the restart signal until every client had completed its handshake again. */
  reconnectS: number;
  /** Until every delivery of every message sent in the storm window arrived (null: some never). */
  completeS: number | null;
  sent: number;
  expected: number;
  delivered: number;
  lost: number;
  /** Sends attempted while disconnected and dropped (systems without an outbox). */
  droppedSends: number;
  duplicates: number;
  /** Parley: sends retried after an ack timeout (2 s). */
  ackRetries: number;
  /** Parley: server frames seen by the clients, by type. */
  frames?: Record<string, number>;
}

export async function storm(
  system: string,
  w: Workload,
  o: {
    rate: number;
    timeoutMs: number;
    tailMs: number;
    stallMs: number;
    backoff?: { firstMs: number; baseMs: number; capMs: number };
  },
): Promise<StormResult> {
  // the backing store outlives the server's restart (that is what the Redis engine's storm tests)
  const backing = await startBacking(system);
  const config = serverConfig(w, backing);
  let s: ServerHandle;
  try {
    s = await startServer(system, config);
  } catch (e) {
    await backing?.stop();
    throw e;
  }
  const port = s.port;
  let lg: LoadgenHandle | null = null;
  try {
    lg = await startLoadgens(1);
    const total = w.topology.users * w.devices;
    await connect(lg, system, port, w, true, o.backoff);
    await lg.call({ cmd: 'rate', rate: o.rate });
    await sleep(o.tailMs * 2);
    await lg.call({ cmd: 'window' });
    await sleep(o.tailMs / 2);
    const t0 = performance.now();
    await s.stop('SIGTERM');
    const shutdownS = (performance.now() - t0) / 1000;
    s = await startServer(system, { ...config, port });
    const restartS = (performance.now() - t0) / 1000;
    let reconnectS = Number.NaN;
    let completeS: number | null = null;
    let stopped = false;
    let lastDelivered = -1;
    let lastChange = performance.now();
    while (performance.now() - t0 < o.timeoutMs) {
      const st = await lg.call<{
        ready: number;
        expected: number;
        delivered: number;
        outbox: number;
      }>({ cmd: 'status' });
      const t = performance.now();
      if (Number.isNaN(reconnectS) && st.ready >= total) {
        reconnectS = (t - t0) / 1000;
        // keep sending a little after everyone is back, then close the window
        await sleep(o.tailMs);
        await lg.call({ cmd: 'endWindow' });
        await lg.call({ cmd: 'rate', rate: 0 });
        stopped = true;
        continue;
      }
      if (stopped) {
        if (st.delivered >= st.expected && st.outbox === 0) {
          completeS = (t - t0) / 1000;
          break;
        }
        if (st.delivered !== lastDelivered) {
          lastDelivered = st.delivered;
          lastChange = t;
        } else if (t - lastChange > o.stallMs && st.outbox === 0) break; // nothing more will come
      }
      await sleep(25);
    }
    if (!stopped) {
      await lg.call({ cmd: 'endWindow' });
      await lg.call({ cmd: 'rate', rate: 0 });
    }
    const c = await lg.call<Collected>({ cmd: 'collect', drainMs: 0 });
    if (process.env.BENCH_DEBUG) console.error(system, JSON.stringify({ ...c, hist: undefined }));
    return {
      clients: total,
      shutdownS,
      restartS,
      reconnectS,
      completeS,
      sent: c.sent,
      expected: c.expected,
      delivered: c.delivered,
      lost: c.expected - c.delivered,
      droppedSends: c.dropped,
      duplicates: c.duplicates,
      ackRetries: c.ackRetries ?? 0,
      frames: c.frames,
    };
  } finally {
    await lg?.stop();
    await s.stop('SIGKILL');
    await backing?.stop();
  }
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

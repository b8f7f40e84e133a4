/**
 * The plumbing of one run: a fresh server process (with its backing store) and fresh load
 * generators, connected; one measurement window; everything stopped before it returns. The
 * scenarios (lib/scenarios.ts, lib/storm.ts) are built from these.
 */
import { BACKINGS, type Backing, type CommandStat } from './backing.js';
import { Histogram } from './hist.js';
import type { SystemKind } from './loadgen.js';
import { startLoadgens } from './loadgens.js';
import { type LoadgenHandle, profileDir, type ServerHandle, startServer } from './procs.js';
import type { ServerConfig, ServerStats } from './server-host.js';
import { systemDef } from './systems.js';
import { DEFAULT_RATE_LIMIT, SENDER_HEADROOM, senderBudget, type Topology } from './topology.js';

export interface Workload {
  topology: Topology;
  devices: number;
  payload: number;
  /** Load generator processes sharing the users (lib/loadgens.ts). @default 1 */
  loadgens?: number;
}

export interface Collected {
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** µs of the system's monotonic clock: the clock of V8's CPU profile timestamps. */
const monoUs = () => Number(process.hrtime.bigint() / 1000n);
export const kindOf = (system: string): SystemKind => systemDef(system).wire;

let prefixSeq = 0;
export function serverConfig(w: Workload, backing: Backing | null, port = 0): ServerConfig {
  return {
    topology: w.topology,
    port,
    redisPrefix: `parley-bench:${process.pid}:${Date.now()}:${++prefixSeq}:`,
    ...(backing ? { backingUrl: backing.url } : {}),
  };
}

/** The run's own backing store, when the system has one (lib/backing.ts). */
export async function startBacking(system: string): Promise<Backing | null> {
  const id = systemDef(system).backing;
  return id ? BACKINGS[id]() : null;
}

export async function withProcs<T>(
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

export async function connect(
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
  /** The server's mark-compacts in the window (NaN where the runtime reports none). */
  majorGcs: number;
  /** The server's main-thread GC pauses in the window, ms in all (NaN likewise). */
  gcPauseMs: number;
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
export async function measure(
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
  // GC counters over IPC: a server too busy to answer within 1 s has none for this window
  const gcNow = () =>
    s.stats(1000).then(
      (st) => st.gc,
      () => undefined,
    );
  await backing?.resetStats().catch(() => {});
  const gcA = await gcNow();
  const backingA = backing?.cpuUs() ?? Number.NaN;
  const cpuA = await cpuNow().catch(() => Number.NaN);
  const windowStartUs = monoUs();
  await lg.call({ cmd: 'window' });
  await sleep(durationMs);
  const windowEndUs = monoUs();
  const cpuB = await cpuNow().catch(() => Number.NaN);
  const backingB = backing?.cpuUs() ?? Number.NaN;
  await lg.call({ cmd: 'endWindow' });
  // after the load generator's window: a slow answer must not lengthen it
  const gcB = await gcNow();
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
    majorGcs: gcA && gcB ? gcB.major - gcA.major : Number.NaN,
    gcPauseMs: gcA && gcB ? gcB.pauseMs - gcA.pauseMs : Number.NaN,
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

/**
 * Connects and drops a small batch first, so one-off costs (JIT-compiled code, lazily created
 * pools) are in the baseline, not divided among the measured connections.
 */
export async function warmUp(s: ServerHandle, system: string, w: Workload): Promise<void> {
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

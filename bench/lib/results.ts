/**
 * What a bench run records (`bench/results/<mode>/results.json`) and the per-system medians the
 * report and the targets are computed from. `pnpm bench --render=<results.json>` re-renders the
 * report from such a file without measuring anything.
 */
import type { BundleResult } from './bundle.js';
import type { WindowResult } from './harness.js';
import type { CpuSummary, HeapSummary } from './profile.js';
import type { IdleResult, RampResult } from './scenarios.js';
import type { StormResult } from './storm.js';
import type { Topology } from './topology.js';
import { rampVerdict } from './verdict.js';

export interface Machine {
  nproc: string;
  cpu: string;
  node: string;
  /** The pinned Bun's version, when a row runs on Bun. */
  bun?: string;
  os: string;
  loadavg: string;
  /** How the processes were pinned, or why they were not. */
  pinning: string;
  pinned: boolean;
}

/** The workload each scenario ran (the ramp's topology is scaled for `--ramp-max`). */
export interface Workloads {
  fixed: { topology: Topology; devices: number; rate: number; durationS: number; payload: number };
  ramp: {
    topology: Topology;
    devices: number;
    start: number;
    factor: number;
    refine: number;
    durationS: number;
    ceiling: number;
  };
  idle: { connections: number };
  storm: { clients: number; rate: number };
  /** Messages per second one sender connection may send (the hub's default limit × headroom). */
  senderBudget: number;
  rateLimit: { perSecond: number; burst: number };
  /** Load generator processes of the fixed rate and the ramp (users split between them). */
  loadgens?: number;
}

/** A profile run made to explain a missed target (or every target with --profile-targets). */
export interface ProfileRun {
  key: string;
  system: string;
  scenario: 'fixed' | 'ramp-max' | 'idle';
  kind: 'cpu' | 'heap';
  /** msg/s of the profiled window (cpu profiles). */
  rate?: number;
  /** The window's own figures (cpu profiles). */
  window?: Omit<WindowResult, 'hist'>;
  cpu?: CpuSummary;
  heap?: HeapSummary;
  error?: string;
}

export interface Results {
  mode: string;
  command: string;
  date: string;
  machine: Machine;
  options: Record<string, number>;
  workloads: Workloads;
  /** System ids in the order they ran. */
  systems: string[];
  scenarios: string[];
  skipped: Record<string, string>;
  fixed: Record<string, WindowResult[]>;
  ramp: Record<string, RampResult[]>;
  idle: Record<string, IdleResult[]>;
  storm: Record<string, StormResult[]>;
  bundle: BundleResult[];
  profiles: ProfileRun[];
  /** What the Parley servers ran on: the built packages, or the sources (--parley-from). */
  parley?: string;
  durationS: number;
  failures?: string[];
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(values: number[]): Stat {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const m = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return { median: m, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

export function fixedStats(r: Results, s: string) {
  const runs = r.fixed[s] ?? [];
  const g = (k: keyof WindowResult) => stat(runs.map((x) => x[k] as number));
  return {
    n: runs.length,
    sent: g('sent'),
    msgs: g('msgsPerS'),
    perMsg: stat(runs.map((x) => (x.sent ? x.expected / x.sent : Number.NaN))),
    delivered: g('delivered'),
    deliveredPct: g('deliveredPct'),
    dps: g('deliveriesPerS'),
    p50: g('p50'),
    p95: g('p95'),
    p99: g('p99'),
    cpu: g('serverCpuUsPerDelivery'),
    cpuPct: g('serverCpuPct'),
    backingCpu: g('backingCpuUsPerDelivery'),
    backingCpuPct: g('backingCpuPct'),
    totalCpu: g('totalCpuUsPerDelivery'),
    rss: g('rssMB'),
    heap: g('heapMB'),
    majorGcs: g('majorGcs'),
    gcPause: g('gcPauseMs'),
    client: g('clientCpuPct'),
    clientLoop: g('clientLoopP99Ms'),
    rateLimited: stat(runs.map((x) => x.rateLimited ?? 0)),
    lost: stat(runs.map((x) => x.lost ?? 0)),
    errors: g('errors'),
  };
}

export function rampStats(r: Results, s: string) {
  const runs = r.ramp[s] ?? [];
  const verdicts = runs.map(rampVerdict);
  return {
    n: runs.length,
    verdicts,
    dps: stat(runs.map((x) => x.best?.deliveriesPerS ?? 0)),
    mps: stat(runs.map((x) => x.best?.msgsPerS ?? 0)),
    rate: stat(runs.map((x) => x.best?.rate ?? 0)),
    p99: stat(runs.map((x) => x.best?.p99 ?? Number.NaN)),
    client: stat(runs.map((x) => x.best?.clientCpuPct ?? Number.NaN)),
    clientLoop: stat(runs.map((x) => x.best?.clientLoopP99Ms ?? Number.NaN)),
    server: stat(runs.map((x) => x.best?.serverCpuPct ?? Number.NaN)),
    backing: stat(runs.map((x) => x.best?.backingCpuPct ?? Number.NaN)),
    /** Some run's maximum is only a lower bound (load generator bound, or the ceiling reached). */
    bound: verdicts.some((v) => v.bound),
  };
}

export function idleStats(r: Results, s: string) {
  const runs = r.idle[s] ?? [];
  return {
    n: runs.length,
    conns: stat(runs.map((x) => x.connections)),
    rss: stat(runs.map((x) => x.rssPerConnKB)),
    heap: stat(runs.map((x) => x.heapPerConnKB)),
    ext: stat(runs.map((x) => x.externalPerConnKB)),
  };
}

export function stormStats(r: Results, s: string) {
  const runs = r.storm[s] ?? [];
  return {
    n: runs.length,
    clients: stat(runs.map((x) => x.clients)),
    reconnect: stat(runs.map((x) => x.reconnectS)),
    shutdown: stat(runs.map((x) => x.shutdownS)),
    restart: stat(runs.map((x) => x.restartS)),
    complete: stat(runs.map((x) => x.completeS ?? Number.NaN)),
    incomplete: runs.filter((x) => x.completeS === null).length,
    sent: stat(runs.map((x) => x.sent)),
    expected: stat(runs.map((x) => x.expected)),
    delivered: stat(runs.map((x) => x.delivered)),
    lost: stat(runs.map((x) => x.lost)),
    dropped: stat(runs.map((x) => x.droppedSends)),
    dup: stat(runs.map((x) => x.duplicates)),
    retries: stat(runs.map((x) => x.ackRetries)),
  };
}

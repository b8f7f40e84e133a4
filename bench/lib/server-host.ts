/**
 * Shared plumbing of every system under test: config from the environment, listen on
 * 127.0.0.1, report the port and resource usage to the orchestrator over IPC, graceful restart on
 * SIGTERM, exit when the orchestrator goes away.
 */
import type { Server } from 'node:http';
import type { Session } from 'node:inspector';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { Topology } from './topology.js';

export interface ServerConfig {
  topology: Topology;
  /** 0 = any free port. A restarted server reuses the port of the first one. */
  port: number;
  /** Unique per run, for the Redis engine's keys. */
  redisPrefix?: string;
  /** The run's own backing store (lib/backing.ts), e.g. `redis://127.0.0.1:<free port>`. */
  backingUrl?: string;
}

export interface ServerStats {
  cpuUserUs: number;
  cpuSystemUs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  connections: number;
  /** The runtime's garbage collections since start; absent where it reports none (Bun). */
  gc?: GcCounts;
}

/**
 * V8's collections as Node reports them (`PerformanceObserver`, entry type `gc`): mark-compacts
 * (`major`) and the main thread's pauses of every kind. The concurrent marking before a
 * mark-compact runs on helper threads and is not in `pauseMs`; on a server confined to one core it
 * still takes that core (bench/NOTES.md), so the count of major collections in a window says more
 * about its p99 than the pauses do.
 */
export interface GcCounts {
  major: number;
  minor: number;
  pauseMs: number;
}

/**
 * Starts counting this process' collections: `counts` are the running totals (a live object) until
 * `stop`. Undefined where the runtime reports no `gc` entries.
 */
export function observeGc(): { counts: GcCounts; stop(): void } | undefined {
  // A runtime that would accept the observer but never report (the report then shows n/a).
  const types = (PerformanceObserver as { supportedEntryTypes?: readonly string[] })
    .supportedEntryTypes;
  if (!types?.includes('gc')) return undefined;
  const counts: GcCounts = { major: 0, minor: 0, pauseMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } | null }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.major++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;
      counts.pauseMs += e.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return { counts, stop: () => observer.disconnect() };
}

/** The server's own counts, for as long as the process lives. */
let gcCounts: GcCounts | undefined;

export function readConfig(): ServerConfig {
  const raw = process.env.BENCH_CONFIG;
  if (!raw) throw new Error('BENCH_CONFIG is not set (servers are started by bench/run.ts)');
  return JSON.parse(raw) as ServerConfig;
}

declare const gc: undefined | (() => void);

function stats(connections: () => number): ServerStats {
  const cpu = process.cpuUsage();
  const m = process.memoryUsage();
  return {
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    connections: connections(),
    ...(gcCounts ? { gc: { ...gcCounts } } : {}),
  };
}

export interface Hosted {
  /** A node:http server to listen with… */
  http?: Server;
  /** …or the runtime's own way to listen on 127.0.0.1 (e.g. `Bun.serve`); resolves with the port. */
  listen?: (port: number) => Promise<number>;
  /** Live connections, for the orchestrator. */
  connections: () => number;
  /** Graceful stop (SIGTERM): close every socket the way the system does on a deploy. */
  close: () => Promise<void>;
}

const fullGc = async (): Promise<boolean> => {
  // Node with --expose-gc; Bun has its own (synchronous, full) collection.
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  const g = (globalThis as { gc?: () => void }).gc ?? (bun ? () => bun.gc(true) : undefined);
  if (!g) return false;
  g();
  await new Promise((r) => setTimeout(r, 50));
  g();
  return true;
};

/**
 * V8's sampling heap profiler over the inspector protocol, in this process: `heap-start` before
 * the connections open, `heap-stop` after (GC first) returns what is still retained, by
 * allocation site (lib/profile.ts `heapSummary`).
 */
let inspector: Session | null = null;
const post = <T>(method: string, params?: object): Promise<T> =>
  new Promise((resolve, reject) =>
    inspector!.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))),
  );

export async function host(config: ServerConfig, hosted: Hosted): Promise<void> {
  const send = (m: unknown) => process.send?.(m);
  gcCounts = observeGc()?.counts;
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (m: { type: string; id: number }) => {
    try {
      if (m.type === 'stats') send({ type: 'stats', id: m.id, stats: stats(hosted.connections) });
      else if (m.type === 'gc') {
        const gc = await fullGc();
        send({ type: 'stats', id: m.id, stats: stats(hosted.connections), gc });
      } else if (m.type === 'heap-start') {
        // loaded on demand: a runtime without node:inspector still runs every other scenario
        const { Session } = await import('node:inspector');
        inspector = new Session();
        inspector.connect();
        await post('HeapProfiler.enable');
        await post('HeapProfiler.startSampling', { samplingInterval: 4096 });
        send({ type: 'heap-start', id: m.id });
      } else if (m.type === 'heap-stop') {
        await fullGc();
        const { profile } = await post<{ profile: unknown }>('HeapProfiler.getSamplingProfile');
        await post('HeapProfiler.stopSampling');
        inspector?.disconnect();
        inspector = null;
        send({ type: 'heap-stop', id: m.id, profile, stats: stats(hosted.connections) });
      }
    } catch (e) {
      send({ type: 'error', id: m.id, error: String((e as Error)?.stack ?? e) });
    }
  });
  let closing = false;
  process.on('SIGTERM', () => {
    if (closing) return;
    closing = true;
    const hard = setTimeout(() => process.exit(0), 10_000);
    hard.unref();
    hosted
      .close()
      .catch((e) => console.error('[server] close failed', e))
      .finally(() => process.exit(0));
  });
  if (process.env.BENCH_ALLOC_PROFILE) await allocProfile(process.env.BENCH_ALLOC_PROFILE);
  const port = hosted.listen ? await hosted.listen(config.port) : await listenHttp(hosted, config);
  send({ type: 'ready', port, pid: process.pid });
}

async function listenHttp(hosted: Hosted, config: ServerConfig): Promise<number> {
  const http = hosted.http;
  if (!http) throw new Error('host: neither http nor listen given');
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, '127.0.0.1', () => resolve());
  });
  const addr = http.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/**
 * BENCH_ALLOC_PROFILE=<file>: samples every allocation (garbage included; with
 * BENCH_ALLOC_PROMOTED=1 only what outlived a scavenge) from the start, and writes the V8 sampling
 * heap profile there BENCH_ALLOC_PROFILE_S seconds later (default 12) — where the young
 * generation's churn comes from. `node bench/micro/alloc-summary.mjs <file>` summarises it.
 */
async function allocProfile(file: string): Promise<void> {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const s = new Session();
  s.connect();
  const call = <T>(method: string, params?: object): Promise<T> =>
    new Promise((resolve, reject) =>
      s.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))),
    );
  await call('HeapProfiler.enable');
  await call('HeapProfiler.startSampling', {
    samplingInterval: 8192,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: !process.env.BENCH_ALLOC_PROMOTED,
  });
  const dump = () => {
    s.post('HeapProfiler.getSamplingProfile', (err, res) => {
      if (!err) writeFileSync(file, JSON.stringify((res as { profile: unknown }).profile));
    });
  };
  // the bench stops servers with SIGKILL: write after BENCH_ALLOC_PROFILE_S seconds
  setTimeout(dump, Number(process.env.BENCH_ALLOC_PROFILE_S ?? 12) * 1000).unref();
}

/**
 * Child processes of the bench: systems under test, their backing stores (redis-server) and the
 * load generator, each a separate process (pinned with `taskset` when the machine allows), tracked
 * so that every one of them is killed when the bench exits, fails, times out or is interrupted.
 */
import { type ChildProcess, execSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerConfig, ServerStats } from './server-host.js';
import { type RuntimeId, systemDef } from './systems.js';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

const live = new Set<ChildProcess>();

export function killAll(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null && c.pid) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {}
    }
  }
  live.clear();
}

const hasTaskset = (() => {
  try {
    return spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
})();

export const cores = availableParallelism();
const range = (a: number, b: number) => (a === b ? String(a) : `${a}-${b}`);
/**
 * Pinning plan. The server side (the server and its backing store) and the load generator never
 * share a core: with 2–3 cores the server and redis-server share core 0 and the load generator
 * has the rest; with ≥ 4 cores redis-server gets core 1 of its own and the load generator 2…n-1.
 * null: no taskset, or a single core (the output says so).
 */
export const pinning =
  hasTaskset && cores >= 2
    ? cores >= 4
      ? { server: '0', backing: '1', client: range(2, cores - 1) }
      : { server: '0', backing: '0', client: range(1, cores - 1) }
    : null;

/** Cores the load generator processes may use (one process each by default, `--loadgens`). */
export const clientCores = pinning
  ? pinning.client.includes('-')
    ? Number(pinning.client.split('-')[1]) - Number(pinning.client.split('-')[0]) + 1
    : 1
  : Math.max(1, cores - 1);

let clkTck = 0;
/**
 * CPU time (user + system, all threads, µs) and RSS of a process, from /proc/<pid>/stat and
 * status: works while the process's event loop is saturated; null where /proc is unavailable.
 */
export function procStats(pid: number | undefined): { cpuUs: number; rss: number } | null {
  if (!pid) return null;
  try {
    if (!clkTck) clkTck = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may contain spaces) start at index 3
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]); // utime + stime
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return { cpuUs: (ticks / clkTck) * 1e6, rss: rssKb * 1024 };
  } catch {
    return null;
  }
}

/**
 * Where a server's `@parley/*` imports resolve: the built packages (`dist/`, what users install;
 * lib/build.ts) or, with `--parley-from=source`, the TypeScript sources (the private
 * `@parley/source` export condition).
 */
export let parleyFrom: 'dist' | 'source' = 'dist';
export function setParleyFrom(from: 'dist' | 'source'): void {
  parleyFrom = from;
}
const nodeArgs = () => [
  '--expose-gc',
  ...(parleyFrom === 'source' ? ['--conditions=@parley/source'] : []),
  '--import',
  'tsx',
];

/** How a server file is started: the command line for a runtime (see lib/systems.ts). */
export interface Runtime {
  argv(file: string, extraArgs: string[]): [string, string[]];
  /** Understands Node's `--cpu-prof` flags (V8 `.cpuprofile` output). */
  cpuProfile: boolean;
}

/** The pinned Bun (root devDependency `bun`; its npm package ships the binary). */
export function bunBinary(): string {
  return join(
    dirname(createRequire(import.meta.url).resolve('bun/package.json')),
    'bin',
    'bun.exe',
  );
}

export const RUNTIMES: Record<RuntimeId, Runtime> = {
  node: {
    argv: (file, extraArgs) => [process.execPath, [...nodeArgs(), ...extraArgs, file]],
    cpuProfile: true,
  },
  // Bun runs the TypeScript itself (no tsx); the extra args are Node's (--cpu-prof,
  // BENCH_SERVER_NODE_ARGS) and are not passed. `gc` uses Bun.gc; heap sampling is unavailable.
  bun: {
    argv: (file) => [
      bunBinary(),
      [...(parleyFrom === 'source' ? ['--conditions=@parley/source'] : []), file],
    ],
    cpuProfile: false,
  },
};

/** `--profile`: servers write V8 CPU profiles here (one per server process). */
export let profileDir: string | undefined = process.env.BENCH_PROFILE_DIR;
export function setProfileDir(dir: string): void {
  profileDir = dir;
}

/** Spawns a tracked child (killed with the bench), pinned to `cpu` when given. */
export function spawnTracked(
  cmd: string,
  args: string[],
  cpu: string | undefined,
  opts: { env?: Record<string, string>; stdio: ('ignore' | 'inherit' | 'pipe' | 'ipc')[] },
): ChildProcess {
  const [c, a] = cpu ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
  const child = spawn(c, a, {
    cwd: BENCH_DIR,
    env: { ...process.env, ...opts.env },
    stdio: opts.stdio,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function start(
  file: string,
  cpu: string | undefined,
  env: Record<string, string>,
  extraArgs: string[] = [],
  runtime: RuntimeId = 'node',
): ChildProcess {
  const [cmd, args] = RUNTIMES[runtime].argv(join(BENCH_DIR, file), extraArgs);
  return spawnTracked(cmd, args, cpu, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Request/response over IPC, with ids. */
function rpc(child: ChildProcess) {
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (m: { id?: number; result?: unknown; error?: string; stats?: unknown }) => {
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m.result ?? m);
  });
  child.once('exit', (code, sig) => {
    for (const p of pending.values()) p.reject(new Error(`child exited (${code ?? sig})`));
    pending.clear();
  });
  return <T>(msg: Record<string, unknown>, timeoutMs = 120_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      const t = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`IPC timeout: ${JSON.stringify(msg).slice(0, 80)}`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      child.send({ ...msg, id });
    });
}

export interface ServerHandle {
  child: ChildProcess;
  port: number;
  /**
   * CPU time (µs) and RSS of the server read from /proc by the orchestrator: works even when the
   * server's event loop is saturated (null where /proc is unavailable).
   */
  procStats(): { cpuUs: number; rss: number } | null;
  stats(timeoutMs?: number): Promise<ServerStats>;
  gc(): Promise<ServerStats>;
  /** Starts V8's sampling heap profiler in the server. */
  heapStart(): Promise<void>;
  /** GC, then the sampling heap profile of what is retained (and the server's stats). */
  heapStop(): Promise<{ profile: unknown; stats: ServerStats }>;
  /** SIGTERM (graceful) or SIGKILL, and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startServer(
  system: string,
  config: ServerConfig,
  /** Write a V8 CPU profile into this directory (on a graceful exit); overrides `--profile`. */
  cpuProfileDir?: string,
): Promise<ServerHandle> {
  const def = systemDef(system);
  const profDir = cpuProfileDir ?? (profileDir ? join(profileDir, system) : undefined);
  const child = start(
    def.file,
    pinning?.server,
    { ...def.env, BENCH_CONFIG: JSON.stringify(config) },
    [
      ...(profDir && RUNTIMES[def.runtime].cpuProfile
        ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${profDir}`]
        : []),
      ...(def.runtime === 'node' ? (def.nodeArgs ?? []) : []),
      // e.g. BENCH_SERVER_NODE_ARGS=--trace-gc
      ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
    def.runtime,
  );
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`${system}: server did not start in 30 s`)),
      30_000,
    );
    child.on('message', (m: { type?: string; port?: number }) => {
      if (m.type === 'ready') {
        clearTimeout(t);
        resolve(m.port!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${system}: server exited with ${code} before it was ready`));
    });
  });
  const call = rpc(child);
  const exited = new Promise<void>((r) => {
    if (child.exitCode !== null) r();
    else child.once('exit', () => r());
  });
  return {
    child,
    port,
    procStats: () => procStats(child.pid),
    stats: async (timeoutMs?: number) =>
      (await call<{ stats: ServerStats }>({ type: 'stats' }, timeoutMs)).stats,
    gc: async () => (await call<{ stats: ServerStats }>({ type: 'gc' })).stats,
    heapStart: async () => {
      await call({ type: 'heap-start' });
    },
    heapStop: () => call<{ profile: unknown; stats: ServerStats }>({ type: 'heap-stop' }, 60_000),
    stop: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface LoadgenHandle {
  call: <T>(msg: Record<string, unknown>, timeoutMs?: number) => Promise<T>;
  stop(): Promise<void>;
}

export async function startLoadgen(): Promise<LoadgenHandle> {
  const child = start('lib/loadgen.ts', pinning?.client, {});
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('load generator did not start in 30 s')), 30_000);
    child.on('message', (m: { ready?: boolean }) => {
      if (m.ready) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
  });
  const call = rpc(child);
  return {
    call,
    stop: async () => {
      await call({ cmd: 'close' }, 5000).catch(() => {});
      child.kill('SIGKILL');
    },
  };
}

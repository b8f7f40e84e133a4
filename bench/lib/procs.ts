/**
 * Child processes of the bench: systems under test and the load generator, each a separate Node
 * process (pinned to its own core with `taskset` when the machine allows), tracked so that every
 * one of them is killed when the bench exits, fails, times out or is interrupted.
 */
import { type ChildProcess, execSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerConfig, ServerStats } from './server-host.js';

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
/** Pinning plan: server on core 0, load generator on the other cores. */
export const pinning =
  hasTaskset && cores >= 2 ? { server: '0', client: cores === 2 ? '1' : `1-${cores - 1}` } : null;

let clkTck = 0;
function procStats(pid: number | undefined): { cpuUs: number; rss: number } | null {
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

const NODE_ARGS = ['--expose-gc', '--conditions=@parley/source', '--import', 'tsx'];

/** `--profile`: servers write V8 CPU profiles here (one per server process). */
export let profileDir: string | undefined = process.env.BENCH_PROFILE_DIR;
export function setProfileDir(dir: string): void {
  profileDir = dir;
}

function start(
  file: string,
  cpu: string | undefined,
  env: Record<string, string>,
  extraArgs: string[] = [],
): ChildProcess {
  const args = [...NODE_ARGS, ...extraArgs, join(BENCH_DIR, file)];
  const [cmd, argv] = cpu
    ? ['taskset', ['-c', cpu, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(cmd as string, argv as string[], {
    cwd: BENCH_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
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
  /** SIGTERM (graceful) or SIGKILL, and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export const SERVER_FILES: Record<string, { file: string; env?: Record<string, string> }> = {
  ws: { file: 'servers/ws-relay.ts' },
  socketio: { file: 'servers/socketio.ts' },
  parley: { file: 'servers/parley.ts' },
  'parley-redis': { file: 'servers/parley.ts', env: { BENCH_ENGINE: 'redis' } },
};

export async function startServer(system: string, config: ServerConfig): Promise<ServerHandle> {
  const def = SERVER_FILES[system];
  if (!def) throw new Error(`unknown system ${system}`);
  const child = start(
    def.file,
    pinning?.server,
    { ...def.env, BENCH_CONFIG: JSON.stringify(config) },
    [
      ...(profileDir
        ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${join(profileDir, system)}`]
        : []),
      // e.g. BENCH_SERVER_NODE_ARGS=--trace-gc
      ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
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

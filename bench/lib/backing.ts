/**
 * Backing stores the bench starts itself, fresh for every run: a redis-server of its own on a free
 * port (never the shared 127.0.0.1:6379, whose CPU other users share), without persistence,
 * pinned with the server (lib/procs.ts `pinning.backing`). Its CPU (utime + stime of every
 * process, from /proc) is reported next to the hub's, and Redis' own per-command times
 * (`INFO commandstats`) show where that CPU goes.
 *
 * Extension point: `BACKINGS` (a 3-primary Redis Cluster returns the pids of its three servers;
 * see lib/systems.ts).
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { pinning, procStats, spawnTracked } from './procs.js';
import type { BackingId } from './systems.js';

export interface CommandStat {
  command: string;
  calls: number;
  usec: number;
}

export interface Backing {
  id: BackingId;
  /** What the server connects to (`BENCH_CONFIG.backingUrl`). */
  url: string;
  /** Every process of the store: their CPU is the backing's CPU. */
  pids: number[];
  /** Sum of the processes' user + system CPU (µs), from /proc; null where unavailable. */
  cpuUs(): number | null;
  /** Zeroes the per-command statistics (start of a measurement window). */
  resetStats(): Promise<void>;
  /** Per-command time since `resetStats`, most expensive first. */
  commandStats(): Promise<CommandStat[]>;
  stop(): Promise<void>;
}

/** Why no backing of this kind can run here (null: it can). */
export function backingUnavailable(id: BackingId): string | null {
  if (id === 'redis') {
    const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
    return r.status === 0 ? null : 'no redis-server binary on PATH (the bench starts its own)';
  }
  return `unknown backing ${id as string}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Parses `INFO commandstats` (`cmdstat_get:calls=2,usec=15,…`). */
export function parseCommandStats(info: string): CommandStat[] {
  const out: CommandStat[] = [];
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) out.push({ command: m[1]!, calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out.sort((a, b) => b.usec - a.usec);
}

async function startRedisOnce(port: number): Promise<Backing> {
  const child = spawnTracked(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ],
    pinning?.backing,
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on ${port} did not start in 10 s: ${log.slice(-300)}`));
    }, 10_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      if (log.includes('Ready to accept connections')) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`redis-server on ${port} exited with ${code}: ${log.slice(-300)}`));
    });
  });
  child.stdout?.removeAllListeners('data').resume();
  child.stderr?.removeAllListeners('data').resume();
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  admin.on('error', () => {});
  await admin.connect();
  // with taskset the child is `taskset`, which execs redis-server: same pid
  const pid = child.pid!;
  return {
    id: 'redis',
    url,
    pids: [pid],
    cpuUs: () => procStats(pid)?.cpuUs ?? null,
    resetStats: async () => {
      await admin.config('RESETSTAT');
    },
    commandStats: async () => parseCommandStats(await admin.info('commandstats')),
    stop: async () => {
      admin.disconnect();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** A redis-server of the bench's own on a free port (another process may take the port first: 3 tries). */
async function startRedis(): Promise<Backing> {
  let last: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      return await startRedisOnce(await freePort());
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

export const BACKINGS: Record<BackingId, () => Promise<Backing>> = {
  redis: startRedis,
};

/**
 * Backing stores the bench starts itself, fresh for every run: a redis-server of its own on a free
 * port (never the shared 127.0.0.1:6379, whose CPU other users share), without persistence,
 * pinned with the server (lib/procs.ts `pinning.backing`). Its CPU (utime + stime of every
 * process, from /proc) is reported next to the hub's, and Redis' own per-command times
 * (`INFO commandstats`) show where that CPU goes.
 *
 * Extension point: `BACKINGS`. `redis-cluster`: three `redis-server --cluster-enabled yes` on free
 * ports joined by `redis-cli --cluster create` (3 primaries, no replicas); their CPU is summed and
 * their command statistics merged, plus `spublish@<port>` per shard (the messages each shard
 * fanned out).
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  if (id === 'redis' || id === 'redis-cluster') {
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

async function startRedisOnce(port: number, extra: string[] = []): Promise<Backing> {
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
      ...extra,
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

/** Three cluster-enabled redis-servers of the bench's own, joined into one cluster. */
async function startRedisCluster(): Promise<Backing> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-cluster-'));
  const nodes: Backing[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      nodes.push(
        await startRedisOnce(port, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--dir',
          dir,
        ]),
      );
    }
    const addrs = nodes.map((n) => n.url.replace('redis://', ''));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create: ${create.stdout}${create.stderr}`);
    const admins = nodes.map((n) => {
      const r = new Redis(n.url, { maxRetriesPerRequest: 1 });
      r.on('error', () => {});
      return r;
    });
    for (const a of admins) {
      for (let t = 0; !(await a.cluster('INFO')).includes('cluster_state:ok'); t++) {
        if (t > 300) throw new Error('redis cluster not ok within 30 s');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      id: 'redis-cluster',
      url: addrs.join(','),
      pids: nodes.flatMap((n) => n.pids),
      cpuUs: () => {
        const all = nodes.map((n) => n.cpuUs());
        return all.some((c) => c === null) ? null : all.reduce<number>((a, b) => a + b!, 0);
      },
      resetStats: async () => {
        await Promise.all(nodes.map((n) => n.resetStats()));
      },
      commandStats: async () => {
        const per = await Promise.all(nodes.map((n) => n.commandStats()));
        const merged = new Map<string, CommandStat>();
        for (const stats of per) {
          for (const st of stats) {
            const m = merged.get(st.command) ?? { command: st.command, calls: 0, usec: 0 };
            m.calls += st.calls;
            m.usec += st.usec;
            merged.set(st.command, m);
          }
        }
        const shards = per.map((stats, i) => {
          const sp = stats.find((st) => st.command === 'spublish');
          return { command: `spublish@${addrs[i]}`, calls: sp?.calls ?? 0, usec: sp?.usec ?? 0 };
        });
        // The harness shows 12 entries: the 9 costliest commands, then the shards.
        return [...[...merged.values()].sort((a, b) => b.usec - a.usec).slice(0, 9), ...shards];
      },
      stop: async () => {
        for (const a of admins) a.disconnect();
        await Promise.all(nodes.map((n) => n.stop()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export const BACKINGS: Record<BackingId, () => Promise<Backing>> = {
  redis: startRedis,
  'redis-cluster': startRedisCluster,
};

/**
 * CI guard for the benchmark harness: runs `bench/run.ts --smoke` (every system, tiny numbers, a
 * few seconds of load, one profile run per target) as a child process and checks what it
 * recorded. It measures nothing: speed is judged by `pnpm bench`, never by a unit test. Every
 * assertion is about accounting (who got what), which does not depend on the machine's speed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Results } from '../lib/results.js';
import { runsIn, systemDef } from '../lib/systems.js';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
const outJson = join(tmp, 'results.json');

function runSmoke(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@parley/source',
        '--import',
        'tsx',
        join(benchDir, 'run.ts'),
        '--smoke',
        '--profile-targets=all',
        // two load generator processes (one is the default on 2 cores): the accounting below
        // then also checks deliveries counted across processes
        '--loadgens=2',
        `--out=${outJson}`,
      ],
      { cwd: benchDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // the smoke preset's own hard limit is 300 s; this is the last resort
    const timer = setTimeout(() => child.kill('SIGINT'), 320_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Rows of the markdown table that follows `heading`, as arrays of cells. */
function rowsAfter(out: string, heading: string): string[][] {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.startsWith(heading));
  if (i < 0) return [];
  const rows: string[][] = [];
  for (let j = i + 1; j < lines.length; j++) {
    const l = lines[j]!;
    if (l.startsWith('#')) break;
    if (!l.startsWith('|') || l.startsWith('| ---')) continue;
    rows.push(
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows.slice(1); // without the header row
}

let run: { code: number | null; stdout: string; stderr: string };
let results: Results;

beforeAll(async () => {
  run = await runSmoke();
  expect(run.code, run.stderr.slice(-3000)).toBe(0);
  results = JSON.parse(readFileSync(outJson, 'utf8')) as Results;
}, 340_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MEMBERS = 4; // the smoke preset: 20 conversations × 4 members, one device each

describe('bench --smoke', () => {
  it('runs every system, Redis on a redis-server of its own, the hub on Bun on the pinned Bun', () => {
    const expected = [
      'ws',
      'socketio',
      'parley',
      'parley-bun',
      'parley-redis',
      'parley-redis-cluster',
      'ws-stgc',
      'socketio-stgc',
      'parley-stgc',
    ];
    if (results.skipped['parley-redis']) {
      // CI installs redis-server; elsewhere a missing binary skips the Redis rows loudly
      if (process.env.CI === 'true') throw new Error(results.skipped['parley-redis']);
      console.warn(
        `\n!!! bench smoke: Redis rows SKIPPED: ${results.skipped['parley-redis']} !!!\n`,
      );
      expected.splice(4, 2);
    }
    expect(results.systems).toEqual(expected);
    for (const s of expected) expect(results.fixed[s], s).toHaveLength(1);
    // the root devDependency `bun`, and named in the report's machine line
    const pinned = createRequire(import.meta.url)('bun/package.json').version as string;
    expect(results.machine.bun).toBe(pinned);
    expect(run.stdout).toContain(`Bun ${pinned}`);
    const redis = results.fixed['parley-redis']?.[0];
    if (redis) {
      const port = Number(/^redis:\/\/127\.0\.0\.1:(\d+)$/.exec(redis.backingUrl ?? '')?.[1]);
      expect(port).toBeGreaterThan(0);
      expect(port).not.toBe(6379);
      // its CPU is read over the window, and its command statistics show the hub's work
      expect(redis.backingCpuUsPerDelivery).toBeGreaterThanOrEqual(0);
      expect(redis.totalCpuUsPerDelivery).toBeGreaterThanOrEqual(redis.serverCpuUsPerDelivery);
      expect(redis.backingCommands?.some((c) => c.calls > 0)).toBe(true);
    }
    // The 3-primary cluster of its own: three nodes, none the shared Redis, every shard fanned
    // out some of the messages (`spublish@<node>`), and their CPU counted.
    const cluster = results.fixed['parley-redis-cluster']?.[0];
    if (cluster) {
      const nodes = (cluster.backingUrl ?? '').split(',');
      expect(nodes).toHaveLength(3);
      for (const n of nodes) expect(n).toMatch(/^127\.0\.0\.1:(?!6379$)\d+$/);
      const shards = (cluster.backingCommands ?? []).filter((c) =>
        c.command.startsWith('spublish@'),
      );
      expect(shards).toHaveLength(3);
      for (const sh of shards) expect(sh.calls, sh.command).toBeGreaterThan(0);
      expect(cluster.backingCpuUsPerDelivery).toBeGreaterThanOrEqual(0);
    }
  });

  it('counts one delivery per member socket per message in every system, the sender included', () => {
    for (const s of results.systems) {
      const w = results.fixed[s]![0]!;
      expect(w.sent, s).toBeGreaterThan(0);
      // the sender's delivery is credited: Parley's ack, the relay's and Socket.IO's echo
      expect(w.expected, s).toBe(w.sent * MEMBERS);
      expect(w.delivered, s).toBe(w.expected);
    }
    // GC counters per window: Node servers report theirs, Bun none (null in results.json)
    for (const s of results.systems) {
      const w = results.fixed[s]![0]!;
      if (systemDef(s).runtime === 'bun') expect(w.majorGcs, s).toBeNull();
      else {
        expect(w.majorGcs, s).toBeGreaterThanOrEqual(0);
        expect(w.gcPauseMs, s).toBeGreaterThanOrEqual(0);
      }
    }
    const perMsg = rowsAfter(run.stdout, '### Fixed rate').map((r) => r[2]);
    expect(perMsg.length).toBeGreaterThanOrEqual(3);
    expect(new Set(perMsg)).toEqual(new Set([String(MEMBERS)]));
  });

  it('keeps Parley within its default rate limit: nothing rate-limited, no connection lost', () => {
    expect(results.workloads.rateLimit).toEqual({ perSecond: 20, burst: 60 });
    for (const s of results.systems.filter((x) => x.startsWith('parley'))) {
      // the hub runs with its defaults, and says so in its welcome
      expect(results.fixed[s]![0]!.announcedRate, s).toEqual(results.workloads.rateLimit);
      const { fixed, ramp } = results.workloads;
      const windows = [
        ...(results.fixed[s] ?? []).map((w) => ({ w, senders: fixed.topology.users })),
        ...(results.ramp[s] ?? []).flatMap((r) =>
          r.steps.map((w) => ({ w, senders: ramp.topology.users })),
        ),
      ];
      expect(windows.length, s).toBeGreaterThan(runsIn(s, 'ramp') ? 1 : 0);
      for (const { w, senders } of windows) {
        expect(w.rateLimited, `${s} at ${w.rate} msg/s`).toBe(0);
        expect(w.lost, `${s} at ${w.rate} msg/s`).toBe(0);
        expect(w.rate / senders, `${s} at ${w.rate} msg/s`).toBeLessThanOrEqual(16);
      }
    }
  });

  it('restarts every system under a reconnect storm and counts what arrived', () => {
    for (const s of results.systems.filter((x) => runsIn(x, 'storm'))) {
      const st = results.storm[s]?.[0];
      expect(st?.delivered, s).toBeGreaterThan(0);
      expect(st!.expected, s).toBe(st!.sent * 10); // storm conversations have 10 members
    }
  });

  it('reports each ramp maximum as a result or a bound, with what stopped it', () => {
    for (const s of results.systems) {
      expect(results.ramp[s] ?? [], s).toHaveLength(runsIn(s, 'ramp') ? 1 : 0);
    }
    const rows = rowsAfter(run.stdout, '### Ramp');
    expect(rows.map((r) => r[0])).toEqual(
      expect.arrayContaining([
        'raw ws relay',
        'Socket.IO 4.8',
        'Parley (memory)',
        'Parley on Bun (memory)',
      ]),
    );
    for (const r of rows) {
      expect(r.at(-2), r[0]).toMatch(/^(a result|\*\*a lower bound\*\*)$/);
      expect(r.at(-1), r[0]).toMatch(
        /server-bound|load generator saturated|ceiling|ran out of steps|no step passed/,
      );
    }
  });

  it('prints the targets table of issue #15 and a profile run for each target', () => {
    const targets = rowsAfter(run.stdout, '## Targets (issue #15)');
    const ids = targets.map((r) => r[0]!);
    for (const t of [
      /^fixed rate: server CPU per delivery ≤ 1\.1 × raw ws relay$/,
      /^fixed rate: p99 ≤ 2 × raw ws relay's$/,
      /^fixed rate: server CPU per delivery below Socket\.IO's$/,
      /^ramp: max sustained deliveries\/s ≥ 1\.2 × Socket\.IO 4\.8's/,
      /^ramp: max sustained deliveries\/s ≥ 0\.85 × raw ws relay's/,
      /^idle: RSS per connection ≤ 1\.3 × raw ws relay's$/,
      /^idle: heap per connection ≤ Socket\.IO's$/,
      /^@parley\/client bundle.*≤ 10 KB$/,
      /^@parley\/client bundle below socket\.io-client's$/,
    ])
      expect(
        ids.some((id) => t.test(id)),
        String(t),
      ).toBe(true);
    for (const r of targets) expect(r[2], r[0]).toMatch(/^(yes|NO|n\/a|bound — .+)$/);

    const keys = results.profiles.map((p) => p.key);
    expect(keys).toEqual(
      expect.arrayContaining(['parley:fixed:cpu', 'parley:ramp-max:cpu', 'parley:idle:heap']),
    );
    if (results.systems.includes('parley-redis')) expect(keys).toContain('parley-redis:fixed:cpu');
    for (const p of results.profiles) {
      expect(p.error, p.key).toBeUndefined();
      if (p.kind === 'cpu') expect(p.cpu?.busy, p.key).toBeGreaterThan(0);
      else expect(p.heap?.totalKB, p.key).toBeGreaterThan(0);
    }
    expect(run.stdout).toMatch(/## Profiles of the missed targets[\s\S]*\| self % \| self ms \|/);

    const bundles = rowsAfter(run.stdout, '## Client bundle');
    expect(bundles.map((r) => r[0])).toEqual(
      expect.arrayContaining(['@parley/client', 'socket.io-client', 'centrifuge', 'partysocket']),
    );
    // Measured from the packed tarball (needs `pnpm build`): a number, not an error.
    for (const r of bundles) expect(Number(r[3]), `${r[0]} min+gzip: ${r[3]}`).toBeGreaterThan(0);
  });
});

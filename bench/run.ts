/**
 * Parley benchmark harness (issue #8): the raw `ws` relay, Socket.IO 4.8 and the Parley hub
 * (in-memory and Redis engines), each in its own server process, driven by the same lean load
 * generator in another process.
 *
 *   pnpm bench                 full run (medians of 3 runs; takes a while)
 *   pnpm bench --quick         the same scenarios with smaller numbers (< 5 minutes)
 *   pnpm bench --smoke         seconds, tiny numbers, every system (CI)
 *   pnpm bench --write         also write BENCHMARKS.md at the repository root (--write=FILE: there)
 *
 * Flags: --systems=ws,socketio,parley,parley-redis  --scenarios=fixed,ramp,idle,storm,bundle
 *   --users --conversations --members --devices --rate (msg/s) --duration (s) --payload (bytes)
 *   --runs --redis-runs --storm-runs --idle-connections --storm-clients --storm-rate --ramp-start --ramp-factor
 *   --ramp-steps --ramp-refine --out=file.json --timeout (s, hard limit) --budget (s: no new run after it;
 *   the first run of everything always runs) --no-redis
 *   --profile (servers write V8 CPU profiles to bench/results/<mode>/profiles; summary printed)
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { join, relative } from 'node:path';
import { backingUnavailable } from './lib/backing.js';
import { type BundleResult, bundleSizes } from './lib/bundle.js';
import { Histogram } from './lib/hist.js';
import { BENCH_DIR, cores, killAll, pinning, profileDir, setProfileDir } from './lib/procs.js';
import { summarise } from './lib/profile.js';
import {
  fixedRate,
  type IdleResult,
  idleMemory,
  kindOf,
  type RampResult,
  ramp,
  type StormResult,
  stepPassed,
  storm,
  type WindowResult,
  type Workload,
} from './lib/scenarios.js';
import { lineChart, type Series } from './lib/svg.js';
import { labelOf, SYSTEMS, systemDef } from './lib/systems.js';
import { rateCeiling, scaledFor, senderBudget } from './lib/topology.js';

// ------------------------------------------------------------------ flags

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  for (const a of argv) {
    if (a === `--${name}`) return 'true';
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const num = (name: string, dflt: number): number => {
  const v = flag(name);
  return v === undefined || v === 'true' ? dflt : Number(v);
};
const mode = flag('smoke') ? 'smoke' : flag('quick') ? 'quick' : 'full';

const PRESETS = {
  full: {
    users: 1000,
    conversations: 500,
    members: 10,
    devices: 1,
    rate: 2000,
    durationS: 10,
    warmupS: 2,
    payload: 100,
    runs: 3,
    redisRuns: 3,
    rampStart: 4000,
    rampMax: 32_000,
    rampFactor: 1.5,
    rampSteps: 12,
    rampWarmupS: 1,
    rampDurationS: 3,
    rampRefine: 3,
    rampRetries: 1,
    idle: 5000,
    stormRuns: 3,
    stallS: 3,
    stormClients: 5000,
    stormRate: 500,
    stormTimeoutS: 60,
    timeoutS: 3600,
    budgetS: 3000,
  },
  quick: {
    users: 1000,
    conversations: 500,
    members: 10,
    devices: 1,
    rate: 2000,
    durationS: 2,
    warmupS: 0.5,
    payload: 100,
    runs: 3,
    redisRuns: 1,
    rampStart: 4000,
    rampMax: 16_000,
    rampFactor: 2,
    rampSteps: 5,
    rampWarmupS: 0.3,
    rampDurationS: 1,
    rampRefine: 1,
    rampRetries: 1,
    idle: 1000,
    stormRuns: 1,
    stallS: 2,
    stormClients: 1000,
    stormRate: 200,
    stormTimeoutS: 20,
    timeoutS: 540,
    budgetS: 240,
  },
  smoke: {
    users: 40,
    conversations: 20,
    members: 4,
    devices: 1,
    rate: 100,
    durationS: 0.7,
    warmupS: 0.2,
    payload: 100,
    runs: 1,
    redisRuns: 1,
    rampStart: 100,
    rampMax: 400,
    rampFactor: 2,
    rampSteps: 2,
    rampWarmupS: 0.2,
    rampDurationS: 0.5,
    rampRefine: 1,
    rampRetries: 0,
    idle: 50,
    stormRuns: 1,
    stallS: 1,
    stormClients: 40,
    stormRate: 40,
    stormTimeoutS: 10,
    timeoutS: 120,
    budgetS: 100,
  },
} as const;
const P = PRESETS[mode];

const opts = {
  users: num('users', P.users),
  conversations: num('conversations', P.conversations),
  members: num('members', P.members),
  devices: num('devices', P.devices),
  rate: num('rate', P.rate),
  durationS: num('duration', P.durationS),
  warmupS: num('warmup', P.warmupS),
  payload: num('payload', P.payload),
  runs: num('runs', P.runs),
  redisRuns: num('redis-runs', flag('runs') ? num('runs', P.runs) : P.redisRuns),
  rampStart: num('ramp-start', P.rampStart),
  rampMax: num('ramp-max', P.rampMax),
  rampFactor: num('ramp-factor', P.rampFactor),
  rampSteps: num('ramp-steps', P.rampSteps),
  rampWarmupS: num('ramp-warmup', P.rampWarmupS),
  rampDurationS: num('ramp-duration', P.rampDurationS),
  rampRetries: num('ramp-retries', P.rampRetries),
  rampRefine: num('ramp-refine', P.rampRefine),
  idle: num('idle-connections', P.idle),
  stormClients: num('storm-clients', P.stormClients),
  stormRate: num('storm-rate', P.stormRate),
  stormTimeoutS: num('storm-timeout', P.stormTimeoutS),
  stormRuns: num('storm-runs', flag('runs') ? num('runs', P.runs) : P.stormRuns),
  timeoutS: num('timeout', P.timeoutS),
  budgetS: num('budget', P.budgetS),
};
const DEFAULT_SYSTEMS = SYSTEMS.filter((s) => s.default).map((s) => s.id);
let systems = (flag('systems') ?? DEFAULT_SYSTEMS.join(',')).split(',').filter(Boolean);
for (const s of systems) systemDef(s); // unknown names fail here, before anything runs
// The Redis engine is Parley's second table: included with `parley` unless --no-redis.
if (systems.includes('parley') && !flag('no-redis')) systems.push('parley-redis');
if (flag('no-redis')) systems = systems.filter((s) => !systemDef(s).backing);
systems = [...new Set(systems)];
const scenarios = new Set(
  (flag('scenarios') ?? 'fixed,ramp,idle,storm,bundle').split(',').filter(Boolean),
);
const write = Boolean(flag('write'));
// Only a `--write` run replaces the committed results and charts that BENCHMARKS.md shows; any
// other run (a partial experiment, say) goes to results/tmp/, which git ignores.
const outDir = write ? join(BENCH_DIR, 'results', mode) : join(BENCH_DIR, 'results', 'tmp', mode);
const outJson = flag('out') ?? join(outDir, 'results.json');
if (flag('profile')) {
  const dir = join(outDir, 'profiles');
  rmSync(dir, { recursive: true, force: true });
  setProfileDir(dir);
}

// ------------------------------------------------------------------ safety: never leave children

let finished = false;
// Redis rows use a redis-server of the run's own (lib/backing.ts), killed with every other child:
// nothing is left behind in a shared Redis.
const bail = (why: string, code = 1) => {
  if (!finished) console.error(`\n[bench] ${why}: stopping every child process`);
  killAll();
  process.exit(code);
};
process.on('SIGINT', () => bail('interrupted', 130));
process.on('SIGTERM', () => bail('terminated', 143));
process.on('uncaughtException', (e) => {
  console.error(e);
  bail('uncaught exception');
});
process.on('exit', () => {
  killAll();
});
const hardTimeout = setTimeout(
  () => bail(`timeout after ${opts.timeoutS} s`),
  opts.timeoutS * 1000,
);
hardTimeout.unref();

// ------------------------------------------------------------------ helpers

const log = (s: string) => console.error(`[bench] ${s}`);
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;

interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}
function stat(values: number[]): Stat {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const m = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return { median: m, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}
const f = (v: number, d = 1) =>
  !Number.isFinite(v)
    ? '—'
    : v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const fs = (s: Stat, d = 1) =>
  s.n === 0
    ? '—'
    : s.n === 1
      ? f(s.median, d)
      : `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;

function table(head: string[], rows: string[][]): string {
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

// ------------------------------------------------------------------ machine

function machine() {
  let model = cpus()[0]?.model ?? '?';
  let nproc = String(cores);
  try {
    nproc = execSync('nproc').toString().trim();
  } catch {}
  try {
    const m = execSync("grep -m1 'model name' /proc/cpuinfo").toString().split(':')[1];
    if (m) model = m.trim();
  } catch {}
  return {
    nproc,
    cpu: model,
    node: process.version,
    os: `${platform()} ${release()}`,
    loadavg: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    pinning: pinning
      ? `server on core ${pinning.server}, load generator on core ${pinning.client} (taskset)`
      : 'none (taskset unavailable or a single core)',
  };
}

// ------------------------------------------------------------------ run

interface Results {
  mode: string;
  command: string;
  date: string;
  machine: ReturnType<typeof machine>;
  options: typeof opts;
  skipped: Record<string, string>;
  fixed: Record<string, WindowResult[]>;
  ramp: Record<string, RampResult[]>;
  idle: Record<string, IdleResult[]>;
  storm: Record<string, StormResult[]>;
  bundle: BundleResult[];
  durationS: number;
  failures?: string[];
}

const command = `pnpm bench ${argv.join(' ')}`.trim();
const results: Results = {
  mode,
  command,
  date: new Date().toISOString(),
  machine: machine(),
  options: opts,
  skipped: {},
  fixed: {},
  ramp: {},
  idle: {},
  storm: {},
  bundle: [],
  durationS: 0,
};

const base: Workload = {
  topology: { users: opts.users, conversations: opts.conversations, members: opts.members },
  devices: opts.devices,
  payload: opts.payload,
};
// The ramp's topology: the fixed-rate one scaled (× k users and conversations, same fan-out) until
// its senders can offer --ramp-max msg/s within the hub's default per-connection rate limit.
const rampW: Workload = {
  ...base,
  topology: scaledFor(base.topology, opts.devices, opts.rampMax),
};
const idleW: Workload = {
  topology: { users: opts.idle, conversations: opts.idle, members: 5 },
  devices: 1,
  payload: opts.payload,
};
const stormW: Workload = {
  topology: {
    users: opts.stormClients,
    conversations: Math.max(1, Math.round(opts.stormClients / 2)),
    members: 10,
  },
  devices: 1,
  payload: opts.payload,
};

// Every workload stays within the hub's default rate limit per sender connection.
for (const [what, w, rate] of [
  ['--rate', base, opts.rate],
  ['--storm-rate', stormW, opts.stormRate],
] as const) {
  const scenario = what === '--rate' ? 'fixed' : 'storm';
  if (scenarios.has(scenario) && rate > rateCeiling(w.topology, w.devices)) {
    console.error(
      `[bench] ${what}=${rate} needs more sender connections: ${w.topology.users} users × ${w.devices} device(s) may send ${rateCeiling(w.topology, w.devices)} msg/s at ${senderBudget()} msg/s each (the hub's default rate limit, with headroom); raise --users/--conversations`,
    );
    process.exit(2);
  }
}

log(`mode ${mode}; systems ${systems.join(', ')}; scenarios ${[...scenarios].join(', ')}`);
log(`machine: ${JSON.stringify(results.machine)}`);

for (const s of systems) {
  const b = systemDef(s).backing;
  const why = b ? backingUnavailable(b) : null;
  if (why) {
    console.log(`${labelOf(s)} skipped: ${why}`);
    results.skipped[s] = why;
    systems = systems.filter((x) => x !== s);
  }
}
const runsFor = (s: string) => (s === 'parley-redis' ? opts.redisRuns : opts.runs);

// Run i of every scenario and system before run i + 1 of any, so that a run cut by the time
// budget (`--budget`, quick mode) still leaves at least one run of everything.
const push = <T>(into: Record<string, T[]>, key: string, value: T): void => {
  into[key] = [...(into[key] ?? []), value];
};
const fail = (why: string): void => {
  results.failures = [...(results.failures ?? []), why];
};
const jobs: { scenario: string; system: string; run: () => Promise<void> }[][] = [];
const runsOf = (scenario: string, s: string) =>
  scenario === 'storm' ? Math.min(opts.stormRuns, runsFor(s)) : runsFor(s);
const maxRuns = Math.max(...systems.map(runsFor));
for (let i = 0; i < maxRuns; i++) {
  const round: (typeof jobs)[number] = [];
  for (const scenario of ['fixed', 'ramp', 'idle', 'storm']) {
    if (!scenarios.has(scenario)) continue;
    for (const s of systems) {
      if (i >= runsOf(scenario, s)) continue;
      round.push({
        scenario,
        system: s,
        run: async () => {
          if (scenario === 'fixed') {
            push(
              results.fixed,
              s,
              await fixedRate(s, base, {
                rate: opts.rate,
                warmupMs: opts.warmupS * 1000,
                durationMs: opts.durationS * 1000,
              }),
            );
          } else if (scenario === 'ramp') {
            push(
              results.ramp,
              s,
              await ramp(s, rampW, {
                start: opts.rampStart,
                factor: opts.rampFactor,
                maxSteps: opts.rampSteps,
                warmupMs: opts.rampWarmupS * 1000,
                durationMs: opts.rampDurationS * 1000,
                p99Ms: 50,
                minDeliveredPct: 99.9,
                retries: opts.rampRetries,
                refine: opts.rampRefine,
              }),
            );
          } else if (scenario === 'idle') {
            push(results.idle, s, await idleMemory(s, idleW));
          } else {
            push(
              results.storm,
              s,
              await storm(s, stormW, {
                rate: opts.stormRate,
                timeoutMs: opts.stormTimeoutS * 1000,
                tailMs: mode === 'smoke' ? 200 : 500,
                stallMs: P.stallS * 1000,
                ...(mode === 'smoke' ? { backoff: { firstMs: 100, baseMs: 50, capMs: 400 } } : {}),
              }),
            );
          }
        },
      });
    }
  }
  jobs.push(round);
}
const budgetS = opts.budgetS;
let cut = 0;
for (const [i, round] of jobs.entries()) {
  for (const job of round) {
    if (i > 0 && (Date.now() - t0) / 1000 > budgetS) {
      cut++;
      continue;
    }
    const label = `${job.system} ${job.scenario} run ${i + 1}/${runsOf(job.scenario, job.system)}`;
    log(`${elapsed()} ${label}`);
    try {
      await job.run();
    } catch (e) {
      log(`${label} failed: ${(e as Error).message}`);
      fail(`${label}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}
if (cut) {
  const why = `${cut} later run(s) skipped: the ${budgetS} s time budget of this mode was used up`;
  log(why);
  fail(why);
}
if (scenarios.has('bundle')) {
  log(`${elapsed()} client bundles`);
  results.bundle = await bundleSizes();
}
results.durationS = (Date.now() - t0) / 1000;

// ------------------------------------------------------------------ report

const md: string[] = [];
const out = (s = '') => {
  console.log(s);
  md.push(s);
};
const label = labelOf;

function fixedStats(s: string) {
  const r = results.fixed[s] ?? [];
  const g = (k: keyof WindowResult) => stat(r.map((x) => x[k] as number));
  return {
    n: r.length,
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
    client: g('clientCpuPct'),
    errors: g('errors'),
  };
}
const rampStat = (s: string) => {
  const r = results.ramp[s] ?? [];
  return {
    dps: stat(r.map((x) => x.best?.deliveriesPerS ?? 0)),
    mps: stat(r.map((x) => x.best?.msgsPerS ?? 0)),
    p99: stat(r.map((x) => x.best?.p99 ?? Number.NaN)),
    client: stat(r.map((x) => x.best?.clientCpuPct ?? Number.NaN)),
    server: stat(r.map((x) => x.best?.serverCpuPct ?? Number.NaN)),
    capped: r.filter(
      (x) => x.best && x.steps.length === opts.rampSteps && x.steps.at(-1) === x.best,
    ).length,
    firstFail: r.map((x) => {
      const fail = x.steps.find((st) => !stepPassed(st));
      return fail
        ? `${f(fail.rate, 0)}/s: p99 ${f(fail.p99)} ms, ${f(fail.deliveredPct, 2)} %, client CPU ${f(fail.clientCpuPct, 0)} %`
        : 'none';
    }),
  };
};
const idleStat = (s: string) => {
  const r = results.idle[s] ?? [];
  return {
    conns: stat(r.map((x) => x.connections)),
    rss: stat(r.map((x) => x.rssPerConnKB)),
    heap: stat(r.map((x) => x.heapPerConnKB)),
    ext: stat(r.map((x) => x.externalPerConnKB)),
  };
};
const stormStat = (s: string) => {
  const r = results.storm[s] ?? [];
  return {
    clients: stat(r.map((x) => x.clients)),
    reconnect: stat(r.map((x) => x.reconnectS)),
    shutdown: stat(r.map((x) => x.shutdownS)),
    restart: stat(r.map((x) => x.restartS)),
    complete: stat(r.map((x) => x.completeS ?? Number.NaN)),
    incomplete: r.filter((x) => x.completeS === null).length,
    sent: stat(r.map((x) => x.sent)),
    expected: stat(r.map((x) => x.expected)),
    delivered: stat(r.map((x) => x.delivered)),
    lost: stat(r.map((x) => x.lost)),
    dropped: stat(r.map((x) => x.droppedSends)),
    dup: stat(r.map((x) => x.duplicates)),
    retries: stat(r.map((x) => x.ackRetries)),
  };
};

function tablesFor(group: string[], title: string) {
  if (!group.length) return;
  const withBacking = group.some((s) => systemDef(s).backing);
  out(`## ${title}`);
  out();
  if (group.some((s) => results.fixed[s]?.length)) {
    out(
      `### Fixed rate — ${f(opts.users, 0)} users × ${opts.devices} device(s), ${f(opts.conversations, 0)} conversations × ${opts.members} members, ${f(opts.rate, 0)} msg/s, ${opts.payload} B payload, ${opts.durationS} s window`,
    );
    out();
    out(
      table(
        [
          'system',
          'runs',
          'delivered',
          'delivered %',
          'deliveries/s',
          'p50 ms',
          'p95 ms',
          'p99 ms',
          'server CPU µs/delivery',
          'server CPU %',
          ...(withBacking
            ? ['redis CPU µs/delivery', 'redis CPU %', 'hub + redis µs/delivery']
            : []),
          'RSS MB',
          'heap MB',
          'client CPU %',
        ],
        group.map((s) => {
          const x = fixedStats(s);
          return [
            label(s),
            String(x.n),
            fs(x.delivered, 0),
            fs(x.deliveredPct, 2),
            fs(x.dps, 0),
            fs(x.p50, 2),
            fs(x.p95, 2),
            fs(x.p99, 2),
            fs(x.cpu, 2),
            fs(x.cpuPct, 0),
            ...(withBacking
              ? [fs(x.backingCpu, 2), fs(x.backingCpuPct, 0), fs(x.totalCpu, 2)]
              : []),
            fs(x.rss, 0),
            fs(x.heap, 0),
            fs(x.client, 0),
          ];
        }),
      ),
    );
    out();
    for (const s of group) {
      const errs = (results.fixed[s] ?? []).filter((r) => r.errors > 0);
      if (errs.length)
        out(`- ${label(s)}: ${errs[0]!.errors} error frames, e.g. \`${errs[0]!.lastError}\``);
    }
  }
  if (group.some((s) => results.ramp[s]?.length)) {
    out(
      `### Ramp — max sustained rate (p99 ≤ 50 ms and ≥ 99.9 % delivered), from ${f(opts.rampStart, 0)} msg/s × ${opts.rampFactor} per step, then ${opts.rampRefine} bisection step(s); ${opts.rampDurationS} s per step`,
    );
    out();
    out(
      table(
        [
          'system',
          'max msg/s sent',
          'max deliveries/s',
          'p99 ms at max',
          'server CPU % at max',
          'client CPU % at max',
          'first failing step (per run)',
        ],
        group.map((s) => {
          const x = rampStat(s);
          return [
            label(s),
            fs(x.mps, 0),
            fs(x.dps, 0),
            fs(x.p99, 2),
            fs(x.server, 0),
            fs(x.client, 0),
            x.firstFail.join('; '),
          ];
        }),
      ),
    );
    out();
    out(
      'A client CPU near 100 % at the failing step means the load generator, not the server, was the limit of that run.',
    );
    out();
  }
  if (group.some((s) => results.idle[s]?.length)) {
    out(
      `### Memory per idle connection — ${f(opts.idle, 0)} connections, 5 conversations each (after GC)`,
    );
    out();
    out(
      table(
        [
          'system',
          'connections',
          'RSS KB / connection',
          'heap KB / connection',
          'external KB / connection',
        ],
        group.map((s) => {
          const x = idleStat(s);
          return [label(s), fs(x.conns, 0), fs(x.rss, 2), fs(x.heap, 2), fs(x.ext, 2)];
        }),
      ),
    );
    out();
  }
  if (group.some((s) => results.storm[s]?.length)) {
    out(
      `### Reconnect storm — ${f(opts.stormClients, 0)} clients, server restarted (SIGTERM, graceful), ${f(opts.stormRate, 0)} msg/s kept up during the outage`,
    );
    out();
    out(
      table(
        [
          'system',
          'clients',
          'old server exited s',
          'new server listening s',
          'all reconnected s',
          'all delivered s',
          'msgs sent in window',
          'deliveries expected',
          'delivered',
          'lost deliveries',
          'sends dropped while down',
          'sends retried (ack timeout)',
        ],
        group.map((s) => {
          const x = stormStat(s);
          return [
            label(s),
            fs(x.clients, 0),
            fs(x.shutdown, 2),
            fs(x.restart, 2),
            fs(x.reconnect, 2),
            x.incomplete ? `never (${x.incomplete} run(s))` : fs(x.complete, 2),
            fs(x.sent, 0),
            fs(x.expected, 0),
            fs(x.delivered, 0),
            fs(x.lost, 0),
            fs(x.dropped, 0),
            kindOf(s) === 'parley' ? fs(x.retries, 0) : 'n/a',
          ];
        }),
      ),
    );
    out();
  }
}

out(`# Parley benchmarks (${mode})`);
out();
out(`- command: \`${command}\``);
out(`- date: ${results.date}; wall time ${f(results.durationS, 0)} s`);
out(
  `- machine: nproc ${results.machine.nproc}, ${results.machine.cpu}, Node ${results.machine.node}, ${results.machine.os}; load average at start ${results.machine.loadavg}`,
);
out(`- pinning: ${results.machine.pinning}`);
out(
  '- figures: median (min–max) over the runs; each run is a fresh server process and a fresh load generator',
);
for (const [s, why] of Object.entries(results.skipped)) out(`- ${label(s)} skipped: ${why}`);
for (const f of results.failures ?? []) out(`- not measured: ${f}`);
out();
tablesFor(
  systems.filter((s) => s !== 'parley-redis'),
  'In-memory: raw ws relay, Socket.IO, Parley',
);
tablesFor(
  systems.filter((s) => s === 'parley-redis'),
  'Parley with the Redis engine',
);

if (results.bundle.length) {
  out('## Client bundle (esbuild, ESM, platform browser, minified; gzip -9)');
  out();
  out(
    table(
      ['package', 'version', 'min KB', 'min+gzip KB'],
      results.bundle.map((b) => [
        b.name,
        b.version,
        f(b.minBytes / 1000, 1),
        b.error ? `error: ${b.error}` : f(b.gzipBytes / 1000, 1),
      ]),
    ),
  );
  out();
}

// ratios and targets
type Check = { target: string; value: string; pass: boolean | null };
const checks: Check[] = [];
const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN;
const have = (s: string) => systems.includes(s);
if (have('parley')) {
  const rows: string[][] = [];
  const P = { f: fixedStats('parley'), r: rampStat('parley'), i: idleStat('parley') };
  for (const other of ['ws', 'socketio']) {
    if (!have(other)) continue;
    const O = { f: fixedStats(other), r: rampStat(other), i: idleStat(other) };
    rows.push([
      `Parley ÷ ${label(other)}`,
      f(ratio(P.r.dps.median, O.r.dps.median), 2),
      f(ratio(P.f.cpu.median, O.f.cpu.median), 2),
      f(ratio(P.i.rss.median, O.i.rss.median), 2),
      f(ratio(P.f.p99.median, O.f.p99.median), 2),
      f(ratio(P.f.rss.median, O.f.rss.median), 2),
    ]);
  }
  if (rows.some((r) => r.slice(1).some((c) => c !== '—'))) {
    out('## Ratios (medians)');
    out();
    out(
      table(
        [
          'ratio',
          'max sustained deliveries/s',
          'server CPU per delivery',
          'RSS per idle connection',
          'p99 at fixed rate',
          'RSS at fixed rate',
        ],
        rows,
      ),
    );
    out();
  }
  const ws = { f: fixedStats('ws'), r: rampStat('ws'), i: idleStat('ws') };
  const sio = { f: fixedStats('socketio'), r: rampStat('socketio'), i: idleStat('socketio') };
  const mk = (
    target: string,
    v: number,
    limit: number,
    higherIsBetter: boolean,
    unit = '×',
    note = '',
  ) => {
    const pass = Number.isFinite(v) ? (higherIsBetter ? v >= limit : v <= limit) : null;
    checks.push({ target, value: `${f(v, 2)}${unit}${note}`, pass });
  };
  /** The load generator was (nearly) saturated at a system's first failing ramp step. */
  const clientBound = (s: string) =>
    (results.ramp[s] ?? []).some((r) => {
      const failed = r.steps.find((st) => !stepPassed(st));
      return failed !== undefined && failed.clientCpuPct >= 90;
    });
  const boundNote = (other: string) =>
    clientBound(other)
      ? ` (${label(other)}'s max was client-bound: an upper bound)`
      : clientBound('parley')
        ? " (Parley's max was client-bound: a lower bound)"
        : '';
  if (scenarios.has('ramp')) {
    if (have('ws'))
      mk(
        'max sustained delivered msg/s ≥ 0.8 × raw ws',
        ratio(P.r.dps.median, ws.r.dps.median),
        0.8,
        true,
        '×',
        boundNote('ws'),
      );
    if (have('socketio'))
      mk(
        'max sustained delivered msg/s ≥ 1.6 × Socket.IO',
        ratio(P.r.dps.median, sio.r.dps.median),
        1.6,
        true,
        '×',
        boundNote('socketio'),
      );
  }
  if (scenarios.has('fixed')) {
    if (have('ws'))
      mk(
        'server CPU per delivery ≤ 1.25 × raw ws',
        ratio(P.f.cpu.median, ws.f.cpu.median),
        1.25,
        false,
      );
    mk('p99 at the fixed rate ≤ 5 ms', P.f.p99.median, 5, false, ' ms');
  }
  if (scenarios.has('idle') && have('ws')) {
    mk(
      'RSS per idle connection ≤ 1.3 × raw ws',
      ratio(P.i.rss.median, ws.i.rss.median),
      1.3,
      false,
    );
  }
  if (scenarios.has('storm')) {
    const st = stormStat('parley');
    checks.push({
      target: 'reconnect storm: 0 lost (Parley)',
      value: `${f(st.lost.max, 0)} lost`,
      pass: st.lost.n ? st.lost.max === 0 : null,
    });
  }
}
const pb = results.bundle.find((b) => b.name === '@parley/client');
if (pb) {
  checks.push({
    target: 'client bundle min+gzip ≤ 10 KB',
    value: `${f(pb.gzipBytes / 1000, 1)} KB`,
    pass: Number.isFinite(pb.gzipBytes) ? pb.gzipBytes <= 10_000 : null,
  });
}
if (checks.length) {
  out('## Targets');
  out();
  out(
    table(
      ['target', 'measured', 'result'],
      checks.map((c) => [c.target, c.value, c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'MISS']),
    ),
  );
  out();
  if (mode !== 'full')
    out(`(${mode} mode: small numbers; the targets are judged on the full run.)`);
  out();
}

// charts
mkdirSync(outDir, { recursive: true });
const charts: string[] = [];
{
  const series: Series[] = [];
  for (const s of systems) {
    const rs = results.fixed[s] ?? [];
    if (!rs.length) continue;
    const h = new Histogram();
    for (const r of rs) {
      const x = Histogram.from(r.hist);
      for (let i = 0; i < x.counts.length; i++) h.counts[i]! += x.counts[i]!;
      h.n += x.n;
      h.max = Math.max(h.max, x.max);
    }
    const points: Series['points'] = [];
    let acc = 0;
    for (let i = 0; i < h.counts.length; i++) {
      if (!h.counts[i]) continue;
      acc += h.counts[i]!;
      points.push({ x: Histogram.edge(i), y: (acc / h.n) * 100 });
    }
    series.push({ name: label(s), points });
  }
  if (series.length) {
    writeFileSync(
      join(outDir, 'latency.svg'),
      lineChart({
        title: `Latency CDF at ${f(opts.rate, 0)} msg/s (all runs)`,
        xLabel: 'latency, ms (log scale)',
        yLabel: '% of deliveries ≤ x',
        series,
        logX: true,
        yMin: 0,
        yMax: 100,
      }),
    );
    charts.push('latency.svg');
  }
}
{
  const delivered: Series[] = [];
  const p99: Series[] = [];
  for (const s of systems) {
    const rs = results.ramp[s] ?? [];
    if (!rs.length) continue;
    // the run whose max is the median one
    const med = stat(rs.map((r) => r.best?.deliveriesPerS ?? 0)).median;
    const pick = rs.reduce((a, b) =>
      Math.abs((b.best?.deliveriesPerS ?? 0) - med) < Math.abs((a.best?.deliveriesPerS ?? 0) - med)
        ? b
        : a,
    );
    const steps = [...pick.steps].sort((a, b) => a.rate - b.rate);
    const hollow = (st: WindowResult) => !stepPassed(st);
    delivered.push({
      name: label(s),
      points: steps.map((st) => ({ x: st.offeredPerS, y: st.deliveriesPerS, hollow: hollow(st) })),
    });
    p99.push({
      name: label(s),
      points: steps.map((st) => ({ x: st.offeredPerS, y: st.p99, hollow: hollow(st) })),
    });
  }
  if (delivered.length) {
    writeFileSync(
      join(outDir, 'ramp.svg'),
      lineChart({
        title: 'Ramp: p99 latency vs offered load (hollow: step failed)',
        xLabel: 'offered deliveries/s',
        yLabel: 'p99 latency, ms (log scale)',
        series: p99,
        logY: true,
        hline: { y: 50, label: 'p99 budget 50 ms' },
      }),
    );
    writeFileSync(
      join(outDir, 'ramp-delivered.svg'),
      lineChart({
        title: 'Ramp: delivered vs offered (hollow: step failed)',
        xLabel: 'offered deliveries/s',
        yLabel: 'delivered per second',
        series: delivered,
      }),
    );
    charts.push('ramp.svg', 'ramp-delivered.svg');
  }
}
if (charts.length) {
  out('## Charts');
  out();
  const rel = relative(join(BENCH_DIR, '..'), outDir);
  for (const c of charts) out(`![${c}](${rel}/${c})`);
  out();
}

if (profileDir) {
  const summary = summarise(profileDir);
  if (summary) {
    out('## Server CPU profiles (`--profile`)');
    out();
    out(summary);
  }
}

// ramp steps keep their percentiles but not their histograms (size); fixed-rate runs keep theirs
const slim = {
  ...results,
  ramp: Object.fromEntries(
    Object.entries(results.ramp).map(([s, rs]) => [
      s,
      rs.map((r) => ({
        ...r,
        best: r.best ? { ...r.best, hist: undefined } : null,
        steps: r.steps.map((st) => ({ ...st, hist: undefined })),
      })),
    ]),
  ),
};
writeFileSync(outJson, `${JSON.stringify(slim)}\n`);
writeFileSync(join(outDir, 'tables.md'), `${md.join('\n')}\n`);
log(`${elapsed()} results written to ${relative(process.cwd(), outJson)}`);
if (write) {
  const file = flag('write') === 'true' ? join(BENCH_DIR, '..', 'BENCHMARKS.md') : flag('write')!;
  const header = [
    '<!-- Generated by `pnpm bench --write` (bench/run.ts). Do not edit by hand; re-run the bench. -->',
    '',
    'How to read this: every system runs in its own server process with the same workload, driven by the same',
    'lean load generator (raw `ws` clients speaking each wire format) in another process. Latency is measured',
    'per delivery from a timestamp in the payload (same machine clock). Server CPU comes from',
    '`process.cpuUsage()` in the server over the measurement window. Where a target is missed, the reason is',
    'in the notes below the tables (bench/NOTES.md).',
    '',
  ];
  // bench/NOTES.md (hand-written analysis: why a target is missed, what the profile shows) is
  // appended so that it survives regeneration
  const notesFile = join(BENCH_DIR, 'NOTES.md');
  const notes = existsSync(notesFile) ? ['', readFileSync(notesFile, 'utf8')] : [];
  const [title, ...rest] = md;
  const [comment, ...intro] = header;
  writeFileSync(file, `${[comment, '', title, '', ...intro, ...rest, ...notes].join('\n')}\n`);
  log(`wrote ${relative(process.cwd(), file)}`);
}
finished = true;
killAll();
process.exit(0);

/**
 * Parley benchmark harness (issues #8 and #15): the raw `ws` relay, Socket.IO 4.8 and the Parley
 * hub (in-memory and Redis engines), each in its own server process (Redis rows with a
 * redis-server of their own), driven by the same lean load generator in another process.
 *
 *   pnpm bench                 full run (medians of 3 runs; takes a while)
 *   pnpm bench --quick         the same scenarios with smaller numbers (< 5 minutes)
 *   pnpm bench --smoke         seconds, tiny numbers, every system (CI)
 *   pnpm bench --write         also write BENCHMARKS.md at the repository root (--write=FILE: there)
 *   pnpm bench --render=F      only the report, from a results.json written by an earlier run
 *
 * Every flag is in bench/README.md (parsed by lib/options.ts).
 */
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { backingUnavailable } from './lib/backing.js';
import { ensureBuilt } from './lib/build.js';
import { bundleSizes } from './lib/bundle.js';
import { writeCharts } from './lib/charts.js';
import type { WindowResult, Workload } from './lib/harness.js';
import { parseArgs } from './lib/options.js';
import {
  BENCH_DIR,
  bunBinary,
  clientCores,
  cores,
  killAll,
  pinning,
  profileDir,
  setParleyFrom,
  setProfileDir,
} from './lib/procs.js';
import { summarise } from './lib/profile.js';
import { render } from './lib/report.js';
import { type ProfileRun, type Results, rampStats } from './lib/results.js';
import { fixedRate, heapProfiledIdle, idleMemory, profiledFixed, ramp } from './lib/scenarios.js';
import { storm } from './lib/storm.js';
import { labelOf, runsIn, systemDef } from './lib/systems.js';
import { evaluateTargets, profilesFor } from './lib/targets.js';
import { DEFAULT_RATE_LIMIT, rateCeiling, scaledFor, senderBudget } from './lib/topology.js';

const argv = process.argv.slice(2);
const cfg = parseArgs(argv);
const { mode, opts, scenarios } = cfg;
let systems = cfg.systems;
// Only a `--write` run replaces the committed results and charts that BENCHMARKS.md shows; any
// other run (a partial experiment, say) goes to results/tmp/, which git ignores.
const outDir = cfg.write
  ? join(BENCH_DIR, 'results', mode)
  : join(BENCH_DIR, 'results', 'tmp', mode);
const outJson = cfg.out ?? join(outDir, 'results.json');
if (cfg.profile) {
  const dir = join(outDir, 'profiles', 'whole');
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
process.on('exit', () => killAll());
const hardTimeout = setTimeout(
  () => bail(`timeout after ${opts.timeoutS} s`),
  opts.timeoutS * 1000,
);
hardTimeout.unref();

const log = (s: string) => console.error(`[bench] ${s}`);
const t0 = Date.now();
const elapsedS = () => (Date.now() - t0) / 1000;
const elapsed = () => `${elapsedS().toFixed(0)}s`;

// ------------------------------------------------------------------ report only

if (cfg.render) {
  const results = JSON.parse(readFileSync(cfg.render, 'utf8')) as Results;
  report(results, dirname(cfg.render));
  finished = true;
  process.exit(0);
}

// ------------------------------------------------------------------ machine

function machine(): Results['machine'] {
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
      ? `server on core ${pinning.server}, redis-server on core ${pinning.backing}, load generator on core(s) ${pinning.client} (taskset)`
      : cores < 2
        ? 'none: a single core'
        : 'none: taskset is not available',
    pinned: pinning !== null,
  };
}

// ------------------------------------------------------------------ workloads

// Load generator processes for the fixed rate and the ramp: one per load generator core unless
// --loadgens says otherwise (idle and storm use one).
const loadgens = opts.loadgens > 0 ? Math.round(opts.loadgens) : clientCores;
const base: Workload = {
  topology: { users: opts.users, conversations: opts.conversations, members: opts.members },
  devices: opts.devices,
  payload: opts.payload,
  loadgens,
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
for (const [what, scenario, w, rate] of [
  ['--rate', 'fixed', base, opts.rate],
  ['--storm-rate', 'storm', stormW, opts.stormRate],
] as const) {
  const ceiling = rateCeiling(w.topology, w.devices);
  if (scenarios.has(scenario) && rate > ceiling) {
    console.error(
      `[bench] ${what}=${rate} needs more sender connections: ${w.topology.users} users × ${w.devices} device(s) may send ${ceiling} msg/s at ${senderBudget()} msg/s each (the hub's default rate limit, with headroom); raise --users/--conversations`,
    );
    process.exit(2);
  }
}

const results: Results = {
  mode,
  command: `pnpm bench ${argv.join(' ')}`.trim(),
  date: new Date().toISOString(),
  machine: machine(),
  options: opts,
  workloads: {
    fixed: {
      topology: base.topology,
      devices: opts.devices,
      rate: opts.rate,
      durationS: opts.durationS,
      payload: opts.payload,
    },
    ramp: {
      topology: rampW.topology,
      devices: opts.devices,
      start: opts.rampStart,
      factor: opts.rampFactor,
      refine: opts.rampRefine,
      durationS: opts.rampDurationS,
      ceiling: rateCeiling(rampW.topology, opts.devices),
    },
    idle: { connections: opts.idle },
    storm: { clients: opts.stormClients, rate: opts.stormRate },
    senderBudget: senderBudget(),
    rateLimit: { ...DEFAULT_RATE_LIMIT },
    loadgens,
  },
  systems: [],
  scenarios: [...scenarios],
  skipped: {},
  fixed: {},
  ramp: {},
  idle: {},
  storm: {},
  bundle: [],
  profiles: [],
  durationS: 0,
};

if (systems.some((s) => systemDef(s).runtime === 'bun')) {
  results.machine.bun = execFileSync(bunBinary(), ['--version']).toString().trim();
}
log(`mode ${mode}; systems ${systems.join(', ')}; scenarios ${[...scenarios].join(', ')}`);
log(`machine: ${JSON.stringify(results.machine)}`);
setParleyFrom(cfg.parleyFrom);
if (systems.some((s) => systemDef(s).wire === 'parley')) {
  results.parley =
    cfg.parleyFrom === 'dist'
      ? ensureBuilt(log)
      : "TypeScript sources through tsx, or Bun's own loader on Bun (--parley-from=source: not what users install)";
  log(`Parley servers run on ${results.parley}`);
}

for (const s of systems) {
  const b = systemDef(s).backing;
  const why = b ? backingUnavailable(b) : null;
  if (why) {
    console.log(`${labelOf(s)} skipped: ${why}`);
    results.skipped[s] = why;
    systems = systems.filter((x) => x !== s);
  }
}
results.systems = systems;

// ------------------------------------------------------------------ measured runs

const runsFor = (s: string) => opts[systemDef(s).runs];
// Run i of every scenario and system before run i + 1 of any, so that a run cut by the time
// budget (`--budget`, quick mode) still leaves at least one run of everything.
const push = <T>(into: Record<string, T[]>, key: string, value: T): void => {
  into[key] = [...(into[key] ?? []), value];
};
const fail = (why: string): void => {
  results.failures = [...(results.failures ?? []), why];
};
const runsOf = (scenario: string, s: string) =>
  scenario === 'storm' ? Math.min(opts.stormRuns, runsFor(s)) : runsFor(s);
const fixedOpts = {
  rate: opts.rate,
  warmupMs: opts.warmupS * 1000,
  durationMs: opts.durationS * 1000,
};
const jobs: { scenario: string; system: string; run: () => Promise<void> }[][] = [];
const maxRuns = Math.max(0, ...systems.map(runsFor));
for (let i = 0; i < maxRuns; i++) {
  const round: (typeof jobs)[number] = [];
  for (const scenario of ['fixed', 'ramp', 'idle', 'storm']) {
    if (!scenarios.has(scenario)) continue;
    for (const s of systems) {
      if (i >= runsOf(scenario, s) || !runsIn(s, scenario)) continue;
      const run = {
        fixed: async () => push(results.fixed, s, await fixedRate(s, base, fixedOpts)),
        ramp: async () =>
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
          ),
        idle: async () => push(results.idle, s, await idleMemory(s, idleW)),
        storm: async () =>
          push(
            results.storm,
            s,
            await storm(s, stormW, {
              rate: opts.stormRate,
              timeoutMs: opts.stormTimeoutS * 1000,
              tailMs: mode === 'smoke' ? 200 : 500,
              stallMs: opts.stallS * 1000,
              ...(mode === 'smoke' ? { backoff: { firstMs: 100, baseMs: 50, capMs: 400 } } : {}),
            }),
          ),
      }[scenario]!;
      round.push({ scenario, system: s, run });
    }
  }
  jobs.push(round);
}
let cut = 0;
for (const [i, round] of jobs.entries()) {
  for (const job of round) {
    if (i > 0 && elapsedS() > opts.budgetS) {
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
  const why = `${cut} later run(s) skipped: the ${opts.budgetS} s time budget of this mode was used up`;
  log(why);
  fail(why);
}
if (scenarios.has('bundle')) {
  log(`${elapsed()} client bundles`);
  results.bundle = await bundleSizes();
}

// ------------------------------------------------------------------ profiles of the misses

const withoutHist = ({ hist: _, ...w }: WindowResult): Omit<WindowResult, 'hist'> => w;

// One extra run per profile (after every measured run, so the profiler never touches a measured
// figure), for each target the run missed — or every target with --profile-targets=all. They run
// even past the soft budget (BENCHMARKS.md needs them), but not close to the hard limit.
if (cfg.profileTargets !== 'none') {
  const specs = profilesFor(evaluateTargets(results), cfg.profileTargets === 'all');
  const margin = Math.min(120, opts.timeoutS * 0.1);
  for (const spec of specs) {
    if (elapsedS() > opts.timeoutS - margin) {
      fail(`profile ${spec.key} skipped: too close to the ${opts.timeoutS} s hard limit`);
      continue;
    }
    if (!systems.includes(spec.system)) continue;
    log(`${elapsed()} profile ${spec.key}`);
    const run: ProfileRun = { ...spec };
    try {
      const dir = join(outDir, 'profiles', spec.key.replace(/:/g, '-'));
      const durationMs = opts.profileDurationS * 1000;
      if (spec.kind === 'heap') {
        run.heap = (await heapProfiledIdle(spec.system, idleW)).heap;
      } else if (spec.scenario === 'ramp-max') {
        // the ramp's median maximum, on the ramp's topology: where the time goes near saturation
        const ceiling = rateCeiling(rampW.topology, rampW.devices);
        const best = rampStats(results, spec.system).rate.median;
        run.rate = Math.min(ceiling, Number.isFinite(best) && best > 0 ? best : opts.rampStart);
        const p = await profiledFixed(
          spec.system,
          rampW,
          { rate: run.rate, warmupMs: opts.warmupS * 1000, durationMs },
          dir,
        );
        run.window = withoutHist(p.window);
        run.cpu = p.cpu;
      } else {
        run.rate = opts.rate;
        const p = await profiledFixed(spec.system, base, { ...fixedOpts, durationMs }, dir);
        run.window = withoutHist(p.window);
        run.cpu = p.cpu;
      }
    } catch (e) {
      log(`profile ${spec.key} failed: ${(e as Error).message}`);
      run.error = (e as Error).message.split('\n')[0];
    }
    results.profiles.push(run);
  }
}
results.durationS = elapsedS();

// ------------------------------------------------------------------ report

// ramp steps keep their percentiles but not their histograms (size); fixed-rate runs keep theirs
mkdirSync(dirname(outJson), { recursive: true });
writeFileSync(
  outJson,
  `${JSON.stringify({
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
  })}\n`,
);
log(`${elapsed()} results written to ${relative(process.cwd(), outJson)}`);
report(results, outDir);
finished = true;
killAll();
process.exit(0);

function report(r: Results, dir: string): void {
  const charts = writeCharts(r, dir);
  const wholeProfiles = profileDir ? summarise(profileDir) : '';
  const md = render(r, evaluateTargets(r), {
    charts,
    chartsDir: relative(join(BENCH_DIR, '..'), dir),
    ...(wholeProfiles ? { wholeProfiles } : {}),
  });
  console.log(md.join('\n'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tables.md'), `${md.join('\n')}\n`);
  if (!cfg.write) return;
  const file = cfg.write === true ? join(BENCH_DIR, '..', 'BENCHMARKS.md') : cfg.write;
  const header = [
    '<!-- Generated by `pnpm bench --write` (bench/run.ts). Do not edit by hand; re-run the bench. -->',
    'How to read this: every system runs in its own server process with the same workload, driven by the same',
    'lean load generator (raw `ws` clients speaking each wire format) in another process. Latency is measured',
    "per delivery from a timestamp in the payload (same machine clock). Server CPU is the server process's",
    "user + system time from /proc over the measurement window; the Redis rows add their own redis-server's.",
    'The targets table is judged from these medians; each miss has its profile below the tables, and the',
    'hand-written analysis follows (bench/NOTES.md).',
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

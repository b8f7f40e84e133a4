/**
 * Command-line flags and the three presets (full, `--quick`, `--smoke`). See bench/README.md for
 * what each flag does.
 */
import { SYSTEMS, systemDef } from './systems.js';

export const PRESETS = {
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
    // Below every system's maximum on a slow 2-core VM (the 2026-11-28 run started at 4,000 and
    // Parley's Node and Redis rows failed their first step: nothing to bisect, a maximum of 0).
    rampStart: 1000,
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
    // The Redis Cluster row (3 primaries, the hub and its 5,000 session starts on one core) takes
    // ~45 s to reconnect on this VM: with 60 s, two runs of 2026-11-28 ended before everything
    // was delivered and counted the rest as lost; the rerun alone delivered all (0 lost, 44 s).
    stormTimeoutS: 120,
    loadgens: 0,
    profileDurationS: 10,
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
    loadgens: 0,
    profileDurationS: 2,
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
    loadgens: 0,
    profileDurationS: 0.7,
    // ~70 s on an idle 2-core machine, ~2 min when it is shared; the limit is only a safety net
    timeoutS: 300,
    budgetS: 100,
  },
} as const;

export type Mode = keyof typeof PRESETS;
export type Opts = { -readonly [K in keyof (typeof PRESETS)['full']]: number };

export interface Config {
  mode: Mode;
  opts: Opts;
  systems: string[];
  scenarios: Set<string>;
  /** `--write`: true (BENCHMARKS.md at the repository root) or a file. */
  write: boolean | string;
  /** `--out`: the results JSON. */
  out?: string;
  /** `--profile`: every server writes a whole-process CPU profile. */
  profile: boolean;
  /** Profile runs after the measured ones: for the missed targets, for every target, or none. */
  profileTargets: 'misses' | 'all' | 'none';
  /** `--render=<results.json>`: no measuring, only the report from that file. */
  render?: string;
  /** `--parley-from`: Parley servers on the built packages (default) or on the sources (smoke). */
  parleyFrom: 'dist' | 'source';
}

export function parseArgs(argv: string[]): Config {
  const flag = (name: string): string | undefined => {
    for (const a of argv) {
      if (a === `--${name}`) return 'true';
      if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
    }
    return undefined;
  };
  const mode: Mode = flag('smoke') ? 'smoke' : flag('quick') ? 'quick' : 'full';
  const P = PRESETS[mode];
  const num = (name: string, dflt: number): number => {
    const v = flag(name);
    if (v === undefined || v === 'true') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name}=${v}: not a number`);
    return n;
  };
  const runs = num('runs', P.runs);
  const opts: Opts = {
    users: num('users', P.users),
    conversations: num('conversations', P.conversations),
    members: num('members', P.members),
    devices: num('devices', P.devices),
    rate: num('rate', P.rate),
    durationS: num('duration', P.durationS),
    warmupS: num('warmup', P.warmupS),
    payload: num('payload', P.payload),
    runs,
    redisRuns: num('redis-runs', flag('runs') ? runs : P.redisRuns),
    rampStart: num('ramp-start', P.rampStart),
    rampMax: num('ramp-max', P.rampMax),
    rampFactor: num('ramp-factor', P.rampFactor),
    rampSteps: num('ramp-steps', P.rampSteps),
    rampWarmupS: num('ramp-warmup', P.rampWarmupS),
    rampDurationS: num('ramp-duration', P.rampDurationS),
    rampRetries: num('ramp-retries', P.rampRetries),
    rampRefine: num('ramp-refine', P.rampRefine),
    idle: num('idle-connections', P.idle),
    stormRuns: num('storm-runs', flag('runs') ? runs : P.stormRuns),
    stallS: P.stallS,
    stormClients: num('storm-clients', P.stormClients),
    stormRate: num('storm-rate', P.stormRate),
    stormTimeoutS: num('storm-timeout', P.stormTimeoutS),
    // 0: one load generator process per core the load generator is pinned to (lib/procs.ts)
    loadgens: num('loadgens', P.loadgens),
    profileDurationS: num('profile-duration', P.profileDurationS),
    timeoutS: num('timeout', P.timeoutS),
    budgetS: num('budget', P.budgetS),
  };
  const defaults = SYSTEMS.filter((s) => s.default).map((s) => s.id);
  let systems = (flag('systems') ?? defaults.join(',')).split(',').filter(Boolean);
  for (const s of systems) systemDef(s); // unknown names fail here, before anything runs
  // The Redis engine is Parley's second table: included with `parley` unless --no-redis.
  if (systems.includes('parley') && !flag('no-redis')) systems.push('parley-redis');
  if (flag('no-redis')) systems = systems.filter((s) => !systemDef(s).backing);
  systems = [...new Set(systems)];
  const scenarios = new Set(
    (flag('scenarios') ?? 'fixed,ramp,idle,storm,bundle').split(',').filter(Boolean),
  );
  const w = flag('write');
  const pt = flag('profile-targets');
  // Profiles of the missed targets are part of every full and quick run (BENCHMARKS.md shows
  // them); a smoke run makes them only when asked (--profile-targets, or =all for every target).
  const profileTargets =
    flag('no-profile-targets') !== undefined
      ? 'none'
      : pt === 'all'
        ? 'all'
        : pt !== undefined || mode !== 'smoke'
          ? 'misses'
          : 'none';
  const out = flag('out');
  const render = flag('render');
  const from = flag('parley-from') ?? (mode === 'smoke' ? 'source' : 'dist');
  if (from !== 'dist' && from !== 'source')
    throw new Error(`--parley-from=${from}: dist or source`);
  return {
    parleyFrom: from,
    mode,
    opts,
    systems,
    scenarios,
    write: w === undefined ? false : w === 'true' ? true : w,
    profile: flag('profile') !== undefined,
    profileTargets,
    ...(out && out !== 'true' ? { out } : {}),
    ...(render && render !== 'true' ? { render } : {}),
  };
}

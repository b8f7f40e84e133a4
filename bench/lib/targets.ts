/**
 * The targets of issue #15, judged from a run's medians: "target → measured → met?". Each target
 * names the profile run that shows where the time (or memory) goes when it is missed. A ramp
 * ratio whose maximum was limited by the load generator (or by the senders' rate ceiling) is a
 * bound, not a result (lib/verdict.ts).
 */
import { CLIENT_BUNDLE_TARGET_BYTES } from '../../packages/client/scripts/bundle-size.mjs';
import type { ProfileRun, Results } from './results.js';
import { fixedStats, idleStats, rampStats, stormStats } from './results.js';
import { labelOf } from './systems.js';

export type Verdict = 'met' | 'missed' | 'bound' | 'n/a';

export interface ProfileSpec {
  key: string;
  system: string;
  scenario: ProfileRun['scenario'];
  kind: ProfileRun['kind'];
}

export interface Check {
  id: string;
  target: string;
  /** The measured value, e.g. `1.32× (18.2 vs 13.8 µs)`. */
  measured: string;
  verdict: Verdict;
  /**
   * For a bound: which way it bounds, and whether the bound alone already decides the target
   * (`met` or `missed` even so) or not (`undecided`).
   */
  bound?: { direction: 'lower' | 'upper' | 'none'; decided: 'met' | 'missed' | 'undecided' };
  note?: string;
  /** What to profile when it is missed (none for size and loss targets). */
  profile?: ProfileSpec;
}

const PROFILES = {
  fixed: { key: 'parley:fixed:cpu', system: 'parley', scenario: 'fixed', kind: 'cpu' },
  rampMax: { key: 'parley:ramp-max:cpu', system: 'parley', scenario: 'ramp-max', kind: 'cpu' },
  idle: { key: 'parley:idle:heap', system: 'parley', scenario: 'idle', kind: 'heap' },
  redis: { key: 'parley-redis:fixed:cpu', system: 'parley-redis', scenario: 'fixed', kind: 'cpu' },
} as const satisfies Record<string, ProfileSpec>;

const f = (v: number, d = 2) =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
    : '—';
/** A ratio as `1.05×`, or `—` without one. */
const x = (v: number) => (Number.isFinite(v) ? `${f(v)}×` : '—');
const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN;

export function evaluateTargets(r: Results): Check[] {
  const has = (s: string) => r.systems.includes(s);
  const ran = (scenario: string) => r.scenarios.includes(scenario);
  const checks: Check[] = [];
  const judge = (v: number, limit: number, cmp: '<=' | '<' | '>='): Verdict =>
    !Number.isFinite(v)
      ? 'n/a'
      : (cmp === '<=' ? v <= limit : cmp === '<' ? v < limit : v >= limit)
        ? 'met'
        : 'missed';

  if (ran('fixed') && has('parley')) {
    const P = fixedStats(r, 'parley');
    if (has('ws')) {
      const W = fixedStats(r, 'ws');
      const v = ratio(P.cpu.median, W.cpu.median);
      checks.push({
        id: 'cpu-vs-relay',
        target: 'fixed rate: server CPU per delivery ≤ 1.1 × raw ws relay',
        measured: `${x(v)} (${f(P.cpu.median)} vs ${f(W.cpu.median)} µs)`,
        verdict: judge(v, 1.1, '<='),
        profile: PROFILES.fixed,
      });
      const p = ratio(P.p99.median, W.p99.median);
      checks.push({
        id: 'p99-vs-relay',
        target: "fixed rate: p99 ≤ 2 × raw ws relay's",
        measured: `${x(p)} (${f(P.p99.median)} vs ${f(W.p99.median)} ms)`,
        verdict: judge(p, 2, '<='),
        profile: PROFILES.fixed,
      });
    }
    if (has('socketio')) {
      const S = fixedStats(r, 'socketio');
      const v = ratio(P.cpu.median, S.cpu.median);
      checks.push({
        id: 'cpu-vs-socketio',
        target: "fixed rate: server CPU per delivery below Socket.IO's",
        measured: `${x(v)} (${f(P.cpu.median)} vs ${f(S.cpu.median)} µs)`,
        verdict: judge(v, 1, '<'),
        profile: PROFILES.fixed,
      });
    }
  }

  if (ran('fixed') && has('parley-stgc') && has('ws-stgc')) {
    // Not a target: the same p99 ratio with V8's GC on one thread in every Node server.
    const P = fixedStats(r, 'parley-stgc');
    const W = fixedStats(r, 'ws-stgc');
    const p = ratio(P.p99.median, W.p99.median);
    checks.push({
      id: 'p99-vs-relay-stgc',
      target: "fixed rate, every Node server with --single-threaded-gc: p99 ≤ 2 × raw ws relay's",
      measured: `${x(p)} (${f(P.p99.median)} vs ${f(W.p99.median)} ms)`,
      verdict: 'n/a',
      note: 'not judged: the targets are measured with Node’s default flags (the rows above); this shows how much of the p99 is V8’s background GC threads (concurrent marking above all) taking the one core a server is confined to',
    });
  }

  if (ran('ramp') && has('parley')) {
    const P = rampStats(r, 'parley');
    for (const [other, limit, id] of [
      ['socketio', 1.2, 'ramp-vs-socketio'],
      ['ws', 0.85, 'ramp-vs-relay'],
    ] as const) {
      if (!has(other)) continue;
      const O = rampStats(r, other);
      const v = ratio(P.dps.median, O.dps.median);
      const target = `ramp: max sustained deliveries/s ≥ ${limit} × ${labelOf(other)}'s (load generator not the bottleneck)`;
      const measured = `${x(v)} (${f(P.dps.median, 0)} vs ${f(O.dps.median, 0)} deliveries/s)`;
      if (!P.bound && !O.bound) {
        checks.push({
          id,
          target,
          measured,
          verdict: judge(v, limit, '>='),
          profile: PROFILES.rampMax,
        });
        continue;
      }
      // Parley's max a lower bound → the ratio is a lower bound; the other's → an upper bound.
      const direction = P.bound && O.bound ? 'none' : P.bound ? 'lower' : 'upper';
      const decided =
        !Number.isFinite(v) || direction === 'none'
          ? 'undecided'
          : direction === 'lower'
            ? v >= limit
              ? 'met'
              : 'undecided'
            : v < limit
              ? 'missed'
              : 'undecided';
      const whose = [P.bound ? labelOf('parley') : '', O.bound ? labelOf(other) : '']
        .filter(Boolean)
        .join(' and ');
      checks.push({
        id,
        target,
        measured: `${direction === 'lower' ? '≥ ' : direction === 'upper' ? '≤ ' : ''}${measured}`,
        verdict: 'bound',
        bound: { direction, decided },
        note: `${whose}: maximum limited by the load generator or the senders' rate ceiling — a bound, not a result`,
        profile: PROFILES.rampMax,
      });
    }
  }

  if (ran('idle') && has('parley')) {
    const P = idleStats(r, 'parley');
    if (has('ws')) {
      const W = idleStats(r, 'ws');
      const v = ratio(P.rss.median, W.rss.median);
      checks.push({
        id: 'idle-rss-vs-relay',
        target: "idle: RSS per connection ≤ 1.3 × raw ws relay's",
        measured: `${x(v)} (${f(P.rss.median)} vs ${f(W.rss.median)} KB)`,
        verdict: judge(v, 1.3, '<='),
        profile: PROFILES.idle,
      });
    }
    if (has('socketio')) {
      const S = idleStats(r, 'socketio');
      const v = ratio(P.heap.median, S.heap.median);
      checks.push({
        id: 'idle-heap-vs-socketio',
        target: "idle: heap per connection ≤ Socket.IO's",
        measured: `${x(v)} (${f(P.heap.median)} vs ${f(S.heap.median)} KB)`,
        verdict: judge(v, 1, '<='),
        profile: PROFILES.idle,
      });
    }
  }

  if (ran('fixed') && has('parley') && has('parley-redis')) {
    const M = fixedStats(r, 'parley');
    const R = fixedStats(r, 'parley-redis');
    const v = ratio(R.totalCpu.median, M.cpu.median);
    checks.push({
      id: 'redis-vs-memory',
      target: "Redis engine: hub + redis-server CPU per delivery ≤ 1.6 × the memory engine's",
      measured: `${x(v)} (${f(R.cpu.median)} + ${f(R.backingCpu.median)} = ${f(R.totalCpu.median)} vs ${f(M.cpu.median)} µs)`,
      verdict: judge(v, 1.6, '<='),
      profile: PROFILES.redis,
    });
  }

  const pb = r.bundle.find((b) => b.name === '@parley/client');
  if (pb) {
    const kb = pb.gzipBytes / 1000;
    checks.push({
      id: 'bundle-10kb',
      target: '@parley/client bundle, min+gzip ≤ 10 KB',
      measured: pb.error ? `error: ${pb.error}` : `${f(kb, 1)} KB`,
      verdict: judge(pb.gzipBytes, CLIENT_BUNDLE_TARGET_BYTES, '<='),
      note: 'a size target: the bundle table shows what it is made of',
    });
    const sio = r.bundle.find((b) => b.name === 'socket.io-client');
    if (sio) {
      checks.push({
        id: 'bundle-vs-socketio',
        target: "@parley/client bundle below socket.io-client's",
        measured: `${x(ratio(pb.gzipBytes, sio.gzipBytes))} (${f(kb, 1)} vs ${f(sio.gzipBytes / 1000, 1)} KB)`,
        verdict: judge(ratio(pb.gzipBytes, sio.gzipBytes), 1, '<'),
      });
    }
  }

  if (ran('storm')) {
    const parleys = r.systems.filter((s) => s.startsWith('parley') && r.storm[s]?.length);
    if (parleys.length) {
      const lost = parleys.map((s) => stormStats(r, s).lost.max);
      checks.push({
        id: 'storm-lost',
        target: 'reconnect storm: 0 deliveries lost (every Parley row; issue #8)',
        measured: parleys.map((s, i) => `${labelOf(s)} ${f(lost[i]!, 0)}`).join(', '),
        verdict: lost.every((l) => l === 0) ? 'met' : 'missed',
      });
    }
  }
  return checks;
}

/** The profile runs that explain the misses (or every target's, with `all`), one per key. */
export function profilesFor(checks: Check[], all = false): ProfileSpec[] {
  const out = new Map<string, ProfileSpec>();
  for (const c of checks) {
    const wanted =
      c.verdict === 'missed' || (c.verdict === 'bound' && c.bound?.decided !== 'met') || all;
    if (wanted && c.profile && c.verdict !== 'n/a') out.set(c.profile.key, c.profile);
  }
  return [...out.values()];
}

/** "met?" cell. */
export function verdictText(c: Check): string {
  if (c.verdict === 'bound') {
    const d = c.bound?.decided;
    return d === 'met'
      ? 'bound — met even so'
      : d === 'missed'
        ? 'bound — missed even so'
        : 'bound — not judged';
  }
  return { met: 'yes', missed: 'NO', 'n/a': 'n/a' }[c.verdict];
}

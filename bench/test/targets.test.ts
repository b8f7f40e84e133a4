/**
 * The report's judgement, on synthetic results (nothing measured, so deterministic): the targets
 * of issue #15, ramp maxima limited by the load generator reported as bounds, and the profile run
 * each miss gets.
 */
import { describe, expect, it } from 'vitest';
import { render } from '../lib/report.js';
import { type Check, evaluateTargets, profilesFor, verdictText } from '../lib/targets.js';
import { rampVerdict } from '../lib/verdict.js';
import { idle, rampOf, results, win } from './fixtures.js';

const byId = (checks: Check[], id: string) => {
  const c = checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}: ${checks.map((x) => x.id).join(', ')}`);
  return c;
};

/** A server-bound ramp: passes up to `max` msg/s, fails above with the load generator idle. */
const serverBound = (max: number) =>
  rampOf([
    win({ rate: max / 2, deliveriesPerS: max * 5 }),
    win({ rate: max, deliveriesPerS: max * 10 }),
    win({ rate: max * 1.5, p99: 300, clientCpuPct: 50 }),
  ]);

describe('rampVerdict', () => {
  it('calls a ramp server-bound when the load generator had room at and above the max', () => {
    const v = rampVerdict(serverBound(8000));
    expect(v.max?.rate).toBe(8000);
    expect(v.limit?.rate).toBe(12_000);
    expect(v.loadgenBound).toBe(false);
    expect(v.bound).toBe(false);
    expect(v.reason).toMatch(/^server-bound: failed at 12,000 msg\/s \(p99 300 ms\)/);
  });

  it('calls it load-generator-bound on CPU ≥ 90 % or event-loop p99 ≥ 20 ms at the limiting step', () => {
    const cpu = rampVerdict(
      rampOf([win({ rate: 8000 }), win({ rate: 12_000, p99: 80, clientCpuPct: 95 })]),
    );
    expect(cpu.loadgenBound).toBe(true);
    expect(cpu.bound).toBe(true);
    expect(cpu.reason).toMatch(/load generator saturated at 12,000 msg\/s \(CPU 95 %\)/);
    const lag = rampVerdict(
      rampOf([win({ rate: 8000 }), win({ rate: 12_000, p99: 80, clientLoopP99Ms: 25 })]),
    );
    expect(lag.loadgenBound).toBe(true);
    expect(lag.reason).toMatch(/event-loop delay p99 25 ms/);
  });

  it('takes the last measurement of the lowest failing rate above the max (retries, bisection)', () => {
    const v = rampVerdict(
      rampOf([
        win({ rate: 8000 }),
        win({ rate: 16_000, p99: 900, clientCpuPct: 99 }),
        win({ rate: 12_000, p99: 90, clientCpuPct: 95 }),
        win({ rate: 12_000, p99: 70, clientCpuPct: 60 }),
      ]),
    );
    expect(v.limit?.rate).toBe(12_000);
    expect(v.limit?.clientCpuPct).toBe(60);
    expect(v.loadgenBound).toBe(false);
  });

  it('counts the load generator saturated at the max itself', () => {
    const v = rampVerdict(
      rampOf([win({ rate: 8000, clientCpuPct: 92 }), win({ rate: 12_000, p99: 80 })]),
    );
    expect(v.loadgenBound).toBe(true);
  });

  it('makes a ramp that reached the ceiling or ran out of steps a lower bound', () => {
    const capped = rampVerdict(rampOf([win({ rate: 32_000 })], { capped: true }));
    expect(capped.bound).toBe(true);
    expect(capped.reason).toMatch(/ceiling of 32,000 msg\/s/);
    const exhausted = rampVerdict(rampOf([win({ rate: 4000 }), win({ rate: 8000 })]));
    expect(exhausted.bound).toBe(true);
    expect(exhausted.reason).toMatch(/ran out of steps/);
  });

  it('fails a step that was rate-limited or lost connections, whatever its latency', () => {
    const v = rampVerdict(rampOf([win({ rate: 8000 }), win({ rate: 12_000, rateLimited: 3 })]));
    expect(v.limit?.rate).toBe(12_000);
    expect(v.reason).toMatch(/3 rate-limited/);
  });
});

describe('evaluateTargets', () => {
  const base = () =>
    results({
      fixed: {
        ws: [win({ serverCpuUsPerDelivery: 10, p99: 2 })],
        socketio: [win({ serverCpuUsPerDelivery: 12, p99: 4 })],
        parley: [win({ serverCpuUsPerDelivery: 10.5, p99: 3.9 })],
        'parley-redis': [
          win({
            serverCpuUsPerDelivery: 12,
            backingCpuUsPerDelivery: 5,
            totalCpuUsPerDelivery: 17,
          }),
        ],
      },
      ramp: {
        ws: [serverBound(10_000)],
        socketio: [serverBound(8000)],
        parley: [serverBound(9800)],
      },
      idle: {
        ws: [idle(8, 3)],
        socketio: [idle(17, 11)],
        parley: [idle(10, 10)],
      },
      bundle: [
        { name: '@parley/client', version: '1', minBytes: 30_000, gzipBytes: 9_800 },
        { name: 'socket.io-client', version: '4', minBytes: 40_000, gzipBytes: 13_400 },
      ],
    });

  it('judges every target of issue #15 from the medians', () => {
    const checks = evaluateTargets(base());
    expect(checks.map((c) => c.id)).toEqual([
      'cpu-vs-relay',
      'p99-vs-relay',
      'cpu-vs-socketio',
      'ramp-vs-socketio',
      'ramp-vs-relay',
      'idle-rss-vs-relay',
      'idle-heap-vs-socketio',
      'redis-vs-memory',
      'bundle-10kb',
      'bundle-vs-socketio',
    ]);
    expect(byId(checks, 'cpu-vs-relay')).toMatchObject({
      verdict: 'met',
      measured: '1.05× (10.50 vs 10.00 µs)',
    });
    expect(byId(checks, 'p99-vs-relay').verdict).toBe('met');
    expect(byId(checks, 'cpu-vs-socketio').verdict).toBe('met');
    expect(byId(checks, 'ramp-vs-socketio')).toMatchObject({ verdict: 'met' });
    expect(byId(checks, 'ramp-vs-relay').verdict).toBe('met');
    expect(byId(checks, 'idle-rss-vs-relay').verdict).toBe('met');
    expect(byId(checks, 'idle-heap-vs-socketio').verdict).toBe('met');
    // hub + redis: (12 + 5) / 10.5 = 1.62 > 1.6
    expect(byId(checks, 'redis-vs-memory')).toMatchObject({ verdict: 'missed' });
    expect(byId(checks, 'redis-vs-memory').measured).toMatch(
      /^1\.62× \(12\.00 \+ 5\.00 = 17\.00 vs 10\.50 µs\)/,
    );
    expect(byId(checks, 'bundle-10kb').verdict).toBe('met');
    expect(byId(checks, 'bundle-vs-socketio').verdict).toBe('met');
  });

  it('misses by the limits: CPU 1.1 × relay, below Socket.IO, p99 2 ×, RSS 1.3 ×, heap ≤ Socket.IO', () => {
    const r = base();
    r.fixed.parley = [win({ serverCpuUsPerDelivery: 12.1, p99: 4.1 })];
    r.idle.parley = [idle(10.5, 11.5)];
    const checks = evaluateTargets(r);
    for (const id of [
      'cpu-vs-relay',
      'p99-vs-relay',
      'cpu-vs-socketio',
      'idle-rss-vs-relay',
      'idle-heap-vs-socketio',
    ])
      expect(byId(checks, id).verdict, id).toBe('missed');
  });

  it("reports a ratio as a bound, not a result, when a ramp's max was load-generator-bound", () => {
    const r = base();
    // the relay's max was limited by the load generator: Parley ÷ relay is an upper bound
    r.ramp.ws = [rampOf([win({ rate: 10_000 }), win({ rate: 15_000, p99: 90, clientCpuPct: 96 })])];
    const up = byId(evaluateTargets(r), 'ramp-vs-relay');
    expect(up.verdict).toBe('bound');
    expect(up.bound).toEqual({ direction: 'upper', decided: 'undecided' });
    expect(up.measured.startsWith('≤ ')).toBe(true);
    expect(verdictText(up)).toBe('bound — not judged');
    // an upper bound already under the target decides it: missed even so
    r.ramp.parley = [serverBound(6000)];
    expect(byId(evaluateTargets(r), 'ramp-vs-relay').bound).toEqual({
      direction: 'upper',
      decided: 'missed',
    });
    // Parley's own max load-generator-bound: a lower bound, which already meets 1.2 × Socket.IO
    r.ramp.parley = [
      rampOf([win({ rate: 10_000 }), win({ rate: 15_000, p99: 90, clientLoopP99Ms: 30 })]),
    ];
    const low = byId(evaluateTargets(r), 'ramp-vs-socketio');
    expect(low.bound).toEqual({ direction: 'lower', decided: 'met' });
    expect(verdictText(low)).toBe('bound — met even so');
    // both bound: no direction, no result
    expect(byId(evaluateTargets(r), 'ramp-vs-relay').bound).toEqual({
      direction: 'none',
      decided: 'undecided',
    });
  });

  it('leaves out what did not run, and n/a what has no figure', () => {
    const r = base();
    r.systems = ['parley'];
    expect(evaluateTargets(r).map((c) => c.id)).toEqual(['bundle-10kb', 'bundle-vs-socketio']);
    const r2 = base();
    r2.fixed.ws = [];
    expect(byId(evaluateTargets(r2), 'cpu-vs-relay').verdict).toBe('n/a');
  });
});

describe('profilesFor', () => {
  it('asks one profile run per missed target group, none for size targets', () => {
    const r = results({
      fixed: {
        ws: [win({ serverCpuUsPerDelivery: 10 })],
        socketio: [win({ serverCpuUsPerDelivery: 11 })],
        parley: [win({ serverCpuUsPerDelivery: 20, p99: 30 })],
      },
      bundle: [{ name: '@parley/client', version: '1', minBytes: 1, gzipBytes: 20_000 }],
      systems: ['ws', 'socketio', 'parley'],
    });
    const checks = evaluateTargets(r);
    expect(checks.filter((c) => c.verdict === 'missed').map((c) => c.id)).toEqual([
      'cpu-vs-relay',
      'p99-vs-relay',
      'cpu-vs-socketio',
      'bundle-10kb',
    ]);
    expect(profilesFor(checks).map((p) => p.key)).toEqual(['parley:fixed:cpu']);
  });

  it('profiles every target with a profile when asked (--profile-targets=all)', () => {
    const r = results({
      fixed: { ws: [win()], socketio: [win()], parley: [win()], 'parley-redis': [win()] },
      ramp: { ws: [serverBound(8000)], socketio: [serverBound(8000)], parley: [serverBound(8000)] },
      idle: { ws: [idle(8, 3)], socketio: [idle(17, 11)], parley: [idle(8, 3)] },
    });
    expect(profilesFor(evaluateTargets(r), true).map((p) => p.key)).toEqual([
      'parley:fixed:cpu',
      'parley:ramp-max:cpu',
      'parley:idle:heap',
      'parley-redis:fixed:cpu',
    ]);
  });
});

describe('render', () => {
  it('puts the targets table first, marks bounds and shows the profiles of the misses', () => {
    const r = results({
      systems: ['ws', 'parley'],
      fixed: { ws: [win()], parley: [win({ serverCpuUsPerDelivery: 20 })] },
      ramp: {
        ws: [rampOf([win({ rate: 10_000 }), win({ rate: 15_000, p99: 90, clientCpuPct: 96 })])],
        parley: [serverBound(5000)],
      },
      profiles: [
        {
          key: 'parley:fixed:cpu',
          system: 'parley',
          scenario: 'fixed',
          kind: 'cpu',
          rate: 2000,
          cpu: {
            files: 1,
            samples: 100,
            busy: 40,
            intervalUs: 250,
            top: [{ pct: 50, amount: 5, fn: 'writev', location: '' }],
            byArea: [{ area: 'node', pct: 50 }],
          },
        },
      ],
    });
    const md = render(r, evaluateTargets(r), { charts: [], chartsDir: 'x' }).join('\n');
    const targets = md.indexOf('## Targets (issue #15)');
    expect(targets).toBeGreaterThan(0);
    expect(targets).toBeLessThan(md.indexOf('## In-memory'));
    expect(md).toMatch(/\| target \| measured \| met\? \|/);
    expect(md).toMatch(
      /fixed rate: server CPU per delivery ≤ 1\.1 × raw ws relay \| 2\.00× \(20\.00 vs 10\.00 µs\) \| NO \|/,
    );
    expect(md).toMatch(
      /ramp: max sustained deliveries\/s ≥ 0\.85 × raw ws relay's .*\| ≤ 0\.50× .*\| bound — missed even so \|/,
    );
    expect(md).toMatch(
      /\| raw ws relay \| .*\*\*a lower bound\*\* \| load generator saturated at 15,000 msg\/s \(CPU 96 %\) \|/,
    );
    expect(md).toMatch(/## Profiles of the missed targets[\s\S]*\| 50\.0 \| 5 \| writev \|/);
    expect(md).toMatch(/every sender connection sends at most 16 msg\/s/);
  });
});

/**
 * Synthetic bench results for the report's unit tests: every figure is given, nothing measured.
 */

import { stepPassed, type WindowResult } from '../lib/harness.js';
import type { Results } from '../lib/results.js';
import type { IdleResult, RampResult } from '../lib/scenarios.js';

/** A measurement window; only the figures a test cares about need be given. */
export function win(o: Partial<WindowResult> = {}): WindowResult {
  const rate = o.rate ?? 2000;
  return {
    rate,
    sent: rate * 10,
    expected: rate * 100,
    delivered: rate * 100,
    deliveredPct: 100,
    deliveriesPerS: rate * 10,
    offeredPerS: rate * 10,
    msgsPerS: rate,
    p50: 0.5,
    p95: 1,
    p99: 2,
    max: 5,
    serverCpuUsPerDelivery: 10,
    serverCpuPct: 20,
    backingCpuUsPerDelivery: Number.NaN,
    backingCpuPct: Number.NaN,
    totalCpuUsPerDelivery: o.serverCpuUsPerDelivery ?? 10,
    clientCpuPct: 30,
    clientLoopP99Ms: 2,
    clientLoopMaxMs: 5,
    rssMB: 100,
    heapMB: 30,
    majorGcs: 0,
    gcPauseMs: 20,
    errors: 0,
    lastError: '',
    rateLimited: 0,
    lost: 0,
    lastLost: '',
    backpressured: 0,
    windowStartUs: 0,
    windowEndUs: 10_000_000,
    hist: { n: 0, max: 0, sum: 0, buckets: [] },
    ...o,
  };
}

/** A ramp from passing and failing steps (`best` is the highest passing one, as in a run). */
export function rampOf(steps: WindowResult[], o: Partial<RampResult> = {}): RampResult {
  const passing = steps.filter((s) => stepPassed(s));
  const best = passing.reduce<WindowResult | null>(
    (b, s) => (!b || s.deliveriesPerS > b.deliveriesPerS ? s : b),
    null,
  );
  return { steps, best, ceiling: 32_000, capped: false, ...o };
}

export const idle = (rss: number, heap: number): IdleResult => ({
  connections: 5000,
  rssPerConnKB: rss,
  heapPerConnKB: heap,
  externalPerConnKB: 0,
  connectS: 1,
  gc: true,
});

export function results(o: Partial<Results> = {}): Results {
  return {
    mode: 'full',
    command: 'pnpm bench --write',
    date: '2026-01-01T00:00:00.000Z',
    machine: {
      nproc: '4',
      cpu: 'test',
      node: 'v20',
      os: 'linux',
      loadavg: '0 0 0',
      pinning: 'server on core 0',
      pinned: true,
    },
    options: {},
    workloads: {
      fixed: {
        topology: { users: 1000, conversations: 500, members: 10 },
        devices: 1,
        rate: 2000,
        durationS: 10,
        payload: 100,
      },
      ramp: {
        topology: { users: 2000, conversations: 1000, members: 10 },
        devices: 1,
        start: 4000,
        factor: 1.5,
        refine: 3,
        durationS: 3,
        ceiling: 32_000,
      },
      idle: { connections: 5000 },
      storm: { clients: 5000, rate: 500 },
      senderBudget: 16,
      rateLimit: { perSecond: 20, burst: 60 },
    },
    systems: ['ws', 'socketio', 'parley', 'parley-redis'],
    scenarios: ['fixed', 'ramp', 'idle', 'storm', 'bundle'],
    skipped: {},
    fixed: {},
    ramp: {},
    idle: {},
    storm: {},
    bundle: [],
    profiles: [],
    durationS: 1,
    ...o,
  };
}

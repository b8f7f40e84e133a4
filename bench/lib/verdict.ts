/**
 * Whether a ramp's maximum measured the server or the load generator (issue #15: "report whether
 * the load generator was the bottleneck at each ramp maximum; if it was, the ratio is a bound").
 * Pure functions of the recorded steps, so the report and its tests agree.
 */
import { stepPassed, type WindowResult } from './harness.js';
import type { RampResult } from './scenarios.js';

/** Load generator CPU (% of its one JavaScript thread's core) from which it counts as saturated. */
export const LOADGEN_CPU_BOUND_PCT = 90;
/**
 * Load generator event-loop delay p99 (ms) from which it counts as saturated: 40 % of the ramp's
 * 50 ms p99 budget spent waiting in its own loop (sends go out late, receipts are stamped late).
 */
export const LOADGEN_LAG_BOUND_MS = 20;

/** Why a load generator counts as saturated in a window, or null. */
export function loadgenSaturation(w: WindowResult): string | null {
  const why: string[] = [];
  if (w.clientCpuPct >= LOADGEN_CPU_BOUND_PCT) why.push(`CPU ${w.clientCpuPct.toFixed(0)} %`);
  if ((w.clientLoopP99Ms ?? 0) >= LOADGEN_LAG_BOUND_MS)
    why.push(`event-loop delay p99 ${w.clientLoopP99Ms.toFixed(0)} ms`);
  return why.length ? why.join(', ') : null;
}

export interface RampVerdict {
  /** The best passing step (the ramp's maximum), null when no step passed. */
  max: WindowResult | null;
  /**
   * The step that stopped the ramp: the lowest-rate failing step above the maximum (its last
   * measurement when it was retried); null when the ramp reached its ceiling.
   */
  limit: WindowResult | null;
  /** The load generator was saturated at the maximum or at the limiting step. */
  loadgenBound: boolean;
  /** The ramp reached the senders' rate ceiling without failing. */
  capped: boolean;
  /** The ramp ran out of steps (`--ramp-steps`) without a failing one. */
  exhausted: boolean;
  /**
   * The maximum is a lower bound of the system's: the load generator was the bottleneck, or the
   * ramp stopped (ceiling, steps exhausted) before the server failed.
   */
  bound: boolean;
  /** One line for the report. */
  reason: string;
}

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');

export function rampVerdict(r: RampResult): RampVerdict {
  const max = r.best;
  const failing = r.steps.filter((s) => !stepPassed(s) && (!max || s.rate > max.rate));
  const lowest = failing.reduce<number>((m, s) => Math.min(m, s.rate), Number.POSITIVE_INFINITY);
  const atLowest = failing.filter((s) => s.rate === lowest);
  const limit = atLowest.length ? atLowest[atLowest.length - 1]! : null;
  const satMax = max ? loadgenSaturation(max) : null;
  const satLimit = limit ? loadgenSaturation(limit) : null;
  const loadgenBound = Boolean(satMax || satLimit);
  const capped = Boolean(r.capped);
  const exhausted = !capped && max !== null && limit === null;
  let reason: string;
  if (satLimit && limit) {
    reason = `load generator saturated at ${n0(limit.rate)} msg/s (${satLimit})`;
  } else if (satMax && max) {
    reason = `load generator saturated at the max, ${n0(max.rate)} msg/s (${satMax})`;
  } else if (capped) {
    reason = `reached the ceiling of ${n0(r.ceiling)} msg/s (the senders' rate budget) without failing`;
  } else if (exhausted) {
    reason = `ran out of steps (--ramp-steps) at ${n0(max!.rate)} msg/s without failing`;
  } else if (limit) {
    const why = [
      limit.p99 > 50 ? `p99 ${limit.p99.toFixed(0)} ms` : '',
      limit.deliveredPct < 99.9 ? `${limit.deliveredPct.toFixed(2)} % delivered` : '',
      limit.backpressured ? `${limit.backpressured} sends backpressured` : '',
      limit.rateLimited ? `${limit.rateLimited} rate-limited` : '',
      limit.lost ? `${limit.lost} connections lost (${limit.lastLost})` : '',
    ]
      .filter(Boolean)
      .join(', ');
    reason = `server-bound: failed at ${n0(limit.rate)} msg/s (${why}) with the load generator at ${limit.clientCpuPct.toFixed(0)} % CPU, loop p99 ${limit.clientLoopP99Ms?.toFixed(0) ?? '?'} ms`;
  } else {
    reason = 'no step passed';
  }
  return {
    max,
    limit,
    loadgenBound,
    capped,
    exhausted,
    bound: loadgenBound || capped || exhausted,
    reason,
  };
}

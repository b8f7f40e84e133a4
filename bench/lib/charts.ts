/**
 * The report's charts (hand-written SVG, lib/svg.ts): the fixed-rate latency CDF of all runs, and
 * each system's median ramp (p99 and delivered vs offered load).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stepPassed, type WindowResult } from './harness.js';
import { Histogram } from './hist.js';
import { type Results, stat } from './results.js';
import { lineChart, type Series } from './svg.js';
import { labelOf } from './systems.js';

/** Writes the charts into `dir`; returns their file names. */
export function writeCharts(r: Results, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const charts: string[] = [];
  const latency: Series[] = [];
  for (const s of r.systems) {
    const rs = (r.fixed[s] ?? []).filter((x) => x.hist);
    if (!rs.length) continue;
    const h = new Histogram();
    for (const run of rs) {
      const x = Histogram.from(run.hist);
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
    latency.push({ name: labelOf(s), points });
  }
  if (latency.length) {
    writeFileSync(
      join(dir, 'latency.svg'),
      lineChart({
        title: `Latency CDF at ${r.workloads.fixed.rate.toLocaleString('en-US')} msg/s (all runs)`,
        xLabel: 'latency, ms (log scale)',
        yLabel: '% of deliveries ≤ x',
        series: latency,
        logX: true,
        yMin: 0,
        yMax: 100,
      }),
    );
    charts.push('latency.svg');
  }
  const delivered: Series[] = [];
  const p99: Series[] = [];
  for (const s of r.systems) {
    const rs = r.ramp[s] ?? [];
    if (!rs.length) continue;
    // the run whose max is the median one
    const med = stat(rs.map((x) => x.best?.deliveriesPerS ?? 0)).median;
    const pick = rs.reduce((a, b) =>
      Math.abs((b.best?.deliveriesPerS ?? 0) - med) < Math.abs((a.best?.deliveriesPerS ?? 0) - med)
        ? b
        : a,
    );
    const steps = [...pick.steps].sort((a, b) => a.rate - b.rate);
    const hollow = (st: WindowResult) => !stepPassed(st);
    delivered.push({
      name: labelOf(s),
      points: steps.map((st) => ({ x: st.offeredPerS, y: st.deliveriesPerS, hollow: hollow(st) })),
    });
    p99.push({
      name: labelOf(s),
      points: steps.map((st) => ({ x: st.offeredPerS, y: st.p99, hollow: hollow(st) })),
    });
  }
  if (delivered.length) {
    writeFileSync(
      join(dir, 'ramp.svg'),
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
      join(dir, 'ramp-delivered.svg'),
      lineChart({
        title: 'Ramp: delivered vs offered (hollow: step failed)',
        xLabel: 'offered deliveries/s',
        yLabel: 'delivered per second',
        series: delivered,
      }),
    );
    charts.push('ramp.svg', 'ramp-delivered.svg');
  }
  return charts;
}

/**
 * Allocation-free latency histogram: 10 µs buckets up to 100 ms, then 1 ms buckets up to 60 s.
 * Values are in milliseconds.
 */
const FINE = 10_000; // 10 µs × 10,000 = 100 ms
const COARSE = 60_000; // 1 ms × 60,000 = 60 s

export class Histogram {
  readonly counts = new Float64Array(FINE + COARSE + 1);
  n = 0;
  max = 0;
  sum = 0;

  record(ms: number): void {
    const v = Math.max(0, ms);
    let i: number;
    if (v < 100) i = Math.floor(v * 100);
    else i = FINE + Math.min(COARSE, Math.floor(v - 100));
    this.counts[i]!++;
    this.n++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Upper edge of bucket i, in ms. */
  static edge(i: number): number {
    return i < FINE ? (i + 1) / 100 : 100 + (i - FINE + 1);
  }

  percentile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const target = Math.ceil((p / 100) * this.n);
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!;
      if (acc >= target) return Math.min(Histogram.edge(i), this.max);
    }
    return this.max;
  }

  /** Compact form for IPC: [index, count] pairs of the non-empty buckets. */
  toJSON(): { n: number; max: number; sum: number; buckets: [number, number][] } {
    const buckets: [number, number][] = [];
    for (let i = 0; i < this.counts.length; i++)
      if (this.counts[i]) buckets.push([i, this.counts[i]!]);
    return { n: this.n, max: this.max, sum: this.sum, buckets };
  }

  static from(j: { n: number; max: number; sum: number; buckets: [number, number][] }): Histogram {
    const h = new Histogram();
    h.n = j.n;
    h.max = j.max;
    h.sum = j.sum;
    for (const [i, c] of j.buckets) h.counts[i] = c;
    return h;
  }
}

/**
 * Profile summaries: where a server's time (V8 `--cpu-prof` profiles) or its retained memory
 * (V8 sampling heap profiles) goes, as "top frames by self" tables for the report.
 *
 * CPU profiles can be cut to a measurement window: a `.cpuprofile`'s timestamps are µs of the
 * system's monotonic clock, the same clock as `process.hrtime()` in the orchestrator, so process
 * start-up and shutdown are left out.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { BENCH_DIR } from './procs.js';

const REPO = join(BENCH_DIR, '..');

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FrameRow {
  /** % of the busy samples (cpu) or of the sampled retained bytes (heap). */
  pct: number;
  /** ms of CPU (cpu) or KB per connection (heap). */
  amount: number;
  fn: string;
  location: string;
}

export interface CpuSummary {
  files: number;
  /** Samples in the window, busy (not `(idle)`) samples, and the sampling interval in µs. */
  samples: number;
  busy: number;
  intervalUs: number;
  top: FrameRow[];
  /** Self time by package / area (the code under packages/, each dependency, Node, V8). */
  byArea: { area: string; pct: number }[];
}

export interface HeapSummary {
  /** Sampled retained bytes after GC, divided by `per` (connections). */
  totalKB: number;
  per: number;
  top: FrameRow[];
  byArea: { area: string; pct: number }[];
}

/** Where a frame lives: a repository-relative path, a package name, or Node / V8. */
export function locate(cf: CallFrame): { location: string; area: string } {
  const url = cf.url.replace(/^file:\/\//, '');
  // no script: V8 builtins and Node's C++ bindings (e.g. `writev`, the socket write syscall)
  if (!url)
    return { location: '', area: cf.functionName.startsWith('(') ? cf.functionName : 'native' };
  if (url.startsWith('node:')) return { location: `${url}:${cf.lineNumber + 1}`, area: 'node' };
  const nm = url.lastIndexOf(`${sep}node_modules${sep}`);
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split(sep);
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return {
      location: `${pkg}/${rest.slice(pkg.split('/').length).join('/')}:${cf.lineNumber + 1}`,
      area: pkg,
    };
  }
  const rel = relative(REPO, url);
  if (!rel.startsWith('..')) {
    const parts = rel.split(sep);
    const area = parts[0] === 'packages' ? `packages/${parts[1]}` : parts[0]!;
    return { location: `${rel}:${cf.lineNumber + 1}`, area };
  }
  return { location: `${url}:${cf.lineNumber + 1}`, area: 'other' };
}

function ranked(self: Map<string, number>, total: number, top: number, unit: number): FrameRow[] {
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => {
      const [fn, location] = k.split('\t') as [string, string];
      return { pct: total ? (v / total) * 100 : 0, amount: v * unit, fn, location };
    });
}

function areas(byArea: Map<string, number>, total: number): { area: string; pct: number }[] {
  return [...byArea]
    .sort((a, b) => b[1] - a[1])
    .map(([area, v]) => ({ area, pct: total ? (v / total) * 100 : 0 }));
}

/** `.cpuprofile` files in `dir` (recursively one level: `dir/<system>/*.cpuprofile` too). */
export function profileFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.cpuprofile')) out.push(join(dir, e.name));
    else if (e.isDirectory()) out.push(...profileFiles(join(dir, e.name)));
  }
  return out;
}

/**
 * Self time per function over the given profiles, `(idle)` left out; only samples within
 * `window` (µs, monotonic clock) when given.
 */
export function cpuSummary(
  files: string[],
  window?: { startUs: number; endUs: number },
  top = 20,
): CpuSummary {
  const self = new Map<string, number>();
  const byArea = new Map<string, number>();
  let samples = 0;
  let busy = 0;
  let intervalSum = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      const dt = p.timeDeltas[i] ?? 0;
      t += dt;
      if (window && (t < window.startUs || t > window.endUs)) continue;
      samples++;
      intervalSum += dt;
      const cf = byId.get(p.samples[i]!)!.callFrame;
      const fn = cf.functionName || '(anonymous)';
      if (fn === '(idle)') continue;
      busy++;
      const { location, area } = locate(cf);
      const key = `${fn}\t${location}`;
      self.set(key, (self.get(key) ?? 0) + 1);
      byArea.set(area, (byArea.get(area) ?? 0) + 1);
    }
  }
  const intervalUs = samples ? intervalSum / samples : 0;
  return {
    files: files.length,
    samples,
    busy,
    intervalUs,
    top: ranked(self, busy, top, intervalUs / 1000),
    byArea: areas(byArea, busy),
  };
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/**
 * Retained bytes by allocation site from a V8 sampling heap profile taken after GC (objects the
 * GC freed are dropped from it), divided by `per` connections.
 */
export function heapSummary(profile: { head: HeapNode }, per: number, top = 20): HeapSummary {
  const self = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode) => {
    if (n.selfSize > 0) {
      const { location, area } = locate(n.callFrame);
      const key = `${n.callFrame.functionName || '(anonymous)'}\t${location}`;
      self.set(key, (self.get(key) ?? 0) + n.selfSize);
      byArea.set(area, (byArea.get(area) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  const d = Math.max(1, per);
  return {
    totalKB: total / 1024 / d,
    per: d,
    top: ranked(self, total, top, 1 / 1024 / d),
    byArea: areas(byArea, total),
  };
}

const pct = (v: number) => v.toFixed(1);

/** Markdown for a CPU summary: top frames by self time, then self time by area. */
export function renderCpu(s: CpuSummary): string[] {
  if (!s.busy) return ['(no busy samples in the window)', ''];
  const busyPct = s.samples ? (s.busy / s.samples) * 100 : 0;
  return [
    `${s.busy.toLocaleString('en-US')} busy samples of ${s.samples.toLocaleString('en-US')} (${pct(busyPct)} % busy), one per ${(s.intervalUs / 1000).toFixed(2)} ms`,
    '',
    '| self % | self ms | function | location |',
    '| --- | --- | --- | --- |',
    ...s.top.map((r) => `| ${pct(r.pct)} | ${r.amount.toFixed(0)} | ${r.fn} | ${r.location} |`),
    '',
    `By area: ${s.byArea
      .slice(0, 8)
      .map((a) => `${a.area} ${pct(a.pct)} %`)
      .join(', ')}`,
    '',
  ];
}

/** Markdown for a heap summary: top allocation sites by retained bytes per connection. */
export function renderHeap(s: HeapSummary): string[] {
  return [
    `${s.totalKB.toFixed(2)} KB per connection sampled as retained after GC (${s.per.toLocaleString('en-US')} connections)`,
    '',
    '| % | KB / connection | allocated in | location |',
    '| --- | --- | --- | --- |',
    ...s.top.map((r) => `| ${pct(r.pct)} | ${r.amount.toFixed(2)} | ${r.fn} | ${r.location} |`),
    '',
    `By area: ${s.byArea
      .slice(0, 8)
      .map((a) => `${a.area} ${pct(a.pct)} %`)
      .join(', ')}`,
    '',
  ];
}

/** `--profile`: every server's whole-process profile, one section per system directory. */
export function summarise(dir: string, top = 25): string {
  if (!existsSync(dir)) return '';
  const lines: string[] = [];
  for (const system of readdirSync(dir)) {
    const files = profileFiles(join(dir, system));
    if (!files.length) continue;
    lines.push(
      `### CPU profile: ${system} (${files.length} profile(s), whole processes; self time)`,
      '',
      ...renderCpu(cpuSummary(files, undefined, top)),
    );
  }
  return lines.join('\n');
}

/**
 * The report (stdout, `bench/results/<mode>/tables.md`, and BENCHMARKS.md with `--write`):
 * markdown rendered from a run's Results alone, so `--render=<results.json>` reproduces it.
 */
import { renderCpu, renderHeap } from './profile.js';
import {
  fixedStats,
  idleStats,
  type ProfileRun,
  type Results,
  rampStats,
  type Stat,
  stormStats,
} from './results.js';
import { GROUPS, labelOf, systemDef } from './systems.js';
import { type Check, verdictText } from './targets.js';

const f = (v: number, d = 1) =>
  !Number.isFinite(v)
    ? '—'
    : v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const fs = (s: Stat, d = 1) =>
  s.n === 0
    ? '—'
    : s.n === 1 || s.min === s.max
      ? f(s.median, d)
      : `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;

function table(head: string[], rows: string[][]): string {
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

export interface ReportExtras {
  /** Chart file names, and their directory relative to the repository root. */
  charts: string[];
  chartsDir: string;
  /** `--profile`: the whole-process summaries of every server. */
  wholeProfiles?: string;
}

export function render(r: Results, checks: Check[], extras: ReportExtras): string[] {
  const md: string[] = [];
  const out = (s = '') => md.push(s);
  const w = r.workloads;
  const ft = w.fixed.topology;
  const rt = w.ramp.topology;
  const perMsg = ft.members * w.fixed.devices;

  out(`# Parley benchmarks (${r.mode})`);
  out();
  out(`- command: \`${r.command}\``);
  out(`- date: ${r.date}; wall time ${f(r.durationS, 0)} s`);
  out(
    `- machine: nproc ${r.machine.nproc}, ${r.machine.cpu}, Node ${r.machine.node}${r.machine.bun ? `, Bun ${r.machine.bun}` : ''}, ${r.machine.os}; load average at start ${r.machine.loadavg}`,
  );
  out(
    `- pinning: ${r.machine.pinning}${r.machine.pinned ? '' : ' — **not pinned**: the server, its store and the load generator compete for the same cores'}`,
  );
  out(
    `- deliveries: every system writes one frame per member socket per message, the sender's included (Parley: its \`ack\`; the raw ws relay and Socket.IO: the echo to the sender), so a message to a conversation of ${ft.members} members is ${perMsg} deliveries in every row; latency is measured on each of them, the sender's too`,
  );
  out(
    `- limits: Parley runs with the hub's default options, rate limit ${w.rateLimit.perSecond} frames/s per connection (burst ${w.rateLimit.burst}); every sender connection sends at most ${f(w.senderBudget, 0)} msg/s, round-robin: the fixed rate uses ${f(ft.users * w.fixed.devices, 0)} senders (${f(w.fixed.rate / (ft.users * w.fixed.devices), 1)} msg/s each), the ramp ${f(rt.users * w.ramp.devices, 0)} (${f(rt.users, 0)} users, ${f(rt.conversations, 0)} conversations × ${rt.members}) — a ceiling of ${f(w.ramp.ceiling, 0)} msg/s, the same topology for every system`,
  );
  if (r.parley) out(`- Parley servers run on: ${r.parley}`);
  out(
    `- load generator: ${w.loadgens ?? 1} process(es) for the fixed rate and the ramp, the users split between them; its CPU (% of one core) and event-loop delay are those of the busiest one`,
  );
  out(
    '- figures: median (min–max) over the runs; each run is a fresh server process (and store) and a fresh load generator',
  );
  for (const [s, why] of Object.entries(r.skipped)) out(`- ${labelOf(s)} skipped: ${why}`);
  for (const x of r.failures ?? []) out(`- not measured: ${x}`);
  out();

  if (checks.length) {
    out('## Targets (issue #15)');
    out();
    out(
      table(
        ['target', 'measured', 'met?'],
        checks.map((c) => [c.target, c.measured, verdictText(c)]),
      ),
    );
    out();
    for (const c of checks.filter((x) => x.note && (x.verdict === 'bound' || x.verdict === 'n/a')))
      out(`- ${c.target}: ${c.note}.`);
    const missed = checks.filter((c) => c.verdict === 'missed' || c.verdict === 'bound');
    if (missed.length && r.profiles.length)
      out('- Where the time goes for each miss: "Profiles of the missed targets" below.');
    if (r.mode !== 'full')
      out(`- (${r.mode} mode: small numbers; the targets are judged on the full run.)`);
    out();
  }

  for (const g of GROUPS) {
    const group = r.systems.filter((s) => systemDef(s).group === g.id);
    if (group.length) groupTables(r, group, g.title, out);
  }

  if (r.bundle.length) {
    out(
      '## Client bundle (as installed from npm, @parley/client from its packed tarball; esbuild, ESM, platform browser, minified; gzip -9)',
    );
    out();
    out(
      table(
        ['package', 'version', 'min KB', 'min+gzip KB'],
        r.bundle.map((b) => [
          b.name,
          b.version,
          f(b.minBytes / 1000, 1),
          b.error ? `error: ${b.error}` : f(b.gzipBytes / 1000, 1),
        ]),
      ),
    );
    out();
  }

  ratios(r, out);

  if (r.profiles.length) {
    out('## Profiles of the missed targets');
    out();
    out(
      'Each profile is one extra run after the measured ones, the server under V8\'s profiler: CPU profiles (`--cpu-prof`, one sample per 0.25 ms) are cut to the measurement window; the heap profile samples what the connections retain after GC. "self" is time spent in the function itself, not in what it calls.',
    );
    out();
    for (const p of r.profiles) profileSection(r, p, checks, out);
  }

  if (extras.wholeProfiles) {
    out('## Server CPU profiles (`--profile`, whole processes)');
    out();
    out(extras.wholeProfiles);
  }

  if (extras.charts.length) {
    out('## Charts');
    out();
    for (const c of extras.charts) out(`![${c}](${extras.chartsDir}/${c})`);
    out();
  }
  return md;
}

function groupTables(r: Results, group: string[], title: string, out: (s?: string) => void) {
  const w = r.workloads;
  const withBacking = group.some((s) => systemDef(s).backing);
  out(`## ${title}`);
  out();
  if (group.some((s) => r.fixed[s]?.length)) {
    const t = w.fixed.topology;
    out(
      `### Fixed rate — ${f(t.users, 0)} users × ${w.fixed.devices} device(s), ${f(t.conversations, 0)} conversations × ${t.members} members, ${f(w.fixed.rate, 0)} msg/s (${f(w.fixed.rate * t.members * w.fixed.devices, 0)} deliveries/s), ${w.fixed.payload} B payload, ${w.fixed.durationS} s window`,
    );
    out();
    out(
      table(
        [
          'system',
          'runs',
          'deliveries / msg',
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
          'mark-compacts in window',
          'GC pauses ms',
          'load gen CPU %',
          'load gen loop p99 ms',
          'rate-limited',
        ],
        group.map((s) => {
          const x = fixedStats(r, s);
          return [
            labelOf(s),
            String(x.n),
            fs(x.perMsg, 0),
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
            fs(x.majorGcs, 0),
            fs(x.gcPause, 0),
            fs(x.client, 0),
            fs(x.clientLoop, 1),
            fs(x.rateLimited, 0),
          ];
        }),
      ),
    );
    out();
    for (const s of group) {
      const errs = (r.fixed[s] ?? []).filter((x) => x.errors > 0 || (x.lost ?? 0) > 0);
      if (errs.length)
        out(
          `- ${labelOf(s)}: ${errs[0]!.errors} error frames, ${errs[0]!.lost ?? 0} connections lost, e.g. \`${errs[0]!.lastError || errs[0]!.lastLost}\``,
        );
    }
    if (withBacking) {
      out(
        "- redis CPU: user + system CPU of the run's own redis-server (all its threads, from /proc) over the same window, per delivery.",
      );
      out();
    }
  }
  if (group.some((s) => r.ramp[s]?.length)) {
    const t = w.ramp.topology;
    out(
      `### Ramp — max sustained rate (p99 ≤ 50 ms, ≥ 99.9 % delivered, nothing rate-limited or lost), from ${f(w.ramp.start, 0)} msg/s × ${w.ramp.factor} per step, then ${w.ramp.refine} bisection step(s); ${w.ramp.durationS} s per step; ${f(t.users, 0)} users, ${f(t.conversations, 0)} conversations × ${t.members}, ceiling ${f(w.ramp.ceiling, 0)} msg/s`,
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
          ...(withBacking ? ['redis CPU % at max'] : []),
          'load gen CPU % at max',
          'load gen loop p99 ms at max',
          'max is',
          'what stopped each run',
        ],
        group.map((s) => {
          const x = rampStats(r, s);
          return [
            labelOf(s),
            fs(x.mps, 0),
            fs(x.dps, 0),
            fs(x.p99, 2),
            fs(x.server, 0),
            ...(withBacking ? [fs(x.backing, 0)] : []),
            fs(x.client, 0),
            fs(x.clientLoop, 1),
            x.bound ? '**a lower bound**' : 'a result',
            x.verdicts.map((v) => v.reason).join('; '),
          ];
        }),
      ),
    );
    out();
    out(
      "The load generator counts as the bottleneck when, at the maximum or at the step that failed above it, its CPU was ≥ 90 % of its core or its event-loop delay p99 ≥ 20 ms; the maximum is then a lower bound of the server's, and so is one that reached the ceiling.",
    );
    out();
  }
  if (group.some((s) => r.idle[s]?.length)) {
    out(
      `### Memory per idle connection — ${f(w.idle.connections, 0)} connections, 5 conversations each (after GC)`,
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
          const x = idleStats(r, s);
          return [labelOf(s), fs(x.conns, 0), fs(x.rss, 2), fs(x.heap, 2), fs(x.ext, 2)];
        }),
      ),
    );
    out();
  }
  if (group.some((s) => r.storm[s]?.length)) {
    out(
      `### Reconnect storm — ${f(w.storm.clients, 0)} clients, server restarted (SIGTERM, graceful), ${f(w.storm.rate, 0)} msg/s kept up during the outage`,
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
          const x = stormStats(r, s);
          return [
            labelOf(s),
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
            systemDef(s).wire === 'parley' ? fs(x.retries, 0) : 'n/a',
          ];
        }),
      ),
    );
    out();
  }
}

function ratios(r: Results, out: (s?: string) => void) {
  if (!r.systems.includes('parley')) return;
  const rows: string[][] = [];
  const P = { f: fixedStats(r, 'parley'), r: rampStats(r, 'parley'), i: idleStats(r, 'parley') };
  const q = (a: number, b: number) =>
    Number.isFinite(a) && Number.isFinite(b) && b > 0 ? f(a / b, 2) : '—';
  for (const other of ['ws', 'socketio']) {
    if (!r.systems.includes(other)) continue;
    const O = { f: fixedStats(r, other), r: rampStats(r, other), i: idleStats(r, other) };
    const rampRatio = q(P.r.dps.median, O.r.dps.median);
    const mark =
      rampRatio === '—' || (!P.r.bound && !O.r.bound)
        ? ''
        : P.r.bound && O.r.bound
          ? ' (both bounds: no result)'
          : P.r.bound
            ? ' (lower bound)'
            : ' (upper bound)';
    rows.push([
      `Parley ÷ ${labelOf(other)}`,
      `${rampRatio}${mark}`,
      q(P.f.cpu.median, O.f.cpu.median),
      q(P.f.p99.median, O.f.p99.median),
      q(P.i.rss.median, O.i.rss.median),
      q(P.i.heap.median, O.i.heap.median),
      q(P.f.rss.median, O.f.rss.median),
    ]);
  }
  if (r.systems.includes('parley-redis')) {
    const R = fixedStats(r, 'parley-redis');
    rows.push([
      'Parley (Redis, hub + redis) ÷ Parley (memory)',
      q(rampStats(r, 'parley-redis').dps.median, P.r.dps.median),
      q(R.totalCpu.median, P.f.cpu.median),
      q(R.p99.median, P.f.p99.median),
      q(idleStats(r, 'parley-redis').rss.median, P.i.rss.median),
      q(idleStats(r, 'parley-redis').heap.median, P.i.heap.median),
      q(R.rss.median, P.f.rss.median),
    ]);
  }
  if (!rows.some((x) => x.slice(1).some((c) => c !== '—'))) return;
  out('## Ratios (medians)');
  out();
  out(
    table(
      [
        'ratio',
        'max sustained deliveries/s',
        'CPU per delivery',
        'p99 at fixed rate',
        'RSS per idle connection',
        'heap per idle connection',
        'RSS at fixed rate',
      ],
      rows,
    ),
  );
  out();
}

function profileSection(r: Results, p: ProfileRun, checks: Check[], out: (s?: string) => void) {
  const explains = checks.filter((c) => c.profile?.key === p.key);
  const what =
    p.scenario === 'idle'
      ? `idle connections, ${f(r.workloads.idle.connections, 0)} of them (sampling heap profile)`
      : p.scenario === 'ramp-max'
        ? `fixed rate at its ramp maximum, ${f(p.rate ?? Number.NaN, 0)} msg/s on the ramp topology`
        : `the fixed-rate scenario, ${f(p.rate ?? Number.NaN, 0)} msg/s`;
  out(`### ${labelOf(p.system)}: ${what}`);
  out();
  if (explains.length)
    out(`Explains: ${explains.map((c) => `${c.target} (${verdictText(c)})`).join('; ')}.`);
  out();
  if (p.error) {
    out(`Profile run failed: ${p.error}`);
    out();
    return;
  }
  if (p.window) {
    const x = p.window;
    out(
      `Window: ${f(x.msgsPerS, 0)} msg/s, ${f(x.deliveriesPerS, 0)} deliveries/s, p99 ${f(x.p99, 2)} ms, server CPU ${f(x.serverCpuUsPerDelivery, 2)} µs/delivery (${f(x.serverCpuPct, 0)} %)${Number.isFinite(x.backingCpuUsPerDelivery) ? `, redis CPU ${f(x.backingCpuUsPerDelivery, 2)} µs/delivery` : ''} — under the profiler, so a little slower than the measured runs.`,
    );
    out();
  }
  if (p.cpu) for (const l of renderCpu(p.cpu)) out(l);
  if (p.heap) for (const l of renderHeap(p.heap)) out(l);
  const cmds = p.window?.backingCommands;
  if (cmds?.length) {
    const total = cmds.reduce((a, c) => a + c.usec, 0);
    const deliveries = p.window!.delivered || 1;
    out("redis-server's own time by command over the window (`INFO commandstats`):");
    out();
    out(
      table(
        ['command', 'calls', 'µs per call', 'µs per delivery', '% of command time'],
        cmds.map((c) => [
          c.command,
          f(c.calls, 0),
          f(c.calls ? c.usec / c.calls : Number.NaN, 1),
          f(c.usec / deliveries, 2),
          f(total ? (c.usec / total) * 100 : Number.NaN, 1),
        ]),
      ),
    );
    out();
  }
}

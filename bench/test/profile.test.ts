/**
 * The pieces of the harness that need no processes: profile summaries (cut to a window),
 * Redis command statistics, and the sender budget that keeps Parley's default rate limit.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandStats } from '../lib/backing.js';
import { Histogram } from '../lib/hist.js';
import { merge } from '../lib/loadgens.js';
import { cpuSummary, heapSummary, locate, profileFiles } from '../lib/profile.js';
import {
  DEFAULT_RATE_LIMIT,
  rateCeiling,
  SENDER_HEADROOM,
  scaledFor,
  senderBudget,
  senders,
} from '../lib/topology.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
  scriptId: '0',
});

describe('cpuSummary', () => {
  // samples every 250 µs from t = 1,000,000 µs: 4 × onSend, 4 × writev, 2 × (idle), then 4 ×
  // (program) after the window
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      {
        id: 2,
        callFrame: frame('onSend', 'file:///repo/packages/server-adapter/dist/index.js', 41),
      },
      { id: 3, callFrame: frame('writev') },
      { id: 4, callFrame: frame('(idle)') },
      { id: 5, callFrame: frame('(program)') },
    ],
    startTime: 1_000_000,
    endTime: 1_003_500,
    samples: [2, 2, 3, 3, 2, 3, 4, 4, 2, 3, 5, 5, 5, 5],
    timeDeltas: Array(14).fill(250),
  };
  const file = join(dir, 'sys', 'a.cpuprofile');

  it('ranks self time over the window only, idle left out', () => {
    rmSync(join(dir, 'sys'), { recursive: true, force: true });
    mkdirSync(join(dir, 'sys'));
    writeFileSync(file, JSON.stringify(profile));
    expect(profileFiles(dir)).toEqual([file]);
    const all = cpuSummary([file]);
    expect(all.samples).toBe(14);
    expect(all.busy).toBe(12);
    expect(all.top[0]).toMatchObject({ fn: 'onSend', pct: (4 / 12) * 100 });
    // the window ends before the (program) samples: t = 1,000,250 … 1,002,500
    const w = cpuSummary([file], { startUs: 1_000_000, endUs: 1_002_500 });
    expect(w.samples).toBe(10);
    expect(w.busy).toBe(8);
    expect(w.top.map((r) => [r.fn, r.pct])).toEqual([
      ['onSend', 50],
      ['writev', 50],
    ]);
    expect(w.top[0]!.amount).toBeCloseTo(4 * 0.25);
    expect(w.intervalUs).toBe(250);
  });
});

describe('locate', () => {
  it('names packages, dependencies, Node and V8', () => {
    expect(locate(frame('f', 'node:internal/streams/writable', 9))).toEqual({
      location: 'node:internal/streams/writable:10',
      area: 'node',
    });
    expect(locate(frame('(garbage collector)')).area).toBe('(garbage collector)');
    expect(locate(frame('writev')).area).toBe('native');
    expect(
      locate(frame('send', 'file:///x/node_modules/.pnpm/ws@8/node_modules/ws/lib/sender.js', 3)),
    ).toEqual({ location: 'ws/lib/sender.js:4', area: 'ws' });
  });
});

describe('heapSummary', () => {
  it('sums retained bytes by allocation site, per connection', () => {
    const h = heapSummary(
      {
        head: {
          callFrame: frame('(root)'),
          selfSize: 0,
          children: [
            { callFrame: frame('Connection'), selfSize: 3072, children: [] },
            {
              callFrame: frame('subscribe'),
              selfSize: 1024,
              children: [{ callFrame: frame('Connection'), selfSize: 1024, children: [] }],
            },
          ],
        },
      },
      2,
    );
    expect(h.totalKB).toBe(2.5);
    expect(h.top.map((r) => [r.fn, r.amount, r.pct])).toEqual([
      ['Connection', 2, 80],
      ['subscribe', 0.5, 20],
    ]);
  });
});

describe('parseCommandStats', () => {
  it('reads INFO commandstats, most expensive first', () => {
    const info =
      '# Commandstats\r\ncmdstat_get:calls=4,usec=10,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\ncmdstat_evalsha:calls=2,usec=300,usec_per_call=150.00\r\n';
    expect(parseCommandStats(info)).toEqual([
      { command: 'evalsha', calls: 2, usec: 300 },
      { command: 'get', calls: 4, usec: 10 },
    ]);
  });
});

describe('sender budget (Parley runs with its default rate limit)', () => {
  it('keeps every sender at 80 % of the default 20 frames/s', () => {
    expect(DEFAULT_RATE_LIMIT).toEqual({ perSecond: 20, burst: 60 });
    expect(senderBudget()).toBe(20 * SENDER_HEADROOM);
    expect(senderBudget()).toBe(16);
  });

  it('sizes the ramp topology for its ceiling, the same fan-out per message', () => {
    const t = { users: 1000, conversations: 500, members: 10 };
    expect(senders(t, 1)).toBe(1000);
    expect(rateCeiling(t, 1)).toBe(16_000);
    expect(scaledFor(t, 1, 2000)).toEqual(t);
    expect(scaledFor(t, 1, 16_000)).toEqual(t);
    const big = scaledFor(t, 1, 32_000);
    expect(big).toEqual({ users: 2000, conversations: 1000, members: 10 });
    expect(rateCeiling(big, 1)).toBe(32_000);
    // devices are senders too
    expect(rateCeiling(t, 2)).toBe(32_000);
  });
});

describe('merge (several load generator processes)', () => {
  it('sums counts, keeps the busiest process for CPU and loop delay, merges histograms', () => {
    const h = (ms: number[]) => {
      const x = new Histogram();
      for (const v of ms) x.record(v);
      return x.toJSON();
    };
    const m = merge([
      {
        sent: 10,
        expected: 40,
        delivered: 39,
        clientCpuPct: 50,
        loopP99Ms: 3,
        lastError: '',
        hist: h([1, 2]),
      },
      {
        sent: 12,
        expected: 48,
        delivered: 48,
        clientCpuPct: 92,
        loopP99Ms: 1,
        lastError: 'x',
        hist: h([30]),
      },
    ]);
    expect(m).toMatchObject({
      sent: 22,
      expected: 88,
      delivered: 87,
      clientCpuPct: 92,
      loopP99Ms: 3,
      lastError: 'x',
    });
    const hist = Histogram.from(m.hist as Parameters<typeof Histogram.from>[0]);
    expect(hist.n).toBe(3);
    expect(hist.max).toBe(30);
    expect(hist.percentile(50)).toBeCloseTo(2, 1);
  });
});

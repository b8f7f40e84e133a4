/**
 * The byte budget bounds the hub's memory (issue 13): sockets that never read and keep asking
 * for replays are each held to `backpressure.hardLimitBytes`, then closed with 1013, and the hub
 * process's RSS grows by no more than a small multiple of that budget per socket. The hub runs in
 * a child process (its RSS is measured alone, after a GC).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type net from 'node:net';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient } from './utils/client.js';

const BUDGET = 1_048_576;
const SOCKETS = 8;
const SYNCS = 60; // each answered by a ~330 KB replay: ~20 MB per socket if nothing bounded it
const MB = 1024 * 1024;

interface Stats {
  rss: number;
  bufferedBytes: number;
  slowConsumerCloses: number;
  connections: number;
  maxSlow: number;
}

let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
});

function startHub(): Promise<{ port: number; stats: () => Promise<Stats> }> {
  child = spawn(
    process.execPath,
    ['--expose-gc', '--conditions=@parley/source', '--import', 'tsx', 'test/memory/hub.process.ts'],
    {
      cwd: resolve(import.meta.dirname, '..'),
      env: { ...process.env, BUDGET: String(BUDGET), MESSAGES: '120', MESSAGE_BYTES: '8000' },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  const c = child;
  const stats = () =>
    new Promise<Stats>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('no stats from the hub process')), 5000);
      c.once('message', (m) => {
        clearTimeout(timer);
        res(m as Stats);
      });
      c.send({ type: 'stats' });
    });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('hub process did not start')), 20_000);
    let out = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res({ port: Number(m[1]), stats });
      }
    });
    c.once('exit', (code) => rej(new Error(`hub process exited (${code})`)));
  });
}

describe('memory bound', () => {
  it(`${SOCKETS} sockets that never read and keep asking for replays: each held to its budget, closed 1013; RSS bounded`, async () => {
    const { port, stats } = await startHub();
    const url = `ws://127.0.0.1:${port}/parley`;
    // Warm up (JIT, first replay), then take the baseline.
    const warm = await TestClient.connect(url, { token: 'warm', cursors: { c1: { seq: 80 } } });
    await warm.close();
    const base = await stats();

    const clients: TestClient[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      const c = await TestClient.connect(url, { token: `u${i}`, cursors: { c1: { seq: 120 } } });
      (c.ws as unknown as { _socket: net.Socket })._socket.pause();
      clients.push(c);
    }
    for (let n = 0; n < SYNCS; n++) {
      for (const c of clients)
        c.send({ type: 'sync', ref: `s${n}`, conversationId: 'c1', after: 80 });
    }
    let peak = base;
    // Well within the heartbeat (35 s), which would otherwise end these sockets by itself.
    const deadline = Date.now() + 20_000;
    let s = await stats();
    while (s.slowConsumerCloses < SOCKETS && Date.now() < deadline) {
      if (s.rss > peak.rss) peak = s;
      s = await stats();
    }
    const after = s;
    if (after.rss > peak.rss) peak = after;
    const growth = peak.rss - base.rss;
    if (process.env.PARLEY_MEMORY_REPORT)
      process.stdout.write(
        `memory-bound: base ${(base.rss / MB).toFixed(1)} MB, peak ${(peak.rss / MB).toFixed(1)} MB, growth ${(growth / MB).toFixed(1)} MB, largest held by one socket ${after.maxSlow} B, closed ${after.slowConsumerCloses}\n`,
      );
    expect(after.slowConsumerCloses).toBe(SOCKETS);
    // Every socket was held to its budget (what the hub held for it when it refused the next
    // frame) and closed with the documented code.
    expect(after.maxSlow).toBeGreaterThan(0);
    expect(after.maxSlow).toBeLessThanOrEqual(BUDGET);
    expect(after.bufferedBytes).toBeLessThanOrEqual(SOCKETS * BUDGET);
    for (const c of clients) (c.ws as unknown as { _socket: net.Socket })._socket.resume();
    for (const c of clients) expect((await c.closed).code).toBe(1013);
    // The process grew by at most a small multiple of the budgets it held (send buffers are
    // Buffers, and each replay is a string before it is one), plus allocator slack.
    expect(growth, `RSS grew ${(growth / MB).toFixed(1)} MB`).toBeLessThanOrEqual(
      3 * SOCKETS * BUDGET + 24 * MB,
    );
  }, 120_000);
});

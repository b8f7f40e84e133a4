/**
 * Soak: many Parley clients with steady traffic and reconnect churn against one hub; after every
 * client left, heap (after GC) and active handles return to the baseline measured after a warm-up
 * that filled every bounded store (history, idempotency records, member lists) to its cap.
 *
 * Runs in a child process (soak.worker.ts) with `--expose-gc`, so that the measurement is not
 * polluted by other test files and GC can be forced.
 *
 * By default (CI) a tiny version runs so that it cannot rot: 200 connections for 5 s.
 *   PARLEY_SOAK=1                    the real soak: 3,000 connections for 600 s
 *   PARLEY_SOAK_CONNECTIONS / PARLEY_SOAK_SECONDS   override either
 *   PARLEY_SEED                      replays the churn/traffic choices
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { envInt, report, seedFor } from './lib.js';

const LONG = process.env.PARLEY_SOAK === '1';
const CONNECTIONS = envInt('PARLEY_SOAK_CONNECTIONS', LONG ? 3_000 : 200);
const SECONDS = envInt('PARLEY_SOAK_SECONDS', LONG ? 600 : 5);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface SoakResult {
  connections: number;
  messagesSent: number;
  failures: string[];
  baselineHeapMB: number;
  afterHeapMB: number;
  maxHeapMB: number;
  maxRssMB: number;
  baselineHandles: Record<string, number>;
  afterHandles: Record<string, number>;
  [k: string]: unknown;
}

function runWorker(seed: number, timeoutMs: number): Promise<SoakResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--conditions=@parley/source',
        '--import',
        'tsx',
        'tests/reliability/soak.worker.ts',
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          SOAK_CONNECTIONS: String(CONNECTIONS),
          SOAK_SECONDS: String(SECONDS),
          SOAK_SEED: String(seed),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`soak worker timed out after ${timeoutMs} ms\n${err.slice(-2000)}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('SOAK_RESULT '));
      if (code !== 0 || line === undefined) {
        reject(new Error(`soak worker exited ${code}\n${err.slice(-3000)}\n${out.slice(-1000)}`));
        return;
      }
      resolve(JSON.parse(line.slice('SOAK_RESULT '.length)) as SoakResult);
    });
  });
}

describe(`soak (${LONG ? 'long' : 'CI-sized'}: ${CONNECTIONS} connections, ${SECONDS} s)`, () => {
  const timeoutMs = SECONDS * 1_000 + 120_000 + CONNECTIONS * 50;
  it(
    'steady traffic + reconnect churn; heap and handles return to baseline after everyone left',
    async () => {
      const seed = seedFor('soak', 6);
      const r = await runWorker(seed, timeoutMs);
      report('soak', r);
      expect(r.failures).toEqual([]);
      expect(r.messagesSent).toBeGreaterThan(0);
      // Handles (sockets, timers, servers) by type: nothing left behind by any connection.
      for (const [type, n] of Object.entries(r.afterHandles))
        expect(n, `active ${type}`).toBeLessThanOrEqual(r.baselineHandles[type] ?? 0);
      // Heap: back to the baseline (allowing for JIT/IC noise), far below the peak.
      expect(r.afterHeapMB).toBeLessThanOrEqual(r.baselineHeapMB * 1.2 + 4);
    },
    timeoutMs + 10_000,
  );
});

/**
 * CI guard for the benchmark harness: runs `bench/run.ts --smoke` (every system, tiny numbers,
 * a few seconds of load) as a child process and checks that it printed the tables with non-zero
 * delivered counts. It measures nothing: speed is judged by `pnpm bench`, never by a unit test.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function runSmoke(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@parley/source', '--import', 'tsx', join(benchDir, 'run.ts'), '--smoke'],
      { cwd: benchDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGINT'), 150_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Rows of the markdown table that follows `heading`, as arrays of cells. */
function rowsAfter(out: string, heading: string): string[][] {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.startsWith(heading));
  if (i < 0) return [];
  const rows: string[][] = [];
  for (let j = i + 1; j < lines.length; j++) {
    const l = lines[j]!;
    if (l.startsWith('#')) break;
    if (
      !l.startsWith('|') ||
      l.startsWith('| ---') ||
      l.startsWith('| system') ||
      l.startsWith('| package')
    )
      continue;
    rows.push(
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}
/** Header cells of the table that follows `heading`. */
function headerOf(out: string, heading: string): string[] {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.startsWith(heading));
  const h = lines.slice(i + 1).find((l) => l.startsWith('| system'));
  return (h ?? '')
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
}
const count = (cell: string | undefined) => Number((cell ?? '').split(' ')[0]!.replace(/,/g, ''));

describe('bench --smoke', () => {
  it('runs every system and prints the tables with deliveries', { timeout: 180_000 }, async () => {
    const { code, stdout, stderr } = await runSmoke();
    expect(code, stderr.slice(-2000)).toBe(0);

    const fixed = rowsAfter(stdout, '### Fixed rate');
    const systems = fixed.map((r) => r[0]);
    expect(systems).toEqual(
      expect.arrayContaining(['raw ws relay', 'Socket.IO 4.8', 'Parley (memory)']),
    );
    for (const r of fixed) expect(count(r[2]), `${r[0]} delivered`).toBeGreaterThan(0);

    // A ramp step may miss its latency budget on a busy CI machine: only check it ran.
    const rampRows = rowsAfter(stdout, '### Ramp');
    expect(rampRows.map((r) => r[0])).toEqual(expect.arrayContaining(systems));
    for (const r of rowsAfter(stdout, '### Memory per idle connection'))
      expect(count(r[1]), `${r[0]} idle connections`).toBeGreaterThan(0);
    const stormRows = rowsAfter(stdout, '### Reconnect storm');
    expect(stormRows.length).toBeGreaterThanOrEqual(3);
    const deliveredCol = headerOf(stdout, '### Reconnect storm').indexOf('delivered');
    expect(deliveredCol).toBeGreaterThan(0);
    for (const r of stormRows)
      expect(count(r[deliveredCol]), `${r[0]} storm delivered`).toBeGreaterThan(0);

    const bundles = rowsAfter(stdout, '## Client bundle');
    expect(bundles.map((r) => r[0])).toEqual(
      expect.arrayContaining(['@parley/client', 'socket.io-client', 'centrifuge', 'partysocket']),
    );
    // Measured from the packed tarball (needs `pnpm build`): a number, not an error.
    for (const r of bundles) expect(Number(r[3]), `${r[0]} min+gzip: ${r[3]}`).toBeGreaterThan(0);
    expect(stdout).toMatch(/## Targets/);
  });
});

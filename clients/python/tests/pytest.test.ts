/**
 * The Python kit in `pnpm test`: installs clients/python with pip from the repo path into a
 * fresh virtual environment (the versions of constraints.txt), then runs its pytest suite, which
 * starts real parley-server processes (and a TypeScript @parley/client for the cross-language
 * tests). Skipped LOUDLY without python3 (with venv and pip); under CI=true that fails instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KIT = resolve(import.meta.dirname, '..');
const PYTHON = process.env.PARLEY_PYTHON ?? 'python3';

const probe = spawnSync(PYTHON, [
  '-c',
  'import sys, venv, ensurepip; print(sys.version_info >= (3, 10))',
]);
const hasPython = probe.status === 0 && probe.stdout.toString().trim() === 'True';
if (!hasPython) {
  process.stderr.write(
    `\n!!! ${PYTHON} >= 3.10 with venv and pip not found: SKIPPING the Python kit's tests !!!\n\n`,
  );
}

it('python3 >= 3.10 with venv and pip is available (required under CI=true)', () => {
  expect(hasPython || process.env.CI !== 'true').toBe(true);
});

/** Runs a command; resolves with its exit code and output (stdout and stderr interleaved). */
function run(
  cmd: string,
  args: string[],
  options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }> {
  return new Promise((res) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    const timer = setTimeout(() => {
      output += `\n[killed after ${options.timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, output });
    });
  });
}

const tail = (s: string, n = 6000) => (s.length > n ? `…${s.slice(-n)}` : s);

describe.skipIf(!hasPython)('Python kit (clients/python)', () => {
  let venv = '';
  let installed: Promise<{ code: number | null; output: string }>;
  const bin = (name: string) => join(venv, 'bin', name);

  beforeAll(() => {
    venv = mkdtempSync(join(tmpdir(), 'parley-kit-venv-'));
    installed = (async () => {
      const made = await run(PYTHON, ['-m', 'venv', venv], { cwd: KIT, timeoutMs: 120_000 });
      if (made.code !== 0) return made;
      // No retries against an index this machine cannot reach (each one waits seconds); pip's
      // configured mirrors answer at once.
      return run(
        bin('pip'),
        ['install', '--quiet', '--disable-pip-version-check', '-c', 'constraints.txt', '.[test]'],
        { cwd: KIT, timeoutMs: 300_000, env: { PIP_RETRIES: process.env.PIP_RETRIES ?? '0' } },
      );
    })();
  });
  afterAll(async () => {
    if (venv !== '') await rm(venv, { recursive: true, force: true });
  }, 120_000);

  it('installs with pip from the repo path into a clean virtual environment', async () => {
    const r = await installed;
    expect(r.code, tail(r.output)).toBe(0);
    // The tests import the installed package, not the sources next to them.
    const where = await run(bin('python'), ['-c', 'import parley; print(parley.__file__)'], {
      cwd: KIT,
      timeoutMs: 30_000,
    });
    expect(where.output.trim()).toContain(join(venv, 'lib'));
  }, 330_000);

  it('passes its pytest suite against a real parley-server', async () => {
    expect((await installed).code).toBe(0);
    const report = join(venv, 'junit.xml');
    const r = await run(
      bin('python'),
      ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=${report}`],
      { cwd: KIT, timeoutMs: 300_000 },
    );
    expect(r.code, tail(r.output)).toBe(0);
    const xml = readFileSync(report, 'utf8');
    const count = (attr: string) => Number(new RegExp(`${attr}="(\\d+)"`).exec(xml)?.[1] ?? NaN);
    expect(count('tests')).toBeGreaterThan(50);
    expect(count('failures') + count('errors')).toBe(0);
    expect(count('skipped')).toBe(0);
    process.stdout.write(`pytest (clients/python): ${r.output.trim().split('\n').at(-1)}\n`);
  }, 330_000);
});

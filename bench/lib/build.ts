/**
 * Parley's servers run on what users install: the built packages (`dist/`, tsup), not the
 * TypeScript sources through tsx. tsx transpiles with esbuild's `keepNames`, which wraps every
 * named function in a `__name(…)` call — per closure created, on the hot path too — and that
 * shows in CPU and in memory per connection (issue #15: "measured on what users install").
 *
 * Before the runs, the packages a Parley server imports are built when their `dist/` is missing or
 * older than any of their sources. `--parley-from=source` (the smoke preset: CI builds first
 * anyway, and a smoke run must not race a concurrent build) runs the sources instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from './procs.js';

/** The workspace packages the Parley bench server imports. */
export const SERVER_PACKAGES = ['protocol', 'server-adapter'] as const;

const pkgDir = (p: string) => join(BENCH_DIR, '..', 'packages', p);

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const f = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(f) : statSync(f).mtimeMs);
  }
  return t;
}

/** Why a package's dist cannot be used as it is (null: it is up to date). */
export function staleness(pkg: string): string | null {
  const dir = pkgDir(pkg);
  const entry = join(dir, 'dist', 'index.js');
  if (!existsSync(entry)) return `${pkg}: no dist/index.js`;
  const src = Math.max(newest(join(dir, 'src')), statSync(join(dir, 'package.json')).mtimeMs);
  return src > statSync(entry).mtimeMs ? `${pkg}: sources newer than dist/` : null;
}

/**
 * Builds the server packages when needed. Returns what was done, for the report; throws when the
 * build fails (the bench must not silently measure stale code).
 */
export function ensureBuilt(log: (s: string) => void): string {
  const stale = SERVER_PACKAGES.map(staleness).filter((x): x is string => x !== null);
  if (!stale.length) return 'built packages (dist/ up to date)';
  log(`building ${SERVER_PACKAGES.join(', ')} (${stale.join('; ')})`);
  const t = Date.now();
  const filters = SERVER_PACKAGES.flatMap((p) => ['--filter', `@parley/${p}`]);
  const r = spawnSync('pnpm', [...filters, 'run', 'build'], {
    cwd: join(BENCH_DIR, '..'),
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `building ${SERVER_PACKAGES.join(', ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error)).slice(-800)}`,
    );
  }
  return `built packages (dist/, rebuilt in ${((Date.now() - t) / 1000).toFixed(0)} s: ${stale.join('; ')})`;
}

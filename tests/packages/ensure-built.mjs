#!/usr/bin/env node
// @ts-check
/**
 * Builds the packages whose dist is missing or older than their sources, and nothing else. Runs
 * before `pnpm test` and `pnpm check:packages` (root package.json), whose packaging checks work
 * on the packed tarballs, so that both work from a fresh clone; after `pnpm build` (CI) it only
 * looks at file times.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildProblem, ROOT, workspacePackages } from './packed.mjs';

const stale = workspacePackages().filter((p) => buildProblem(p) !== null);
if (stale.length > 0) {
  process.stderr.write(`ensure-built: building ${stale.map((p) => p.name).join(', ')}\n`);
  const filters = stale.flatMap((p) => ['--filter', p.name]);
  try {
    await promisify(execFile)('pnpm', [...filters, 'run', 'build'], {
      cwd: ROOT,
      timeout: 600_000,
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    const err = /** @type {{ stdout?: string, stderr?: string, message: string }} */ (e);
    process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}\nensure-built: ${err.message}\n`);
    process.exit(1);
  }
  const still = stale.map(buildProblem).filter((p) => p !== null);
  if (still.length > 0) {
    process.stderr.write(`ensure-built: still not built:\n  ${still.join('\n  ')}\n`);
    process.exit(1);
  }
}

/**
 * The browser bundle an app gets from npm (scripts/bundle-size.mjs: the packed tarballs installed
 * outside the workspace, esbuild for the browser, minified, gzip -9) stays free of Node built-ins,
 * of `ws` and of Zod, and within the budget CI enforces. Needs a build: `pnpm test` makes one
 * when it is missing or stale (tests/packages/ensure-built.mjs).
 */
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLIENT_BUNDLE_BUDGET_BYTES, measurePackedClient } from '../scripts/bundle-size.mjs';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('browser bundle of the packed client', () => {
  it(`has no Node built-ins, no ws, no Zod, and stays within ${CLIENT_BUNDLE_BUDGET_BYTES} B min+gzip`, {
    timeout: 180_000,
  }, async () => {
    const report = await measurePackedClient();
    expect(report.offenders).toEqual([]);
    // Everything comes from the app's node_modules (the installed tarballs), nothing from the
    // workspace's sources.
    expect(report.inputs.filter((i) => i !== 'entry.js' && !i.startsWith('node_modules/'))).toEqual(
      [],
    );
    expect(report.inputs).toContain('node_modules/@parley/client/dist/index.js');
    expect(report.inputs).toContain('node_modules/isomorphic-ws/browser.js');
    expect(report.inputs.filter((i) => /node_modules\/(ws|zod)\//.test(i))).toEqual([]);
    expect(report.gzip).toBeLessThanOrEqual(CLIENT_BUNDLE_BUDGET_BYTES);
  });

  it('the check catches a Node built-in', async () => {
    const run = promisify(execFile)(
      process.execPath,
      ['scripts/bundle-size.mjs', '--entry', 'test/fixtures/uses-node.ts'],
      { cwd: pkg },
    );
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('node:fs'),
    });
  });
});

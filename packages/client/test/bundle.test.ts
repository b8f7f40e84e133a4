/** The browser bundle must stay free of Node built-ins and small (README records the number). */
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('browser bundle', () => {
  it('has no Node built-ins and stays under socket.io-client (13 KB min+gzip)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['scripts/bundle-size.mjs', '--entry', 'src/index.ts', '--json'],
      { cwd: pkg },
    );
    const report = JSON.parse(stdout) as {
      min: number;
      gzip: number;
      offenders: string[];
      inputs: string[];
    };
    expect(report.offenders).toEqual([]);
    expect(report.inputs.some((i) => i.includes('isomorphic-ws/browser.js'))).toBe(true);
    expect(report.inputs.some((i) => /node_modules\/ws\//.test(i))).toBe(false);
    expect(report.gzip).toBeLessThan(13_000);
  });

  it('the check catches a Node built-in', async () => {
    const run = promisify(execFile)(
      process.execPath,
      ['scripts/bundle-size.mjs', '--entry', 'test/fixtures/uses-node.ts'],
      {
        cwd: pkg,
      },
    );
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('node:fs'),
    });
  });
});

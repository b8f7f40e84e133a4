/**
 * The conformance CLI (`parley-conformance`) against the standalone server CLI: both as child
 * processes, tokens from `--token-cmd`.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Cli, jwtAuth, killAll, ROOT, startCli, token } from './helpers.js';

let cli: Cli;
beforeAll(async () => {
  cli = await startCli({ auth: jwtAuth, logLevel: 'info' });
});
afterAll(killAll);

function conformance(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@parley/source',
        '--import',
        'tsx',
        resolve(ROOT, 'packages/conformance/src/cli.ts'),
        ...args,
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      res({ code, out });
    });
  });
}

it('parley-conformance passes against parley-server', async () => {
  const env = {
    TOKEN_a: await token('alice', { conversations: ['c1'] }),
    TOKEN_b: await token('bob', { conversations: ['c1'] }),
  };
  const r = await conformance(
    [cli.url, '--conversation', 'c1', '--token-cmd', 'printf %s "$TOKEN_{user}"'],
    env,
  );
  // Every check, resume.no_cursor included since issue 16's session start.
  expect(r.out).toContain('36 passed, 0 failed, 0 skipped — CONFORMS');
  expect(r.out).not.toMatch(/^(FAIL|SKIP) {2}/m);
  // The tokens it was given are not printed, even where the report quotes the server's frames.
  expect(r.out).not.toContain(env.TOKEN_a);
  expect(r.code).toBe(0);
});

it('parley-conformance exits 2 on a usage error', async () => {
  const r = await conformance([cli.url], {});
  expect(r.code).toBe(2);
  expect(r.out).toContain('--conversation is required');
});

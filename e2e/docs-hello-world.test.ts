/**
 * The hello world of docs/getting-started.md, run verbatim: its `file=` code blocks are written
 * to a scratch directory inside the workspace (so `@parley/*`, `ws`, `jose` and `tsx` resolve as
 * they would after the page's `npm install`), type-checked, and run as the page says — the server
 * in one process, the client in another — and the message must make the round trip.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CodeBlock, codeBlocks } from './markdown.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PAGE = `${ROOT}docs/getting-started.md`;
const DIR = `${ROOT}e2e/artifacts/hello-world-${process.pid}/`;
/** What the workspace's vitest runs give tsx: workspace packages as their TypeScript sources. */
const NODE_ARGS = ['--conditions=@parley/source', '--import', 'tsx'];

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(file: string, env: Record<string, string>): Run {
  const child = spawn(process.execPath, [...NODE_ARGS, file], {
    cwd: DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output: () => output, exited };
}

/** Resolves with the exit code, or rejects after `ms` (and kills the process). */
async function exitOf(r: Run, ms: number): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      r.child.kill('SIGKILL');
      reject(new Error(`no exit within ${ms} ms:\n${r.output()}`));
    }, ms);
  });
  try {
    return await Promise.race([r.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bare package names a file imports (`@scope/name/sub` → `@scope/name`), node: builtins left out. */
function importedPackages(code: string): string[] {
  const names = new Set<string>();
  for (const m of code.matchAll(/^import\s[^'"]*?from\s+'([^']+)'/gm)) {
    const spec = m[1]!;
    if (spec.startsWith('node:') || spec.startsWith('.')) continue;
    const parts = spec.split('/');
    names.add(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
  }
  return [...names];
}

describe('docs/getting-started.md hello world', () => {
  let files: CodeBlock[];
  let server: Run | undefined;

  beforeAll(() => {
    files = codeBlocks(PAGE).filter((b) => b.file !== undefined);
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(DIR, { recursive: true });
    // What `npm init -y && npm pkg set type=module` leaves, minus the dependencies (the workspace
    // provides them).
    writeFileSync(`${DIR}package.json`, `${JSON.stringify({ type: 'module' })}\n`);
    for (const f of files) writeFileSync(`${DIR}${f.file}`, f.code);
  });

  afterAll(async () => {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(DIR, { recursive: true, force: true });
  });

  it('is two complete files, and the page installs every package they import', () => {
    expect(files.map((f) => f.file)).toEqual(['server.ts', 'client.ts']);
    const installed = new Set(
      codeBlocks(PAGE)
        .filter((b) => b.lang === 'sh')
        .flatMap((b) => [...b.code.matchAll(/^npm install (?:--save-dev )?(.+)$/gm)])
        .flatMap((m) => m[1]!.split(/\s+/)),
    );
    for (const f of files) {
      for (const pkg of importedPackages(f.code))
        expect(installed, `${f.file}: ${pkg}`).toContain(pkg);
    }
    expect(installed).toContain('tsx'); // the page runs the files with `npx tsx`
  });

  it('type-checks under strict TypeScript', async () => {
    writeFileSync(
      `${DIR}tsconfig.json`,
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          customConditions: ['@parley/source'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: files.map((f) => f.file),
      }),
    );
    const tsc = spawn(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', DIR], {
      cwd: DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    tsc.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const code = await exitOf(
      { child: tsc, output: () => output, exited: new Promise((r) => tsc.once('exit', r)) },
      90_000,
    );
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 100_000);

  it('runs: the server issues tokens, Alice sends, Bob receives, the client exits', async () => {
    server = run('server.ts', { PORT: '0' });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server printed no URL:\n${server!.output()}`)),
        30_000,
      );
      const check = () => {
        const m = /Parley hello world on (http:\/\/localhost:\d+)/.exec(server!.output());
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      server!.child.stdout!.on('data', check);
      void server!.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}):\n${server!.output()}`));
      });
    });

    for (const n of [1, 2]) {
      const client = run('client.ts', { SERVER_URL: url });
      expect(await exitOf(client, 30_000), client.output()).toBe(0);
      expect(client.output()).toContain(`Alice's message is stored as #${n} in "lobby".`);
      expect(client.output()).toMatch(/Bob received "Hello Bob! \(.+\)" from Alice\.\n/);
    }

    // A request for someone who is not a user gets no token.
    expect((await fetch(`${url}/token?user=mallory`, { method: 'POST' })).status).toBe(404);

    // Ctrl+C: the server closes the hub and exits by itself.
    server.child.kill('SIGINT');
    expect(await exitOf(server, 15_000)).toBe(0);
  }, 90_000);
});

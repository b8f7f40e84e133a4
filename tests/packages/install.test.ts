/**
 * The packages as an app outside the workspace gets them: every tarball `pnpm pack` produces
 * (tests/packages/packed.mjs; `pnpm check:packages` packs them first in CI and this test reuses
 * them) is installed with `npm install` into a scratch app in the OS temp dir, with the peer
 * dependencies a user would add. Then every public entry (every subpath of every `exports` map)
 * is imported as ESM and required as CommonJS in plain Node (no private export condition), the
 * CLIs run, and `tsc` type-checks an app that imports every entry under the settings apps use:
 * node10 + CommonJS (Express/Nest), node16 (ESM and CJS files), bundler, and a browser app with
 * `lib: ["es2022", "dom"]` and no `@types/node`. `skipLibCheck` is off for our `.d.ts` files
 * (typecheck.mjs checks the app and them, not third-party declarations).
 *
 * Needs a build: `pnpm test` builds what is missing or stale first (ensure-built.mjs); run
 * directly, it fails with StaleBuildError rather than test an old build.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { type PackedPackage, packAll, ROOT, scratchApp } from './packed.mjs';

const run = promisify(execFile);
// Packing (each `pnpm pack` ≤ 300 s) and `npm install` (≤ 300 s), on a machine that may be busy.
const INSTALL_TIMEOUT_MS = 660_000;
/** tsc on the app's files and our declaration files (see typecheck.mjs). */
const TYPECHECK = join(ROOT, 'tests', 'packages', 'typecheck.mjs');
/** Generous: a few CPU-seconds each, but the machine may be shared and busy. */
const TSC_TIMEOUT_MS = 240_000;

/** Node without the workspace's settings: no `--conditions=@parley/source` sneaking in. */
const cleanEnv = (() => {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
})();

const devRange = (pkgJson: string, name: string): string => {
  const m = JSON.parse(readFileSync(join(ROOT, pkgJson), 'utf8'));
  return m.devDependencies[name];
};

interface Entry {
  pkg: string;
  specifier: string;
  json: boolean;
}

let packed: PackedPackage[];
let app: string;
let entries: Entry[];

beforeAll(async () => {
  packed = await packAll();
  // What an app adds next to our packages: every peer dependency (optional ones too, since the
  // test imports the entries that need them) and the type packages a TypeScript app installs.
  const deps: Record<string, string> = {
    '@types/node': devRange('package.json', '@types/node'),
    '@types/ws': devRange('package.json', '@types/ws'),
    '@types/react': devRange('packages/react/package.json', '@types/react'),
  };
  for (const p of packed) Object.assign(deps, p.manifest.peerDependencies);
  app = await scratchApp({ name: 'all', tarballs: packed.map((p) => p.tarball), deps });
  entries = [];
  for (const p of packed) {
    const installed = JSON.parse(
      readFileSync(join(app, 'node_modules', p.name, 'package.json'), 'utf8'),
    ) as { exports: Record<string, unknown> };
    for (const sub of Object.keys(installed.exports)) {
      if (sub === './package.json') continue;
      const specifier = sub === '.' ? p.name : `${p.name}/${sub.slice(2)}`;
      entries.push({ pkg: p.name, specifier, json: sub.endsWith('.json') });
    }
  }
}, INSTALL_TIMEOUT_MS);

async function node(file: string, source: string): Promise<string> {
  writeFileSync(join(app, file), source);
  const { stdout } = await run(process.execPath, [file], {
    cwd: app,
    env: cleanEnv,
    timeout: 60_000,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

describe('the packed tarballs, installed with npm outside the workspace', () => {
  it('install every package, outside the workspace, without sources', () => {
    expect(relative(ROOT, app).startsWith('..')).toBe(true);
    for (const p of packed) {
      const dir = join(app, 'node_modules', p.name);
      const installed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(installed.version).toBe(p.version);
      expect(JSON.stringify(installed)).not.toContain('@parley/source');
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toContain(
        'Copyright (c) 2026 Parley contributors',
      );
    }
    expect(entries.map((e) => e.specifier)).toEqual(
      expect.arrayContaining([
        '@parley/client',
        '@parley/protocol/core',
        '@parley/server-adapter/node',
        '@parley/server-adapter/fastify',
        '@parley/server-adapter/redis',
      ]),
    );
  });

  it('import every public entry as ESM and require it as CommonJS, with the same exports', async () => {
    const specs = JSON.stringify(entries);
    const esm = JSON.parse(
      await node(
        'imports.mjs',
        `const out = {};
for (const e of ${specs}) {
  const m = e.json ? await import(e.specifier, { with: { type: 'json' } }) : await import(e.specifier);
  out[e.specifier] = e.json ? Object.keys(m.default).sort() : Object.keys(m).sort();
}
const [a, b] = [await import('@parley/protocol'), await import('@parley/protocol/core')];
out.sameProtocolError = a.ProtocolError === b.ProtocolError;
console.log(JSON.stringify(out));`,
      ),
    );
    const cjs = JSON.parse(
      await node(
        'imports.cjs',
        `const out = {};
for (const e of ${specs}) out[e.specifier] = Object.keys(require(e.specifier)).sort();
out.sameProtocolError = require('@parley/protocol').ProtocolError === require('@parley/protocol/core').ProtocolError;
console.log(JSON.stringify(out));`,
      ),
    );
    for (const e of entries) {
      expect(esm[e.specifier], `${e.specifier} (ESM)`).not.toHaveLength(0);
      expect(cjs[e.specifier], `${e.specifier} (CJS)`).toEqual(esm[e.specifier]);
    }
    expect(esm.sameProtocolError).toBe(true);
    expect(cjs.sameProtocolError).toBe(true);
  });

  it('run the CLIs', async () => {
    for (const bin of ['parley-server', 'parley-conformance']) {
      const { stdout } = await run(join(app, 'node_modules', '.bin', bin), ['--help'], {
        cwd: app,
        env: cleanEnv,
        timeout: 60_000,
      });
      expect(stdout, bin).toContain('Usage');
    }
  });
});

/** The entries a browser app imports (no Node types available there). */
const BROWSER = [
  '@parley/client',
  '@parley/protocol',
  '@parley/protocol/core',
  '@parley/react',
  '@parley/vue',
];

/**
 * An app that imports every entry (namespace imports, so every export's type is resolved) and
 * uses the parts whose types were wrong once.
 */
function appSource(specifiers: string[], extra: string): string {
  const lines = specifiers.map((s, i) => `import * as e${i} from '${s}';`);
  lines.push(`export const all = [${specifiers.map((_, i) => `e${i}`).join(', ')}];`);
  return `${lines.join('\n')}\n${extra}\n`;
}

const clientUse = `
import { createClient } from '@parley/client';
const client = createClient({ url: 'ws://127.0.0.1:1', autoConnect: false });
// Typed in an app without the esnext.disposable lib or @types/node.
export const dispose: () => Promise<void> = () => client[Symbol.asyncDispose]();
// @ts-expect-error members tagged @internal are not in the published types
client.conversation('c')._receive;
`;

const configs: {
  name: string;
  compilerOptions: Record<string, unknown>;
  files: (code: string[]) => Record<string, string>;
}[] = [
  {
    // A common Express/Nest setup: CommonJS output, the old resolver that ignores `exports`.
    name: 'node10 + commonjs',
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', types: ['node'] },
    files: (code) => ({ 'app.ts': appSource(code, clientUse) }),
  },
  {
    name: 'node16 (ESM and CommonJS files)',
    compilerOptions: { module: 'node16', moduleResolution: 'node16', types: ['node'] },
    files: (code) => ({ 'app.mts': appSource(code, clientUse), 'app.cts': appSource(code, '') }),
  },
  {
    // With the esnext lib: our Symbol.asyncDispose declaration must merge with TypeScript's.
    name: 'bundler + lib esnext (await using)',
    compilerOptions: {
      module: 'esnext',
      moduleResolution: 'bundler',
      lib: ['esnext', 'dom'],
      types: ['node'],
    },
    files: (code) => ({
      'app.ts': appSource(
        code,
        `${clientUse}
export async function scoped(): Promise<void> {
  await using c = createClient({ url: 'ws://127.0.0.1:1', autoConnect: false });
  void c;
}`,
      ),
    }),
  },
  {
    name: 'browser app: bundler, lib es2022 + dom, no @types/node',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler', types: [] },
    files: () => ({ 'app.ts': appSource(BROWSER, clientUse) }),
  },
];

describe('tsc type-checks an app importing every public entry', () => {
  it.each(configs)('$name', { timeout: TSC_TIMEOUT_MS + 10_000 }, async (c) => {
    const code = entries.filter((e) => !e.json).map((e) => e.specifier);
    const dir = join(app, 'typecheck', c.name.replace(/[^a-z0-9]+/gi, '-'));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = c.files(code);
    for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
    const tsconfig = {
      compilerOptions: {
        target: 'es2022',
        lib: ['es2022', 'dom'],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        esModuleInterop: true,
        jsx: 'react-jsx',
        ...c.compilerOptions,
      },
      files: Object.keys(files),
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const output = await run(process.execPath, [TYPECHECK, dir], {
      env: cleanEnv,
      timeout: TSC_TIMEOUT_MS,
      maxBuffer: 16 << 20,
    }).then(
      () => '',
      (e: { stdout?: string; message: string }) => e.stdout || e.message,
    );
    expect(output).toBe('');
  });
});

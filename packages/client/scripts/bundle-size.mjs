#!/usr/bin/env node
/**
 * Bundles the client for the browser (esbuild, platform "browser", minified, every dependency
 * included: @parley/protocol, zod/mini, eventemitter3, isomorphic-ws's browser build), fails if
 * any Node built-in is imported, and prints the min and min+gzip sizes.
 *
 *   node scripts/bundle-size.mjs                 # the built ESM entry (dist/index.js)
 *   node scripts/bundle-size.mjs --entry src/index.ts   # straight from source (tests)
 *   node scripts/bundle-size.mjs --json          # machine-readable output
 */
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const entryArg = args.includes('--entry') ? args[args.indexOf('--entry') + 1] : 'dist/index.js';
const entry = resolve(pkgDir, entryArg);
const json = args.includes('--json');

if (!existsSync(entry)) {
  console.error(
    `bundle-size: ${entry} does not exist; run \`pnpm --filter @parley/client build\` first`,
  );
  process.exit(2);
}

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const offenders = [];

/** Records every import of a Node built-in (bare `fs` or `node:fs`), with who imported it. */
const noNodeBuiltins = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => {
      const root = a.path.startsWith('node:') ? a.path : a.path.split('/')[0];
      if (builtins.has(a.path) || builtins.has(root) || a.path.startsWith('node:')) {
        offenders.push(`${a.path} (imported by ${a.importer})`);
        return { path: a.path, external: true };
      }
      return undefined;
    });
  },
};

const result = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  metafile: true,
  // Workspace packages resolve to their sources, exactly like the app's bundler would to dist.
  conditions: ['@parley/source', 'browser', 'import', 'default'],
  mainFields: ['browser', 'module', 'main'],
  plugins: [noNodeBuiltins],
  logLevel: 'silent',
});

const code = result.outputFiles[0].contents;
const min = code.byteLength;
const gzip = gzipSync(code, { level: 9 }).byteLength;
const inputs = Object.keys(result.metafile.inputs);

if (json) {
  console.log(JSON.stringify({ min, gzip, offenders, inputs }));
} else {
  console.log(
    `@parley/client browser bundle: ${min} B min, ${gzip} B min+gzip (${(gzip / 1024).toFixed(1)} KiB)`,
  );
}
if (offenders.length > 0) {
  console.error(`bundle-size: Node built-ins in the browser bundle:\n  ${offenders.join('\n  ')}`);
  process.exit(1);
}

#!/usr/bin/env node
// @ts-check
/**
 * The browser bundle of `@parley/client` as an app gets it from npm: the packed tarballs of
 * `@parley/client` and `@parley/protocol` (`pnpm pack`, see tests/packages/packed.mjs) are
 * installed with `npm install` into a scratch app outside the workspace, and esbuild bundles
 * `export * from '@parley/client'` there — platform browser, ESM, minified, ES2022, no custom
 * export conditions (never the workspace's private `@parley/source`) — then gzip -9. Fails if any
 * Node built-in ends up in the bundle.
 *
 *   node scripts/bundle-size.mjs            # the whole public API (what CI checks)
 *   node scripts/bundle-size.mjs --all      # also smaller imports, Zod validation, socket.io-client
 *   node scripts/bundle-size.mjs --json     # machine-readable
 *   node scripts/bundle-size.mjs --entry test/fixtures/uses-node.ts   # bundle one file as is
 *
 * Needs a build (`pnpm build`). `test/bundle.test.ts` checks the budget below in `pnpm test`; the
 * benchmark's bundle table (bench/lib/bundle.ts) uses `bundleForBrowser` for every library.
 */
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { packAll, scratchApp } from '../../../tests/packages/packed.mjs';

/**
 * CI fails when the packed client's browser bundle (whole public API, min+gzip) exceeds this.
 * Issue 15's target is 10 KB ({@link CLIENT_BUNDLE_TARGET_BYTES}); until the client gets there the
 * budget is its measured size (12,376 B) rounded up to the next 100 B, so any growth fails CI.
 * Lower it whenever the client shrinks.
 */
export const CLIENT_BUNDLE_BUDGET_BYTES = 12_400;
/** Issue 15's target for the packed client bundle, min+gzip (the benchmark reports against it). */
export const CLIENT_BUNDLE_TARGET_BYTES = 10_000;

/**
 * @typedef {{ min: number, gzip: number, inputs: string[], offenders: string[] }} BundleSize
 */

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/**
 * Bundles `contents` (resolved from `resolveDir`) the way an app's bundler would for the browser.
 * @param {{ contents: string, resolveDir: string }} entry
 * @returns {Promise<BundleSize>}
 */
export async function bundleForBrowser({ contents, resolveDir }) {
  /** @type {string[]} */
  const offenders = [];
  /** @type {import('esbuild').Plugin} Records every import of a Node built-in, and who made it. */
  const noNodeBuiltins = {
    name: 'no-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (a) => {
        const root = a.path.split('/')[0] ?? '';
        if (a.path.startsWith('node:') || builtins.has(a.path) || builtins.has(root)) {
          offenders.push(`${a.path} (imported by ${a.importer})`);
          return { path: a.path, external: true };
        }
        return undefined;
      });
    },
  };
  const result = await build({
    stdin: { contents, resolveDir, sourcefile: 'entry.js' },
    absWorkingDir: resolveDir,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [noNodeBuiltins],
    logLevel: 'silent',
  });
  const code = /** @type {import('esbuild').OutputFile} */ (result.outputFiles[0]).contents;
  return {
    min: code.byteLength,
    gzip: gzipSync(code, { level: 9 }).byteLength,
    inputs: Object.keys(result.metafile.inputs),
    offenders,
  };
}

/**
 * A scratch app with the packed `@parley/client` (and the packed `@parley/protocol` it depends
 * on) installed by npm, plus `deps`.
 * @param {Record<string, string>} [deps]
 * @returns {Promise<string>} the app's directory
 */
export async function packedClientApp(deps = {}) {
  const packed = await packAll();
  const tarballs = packed
    .filter((p) => p.name === '@parley/client' || p.name === '@parley/protocol')
    .map((p) => p.tarball);
  return scratchApp({ name: Object.keys(deps).length ? 'client-plus' : 'client', tarballs, deps });
}

/** @returns {Promise<BundleSize>} the packed client's whole public API, bundled for the browser */
export async function measurePackedClient() {
  return bundleForBrowser({
    contents: "export * from '@parley/client';",
    resolveDir: await packedClientApp(),
  });
}

/** @param {BundleSize} s */
const line = (s) =>
  `${s.min.toLocaleString('en')} B min, ${s.gzip.toLocaleString('en')} B min+gzip (${(s.gzip / 1000).toFixed(1)} KB)`;

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const entryIndex = args.indexOf('--entry');
  /** @type {[string, BundleSize][]} */
  const rows = [];
  if (entryIndex !== -1) {
    const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
    const entry = resolve(pkgDir, args[entryIndex + 1] ?? '');
    rows.push([
      entry,
      await bundleForBrowser({
        contents: `export * from ${JSON.stringify(entry)};`,
        resolveDir: pkgDir,
      }),
    ]);
  } else {
    rows.push(['@parley/client, whole public API', await measurePackedClient()]);
    if (args.includes('--all')) {
      const app = await packedClientApp({ 'socket.io-client': '~4.8.1' });
      /** @type {[string, string][]} */
      const more = [
        [
          'createClient + localStorageOutbox',
          "export { createClient, localStorageOutbox } from '@parley/client';",
        ],
        [
          'the same + decodeServerFrame (full Zod validation)',
          "export { createClient, localStorageOutbox } from '@parley/client'; export { decodeServerFrame } from '@parley/protocol';",
        ],
        ['socket.io-client (npm)', "export * from 'socket.io-client';"],
      ];
      for (const [label, contents] of more) {
        rows.push([label, await bundleForBrowser({ contents, resolveDir: app })]);
      }
    }
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(rows.length === 1 ? rows[0]?.[1] : rows)}\n`);
  } else {
    for (const [label, s] of rows) process.stdout.write(`${label}: ${line(s)}\n`);
  }
  const offenders = rows.flatMap(([, s]) => s.offenders);
  if (offenders.length > 0) {
    process.stderr.write(
      `bundle-size: Node built-ins in the browser bundle:\n  ${offenders.join('\n  ')}\n`,
    );
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}

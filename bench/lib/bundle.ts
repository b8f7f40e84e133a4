/**
 * Client bundle sizes: each package's browser entry bundled by esbuild the same way (ESM,
 * platform browser, minified, everything the entry exports kept), then gzipped (level 9).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BENCH_DIR } from './procs.js';

export interface BundleResult {
  name: string;
  version: string;
  minBytes: number;
  gzipBytes: number;
  error?: string;
}

const PARLEY_CLIENT = join(BENCH_DIR, '..', 'packages', 'client', 'src', 'index.ts');

async function size(name: string, contents: string, version: string): Promise<BundleResult> {
  try {
    const out = await build({
      stdin: { contents, resolveDir: BENCH_DIR, loader: 'ts', sourcefile: `${name}-entry.ts` },
      bundle: true,
      write: false,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      conditions: ['@parley/source'],
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]!.contents;
    return { name, version, minBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
  } catch (e) {
    const msg = (e as { errors?: { text: string }[] }).errors?.[0]?.text ?? String(e);
    return { name, version, minBytes: Number.NaN, gzipBytes: Number.NaN, error: msg };
  }
}

async function versionOf(pkg: string): Promise<string> {
  try {
    const file = join(BENCH_DIR, 'node_modules', pkg, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

export async function bundleSizes(): Promise<BundleResult[]> {
  const results: BundleResult[] = [];
  if (existsSync(PARLEY_CLIENT)) {
    results.push(
      await size(
        '@parley/client',
        `export * from ${JSON.stringify(PARLEY_CLIENT)};`,
        await versionOf('@parley/client'),
      ),
    );
  } else {
    results.push({
      name: '@parley/client',
      version: '?',
      minBytes: Number.NaN,
      gzipBytes: Number.NaN,
      error: 'packages/client/src/index.ts does not exist yet',
    });
  }
  for (const pkg of ['socket.io-client', 'centrifuge', 'partysocket']) {
    results.push(await size(pkg, `export * from '${pkg}';`, await versionOf(pkg)));
  }
  return results;
}

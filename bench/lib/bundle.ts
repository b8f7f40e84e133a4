/**
 * Client bundle sizes, all measured by the client's own script (packages/client/scripts/
 * bundle-size.mjs) the same way: esbuild, ESM, platform browser, minified, ES2022, no custom
 * export conditions, gzip -9, everything the entry exports kept. `@parley/client` is measured as
 * npm users get it — its packed tarball installed with npm into a scratch app outside the
 * workspace, never through the private `@parley/source` condition; the other libraries come
 * from this package's node_modules (their published files). Needs `pnpm build`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bundleForBrowser,
  measurePackedClient,
  packedClientApp,
} from '../../packages/client/scripts/bundle-size.mjs';
import { BENCH_DIR } from './procs.js';

export interface BundleResult {
  name: string;
  version: string;
  minBytes: number;
  gzipBytes: number;
  error?: string;
}

const failed = (name: string, version: string, e: unknown): BundleResult => {
  const msg = (e as { errors?: { text: string }[] }).errors?.[0]?.text ?? String(e);
  return { name, version, minBytes: Number.NaN, gzipBytes: Number.NaN, error: msg };
};

function versionOf(dir: string, pkg: string): string {
  try {
    const file = join(dir, 'node_modules', pkg, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

export async function bundleSizes(): Promise<BundleResult[]> {
  const results: BundleResult[] = [];
  try {
    const s = await measurePackedClient();
    const version = versionOf(await packedClientApp(), '@parley/client');
    results.push({ name: '@parley/client', version, minBytes: s.min, gzipBytes: s.gzip });
  } catch (e) {
    results.push(failed('@parley/client', '?', e));
  }
  for (const pkg of ['socket.io-client', 'centrifuge', 'partysocket']) {
    const version = versionOf(BENCH_DIR, pkg);
    try {
      const s = await bundleForBrowser({
        contents: `export * from '${pkg}';`,
        resolveDir: BENCH_DIR,
      });
      results.push({ name: pkg, version, minBytes: s.min, gzipBytes: s.gzip });
    } catch (e) {
      results.push(failed(pkg, version, e));
    }
  }
  return results;
}

/**
 * The Bun and Deno binaries the repository pins (root devDependencies `bun` and `deno`: their npm
 * packages ship the binaries), resolved from node_modules rather than PATH so every test runs the
 * pinned versions.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The command line that runs a runtime's binary, `[file, leading args]`. */
export function runtimeBinary(name: 'bun' | 'deno'): [string, string[]] {
  const dir = dirname(require.resolve(`${name}/package.json`));
  if (name === 'bun') {
    // The package ships a small placeholder that its postinstall script replaces with the binary
    // (pnpm 9 runs install scripts; with an allow-list, `bun` must be on it).
    const bin = join(dir, 'bin', 'bun.exe');
    if (!existsSync(bin) || statSync(bin).size < 1_000_000) {
      throw new Error(`bun: ${bin} is not the binary: its postinstall script did not run`);
    }
    return [bin, []];
  }
  const bin = join(dir, process.platform === 'win32' ? 'deno.exe' : 'deno');
  // Without its postinstall, deno's launcher finds the binary in its platform package itself.
  return existsSync(bin) ? [bin, []] : [process.execPath, [join(dir, 'bin.cjs')]];
}

/** The arguments that run a TypeScript file of this repository from its sources. */
export function runArgs(name: 'bun' | 'deno', file: string): string[] {
  return name === 'bun'
    ? ['--conditions=@parley/source', file]
    : [
        'run',
        '--allow-net=127.0.0.1',
        '--allow-read',
        '--allow-env',
        '--no-lock',
        '--quiet',
        // The sources import './x.js' for './x.ts' (TypeScript's NodeNext convention).
        '--unstable-sloppy-imports',
        '--conditions=@parley/source',
        file,
      ];
}

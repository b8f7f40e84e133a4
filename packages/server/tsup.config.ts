import { defineConfig } from 'tsup';
import { dts } from '../../tsup.base.js';

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    external: ['@parley/protocol', '@parley/server-adapter', 'jose', 'ws', 'zod', 'ioredis'],
  },
  {
    // The CLI: ESM only, with its shebang.
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'es2022',
    external: ['@parley/protocol', '@parley/server-adapter', 'jose', 'ws', 'zod', 'ioredis'],
  },
]);

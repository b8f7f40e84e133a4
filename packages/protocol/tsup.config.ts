import { defineConfig } from 'tsup';
import { dts } from '../../tsup.base.js';

export default defineConfig({
  // Two entries: `core` (no Zod; what browser clients import) and `index` (everything). Shared
  // code is split into chunks in both formats, so `ProtocolError` is one class whichever entry
  // an app imports it from.
  entry: { index: 'src/index.ts', core: 'src/core.ts' },
  format: ['esm', 'cjs'],
  splitting: true,
  // Rollup re-bundles esbuild's output. Without it tsup turns the split ESM chunks into CommonJS
  // with sucrase, whose source maps name the build machine's absolute dist path as a source
  // (with no content); rollup chains the maps back to `../src/*.ts` with their sources embedded.
  treeshake: true,
  dts,
  sourcemap: true,
  clean: true,
  target: 'es2022',
});

import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entries: `core` (no Zod; what browser clients import) and `index` (everything). Shared
  // code is split into chunks in both formats, so `ProtocolError` is one class whichever entry
  // an app imports it from.
  entry: { index: 'src/index.ts', core: 'src/core.ts' },
  format: ['esm', 'cjs'],
  splitting: true,
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
});

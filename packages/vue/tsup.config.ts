import { defineConfig } from 'tsup';
import { dts } from '../../tsup.base.js';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['@parley/client', 'vue'],
});

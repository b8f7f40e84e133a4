import { defineConfig } from 'tsup';
import { dtsWithAsyncDispose as dts } from '../../tsup.base.js';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Resolved by the app's bundler: the browser gets isomorphic-ws's browser build (no `ws`).
  external: ['@parley/protocol', 'eventemitter3', 'isomorphic-ws'],
});

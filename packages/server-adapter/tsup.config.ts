import { defineConfig } from 'tsup';
import { dtsWithAsyncDispose as dts } from '../../tsup.base.js';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'adapters/node': 'src/adapters/node.ts',
    'adapters/fastify': 'src/adapters/fastify.ts',
    'adapters/bun': 'src/adapters/bun.ts',
    'adapters/deno': 'src/adapters/deno.ts',
    'adapters/crossws': 'src/adapters/crossws.ts',
    'engines/redis/index': 'src/engines/redis/index.ts',
  },
  format: ['esm', 'cjs'],
  dts,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Peer dependencies stay external.
  external: ['ws', 'fastify', '@fastify/websocket', 'ioredis', '@parley/protocol'],
});

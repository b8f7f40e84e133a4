import { defineConfig } from 'tsup';

export default defineConfig({
  // The Redis engine (src/engines/redis) is added to the entries with its export.
  entry: {
    index: 'src/index.ts',
    'adapters/node': 'src/adapters/node.ts',
    'adapters/fastify': 'src/adapters/fastify.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Peer dependencies stay external.
  external: ['ws', 'fastify', '@fastify/websocket', 'ioredis', '@parley/protocol'],
});

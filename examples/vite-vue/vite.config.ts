import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

/**
 * msw's browser integration registers `/mockServiceWorker.js`. Served and emitted straight from
 * the installed msw (so it always matches its version) instead of a copy checked into `public/`.
 */
function mswWorker(): Plugin {
  const file = createRequire(import.meta.url).resolve('msw/mockServiceWorker.js');
  return {
    name: 'msw-worker',
    configureServer(server) {
      server.middlewares.use('/mockServiceWorker.js', (_req, res) => {
        res.setHeader('Content-Type', 'text/javascript');
        res.end(readFileSync(file));
      });
    },
    generateBundle() {
      this.emitFile({
        type: 'asset',
        fileName: 'mockServiceWorker.js',
        source: readFileSync(file),
      });
    },
  };
}

export default defineConfig({
  plugins: [mswWorker()],
  // Workspace packages are used from their TypeScript sources (no build step needed).
  resolve: { conditions: ['@parley/source', ...defaultClientConditions] },
  // Vue's esm-bundler build expects its feature flags from the bundler.
  define: {
    __VUE_OPTIONS_API__: 'true',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
  },
  build: { chunkSizeWarningLimit: 1024 },
});

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
  // JSX through esbuild's automatic runtime: no React plugin needed.
  esbuild: { jsx: 'automatic' },
  build: { chunkSizeWarningLimit: 1024 },
});

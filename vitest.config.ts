import { defineConfig } from 'vitest/config';

// One test command for the whole repo (`pnpm test`). Workspace packages resolve to their
// TypeScript sources through the `@parley/source` export condition, so tests need no build.
export default defineConfig({
  resolve: { conditions: ['@parley/source'] },
  ssr: { resolve: { conditions: ['@parley/source'] } },
  test: {
    // CI also writes a JSON report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: 'test-results.json' }]]
      : ['default'],
    include: [
      'packages/*/test/**/*.test.ts',
      'packages/*/test/**/*.test.tsx',
      'examples/*/test/**/*.test.ts',
      'e2e/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'tests/reliability/**/*.test.ts',
      'tests/packages/**/*.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    typecheck: {
      enabled: true,
      include: ['packages/*/test/**/*.test-d.ts'],
      tsconfig: './tsconfig.typetests.json',
    },
  },
});

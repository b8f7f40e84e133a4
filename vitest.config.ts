import { defineConfig } from 'vitest/config';

// One test command for the whole repo (`pnpm test`). Workspace packages resolve to their
// TypeScript sources through the `@parley/source` export condition, so tests need no build.
// The type tests (`packages/*/test/**/*.test-d.ts`) are compile-time checks: `pnpm typecheck` runs
// them with tsc (tsconfig.typetests.json). Vitest's own `typecheck` mode would print an
// "experimental feature" warning on every run.
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
      'clients/*/tests/**/*.test.ts',
      'e2e/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'tests/reliability/**/*.test.ts',
      'tests/packages/**/*.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});

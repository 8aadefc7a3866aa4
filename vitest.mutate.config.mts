import { defineConfig } from 'vitest/config';

// The unit tests that cover src/policy, src/feed and src/lockfile, without the real-install
// suites (pnpm, Yarn, npm): `npm run mutate` runs them once per mutant.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/pnpm*.test.ts', 'test/yarn*.test.ts', 'test/npm*.test.ts', 'test/bun*.test.ts', 'test/demo*.test.ts', 'test/registry.smoke.test.ts', 'test/lockfile-perf.test.ts', 'test/lockfile-pnpm-hook.test.ts', 'test/cli*.test.ts', 'test/init*.test.ts', 'test/verify*.test.ts', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/global-tmpdir.ts'],
  },
});

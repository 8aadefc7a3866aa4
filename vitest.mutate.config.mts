import { defineConfig } from 'vitest/config';

// `npm run mutate` runs these once per mutant (only the tests that cover it): the in-process unit
// suites that import src/policy, src/lockfile, src/feed and src/verify's comparison, and (the
// mutate:yarn, mutate:pnpm, mutate:bun, mutate:store, mutate:evidence and mutate:config scripts) the
// adapters' decisions, the verdict store, the evidence sources and the config. No real installs, no CLI child processes
// (a child runs dist/, never the mutated source; so do the package managers, which load the
// bundles), no slow download suites.
// One group at a time: `npx stryker run --mutate 'src/lockfile/**/*.ts' --testFiles <its files>`.
const policy = [
  'test/integrity.test.ts',
  'test/policy.test.ts',
  'test/policy-boundaries.test.ts',
  'test/policy-messages.test.ts',
  'test/terminal-escape.test.ts',
  'test/verify-units.test.ts',
  'test/verdict-store.test.ts',
  'test/feed-remote.test.ts',
];
const lockfile = [
  'test/lockfile.test.ts',
  'test/lockfile-*.test.ts',
  'test/source.test.ts',
  'test/check-trust.test.ts',
  'test/pnpm-hooks.test.ts',
  'test/pnpm-classify.test.ts',
  'test/bun-scanner.test.ts',
  'test/yarn.locators.test.ts',
];
const feed = ['test/feed*.test.ts'];
// src/verify's comparison (compare.ts, manifest.ts, tarball.ts): the suites that call it in process.
const verify = [
  'test/verify-compare-units.test.ts',
  'test/verify-install-time.test.ts',
  'test/verify-registry-manifest.test.ts',
  'test/verify-tarball-hostile.test.ts',
  'test/verify-tarball-units.test.ts',
  'test/verify-source-links.test.ts',
  'test/verify-source-limits.test.ts',
];

// The Yarn plugin's in-process suites (its stored verdict, the fetch step's expectations, the verified archives).
const yarn = [
  'test/yarn-verdict-reuse.test.ts',
  'test/yarn-fetch-policy.test.ts',
  'test/yarn-verified-archives.test.ts',
  'test/yarn-lockfile-state.test.ts',
  'test/yarn-agreement-units.test.ts',
];

// The pnpm hooks' in-process suites (what readPackage and preResolution decide, pnpm-lock.yaml on disk).
const pnpm = ['test/pnpm-hooks.test.ts', 'test/pnpm-classify.test.ts', 'test/pnpm-agreement.test.ts', 'test/pnpm-disk-lockfile.test.ts', 'test/pnpm-declared-specs.test.ts', 'test/pnpm-used-part.test.ts', 'test/pnpm-selection.test.ts', 'test/pnpm-verdict-log.test.ts', 'test/pnpm-verdict-reuse.test.ts'];

// The live evidence sources against local servers with the services' response shapes (provenance verified with Sigstore).
const evidence = ['test/evidence-units.test.ts', 'test/evidence-sources.test.ts', 'test/evidence-faults.test.ts', 'test/evidence-repository.test.ts', 'test/evidence-registry.test.ts', 'test/evidence-provenance.test.ts'];

// The config: what .provenancerc may say, how it is found and read, and the mode a broken one still declares.
const config = ['test/config.test.ts', 'test/config-yaml.test.ts', 'test/config-validate.test.ts', 'test/config-discovery.test.ts', 'test/config-memo.test.ts', 'test/warn-means-warn.test.ts', 'test/hostile-inputs.test.ts'];

// The verdict store every adapter and `check` reuse through (src/verdict-store.ts), and the config it remembers.
const store = ['test/verdict-store.test.ts', 'test/config-memo.test.ts', 'test/yarn-verdict-reuse.test.ts', 'test/machine-secret.test.ts'];

export default defineConfig({
  test: {
    include: [...policy, ...lockfile, ...feed, ...verify, ...yarn, ...store, ...pnpm, ...evidence, ...config],
    exclude: ['test/lockfile-perf.test.ts', 'test/lockfile-pnpm-hook.test.ts', 'test/feed-download.test.ts', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/global-tmpdir.ts'],
  },
});

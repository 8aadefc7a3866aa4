import type { Config } from './types';

export const DEFAULT_FEED_SOURCE = './.provenance/feed';

/** The policy used for every key the config leaves out. */
export function defaultConfig(rootDir: string): Config {
  return {
    mode: 'warn',
    feed: {
      source: DEFAULT_FEED_SOURCE,
      publicKeys: [],
      maxAge: 7 * 86_400_000,
      onStale: 'warn',
      offline: false,
      minSerial: 0,
    },
    rules: {
      repository: { require: 'claimed', allowedHosts: [] },
      rebuild: { require: 'off' },
      scorecard: null,
      contents: { require: 'off' },
    },
    unknown: 'warn',
    exclude: [],
    overrides: [],
    sources: {
      registry: { enabled: true },
      provenance: { enabled: true },
      depsDev: { enabled: true, url: 'https://api.deps.dev' },
      scorecard: { enabled: true, url: 'https://api.securityscorecards.dev' },
      ossRebuild: { enabled: true, url: 'https://storage.googleapis.com/google-rebuild-attestations' },
      timeout: 10_000,
      concurrency: 8,
      cacheTtl: 86_400_000,
      onError: 'warn',
    },
    online: false,
    rootDir,
  };
}

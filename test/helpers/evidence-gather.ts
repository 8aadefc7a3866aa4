/**
 * gatherEvidence as the evidence tests run it: against local servers, with a HOME and a project
 * that hold no npm configuration of this machine's, a fresh cache per call, and every temp dir
 * removed after the test file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SourcesConfig } from '../../src/config/types';
import { gatherEvidence, type GatherOptions } from '../../src/evidence/index';
import type { ResolvedPackage } from '../../src/types';
import { tempDirs } from './temp';

const OFF = { enabled: false };

/** The registry at `registryUrl` and no other source (unless `over` turns one on). */
export function registryOnly(registryUrl: string, over: Partial<SourcesConfig> = {}): SourcesConfig {
  return { registry: { enabled: true, url: registryUrl }, provenance: OFF, depsDev: OFF, scorecard: OFF, ossRebuild: OFF, timeout: 2000, concurrency: 4, cacheTtl: 0, onError: 'warn', ...over };
}

export interface EvidenceHarness {
  /** A temp dir, removed after the test file. */
  tmp(): string;
  /** The isolated HOME (no ~/.npmrc, no global npmrc). */
  readonly home: string;
  gather(packages: ResolvedPackage[], sources: SourcesConfig, extra?: Partial<GatherOptions>): ReturnType<typeof gatherEvidence>;
}

/** Call at the top of a test file: registers the clean-up of its temp dirs. */
export function evidenceHarness(prefix: string): EvidenceHarness {
  const temp = tempDirs(prefix);
  const tmp = (): string => temp();
  const home = tmp();
  const project = tmp();
  writeFileSync(join(project, 'package.json'), '{}');
  return {
    tmp,
    home,
    gather: (packages, sources, extra = {}) =>
      gatherEvidence(packages, {
        sources,
        cacheDir: tmp(),
        npmrc: { cwd: project },
        env: { HOME: home, npm_config_globalconfig: join(home, 'no-global-npmrc') },
        trustedRoot: 'bundled',
        ...extra,
      }),
  };
}

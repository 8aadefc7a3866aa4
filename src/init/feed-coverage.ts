/**
 * Which evidence a feed actually carries, so `init` enables only rules that can pass: a rule
 * whose evidence most records lack would flag nearly every package as "evidence missing".
 */
import { FeedError } from '../errors';
import { resolveFeedSource } from '../feed/source';
import { feedRecords, openBase } from '../feed/update';
import type { FeedRecord } from '../types';

export interface FeedCoverage {
  records: number;
  repository: number;
  rebuild: number;
  scorecard: number;
  contents: number;
}

export interface CoverageOptions {
  source: string;
  rootDir: string;
  publicKeys: string[];
  cacheDir: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
}

function count(coverage: FeedCoverage, record: FeedRecord): void {
  coverage.records++;
  if (record.repository?.status !== undefined) coverage.repository++;
  if (record.rebuild?.verdict === 'reproducible' || record.rebuild?.verdict === 'not-reproducible') coverage.rebuild++;
  if (typeof record.scorecard?.score === 'number') coverage.scorecard++;
  if (record.contents?.verdict !== undefined && record.contents.verdict !== 'inconclusive') coverage.contents++;
}

/** Opens the feed (verified against the keys, every byte) and counts the records carrying each kind of evidence. */
export async function feedCoverage(options: CoverageOptions): Promise<FeedCoverage> {
  if (options.publicKeys.length === 0) throw new FeedError('cannot open the feed without its public key (--public-key FILE)');
  const path = await resolveFeedSource({ source: options.source, rootDir: options.rootDir, offline: false, cacheDir: options.cacheDir, stateDir: options.stateDir, env: options.env, publicKeys: options.publicKeys });
  const base = openBase(path, options.publicKeys, options.stateDir);
  const coverage: FeedCoverage = { records: 0, repository: 0, rebuild: 0, scorecard: 0, contents: 0 };
  try {
    for await (const record of feedRecords(base.path)) count(coverage, record);
  } finally {
    base.dispose();
  }
  return coverage;
}

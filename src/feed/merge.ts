/**
 * `feed merge`: one signed feed from the records files of several `feed build --shard` jobs.
 * The feed's bytes depend only on the set of records, the key, the serial and the dates
 * (buildFeed orders records by bucket and name@version, Ed25519 signatures are deterministic),
 * so with the same --serial and --generated-at it is identical whatever the shard count.
 * A name@version in two files is refused (shards never overlap: a file given twice, or shards
 * of different lists, would).
 */
import { existsSync } from 'node:fs';
import { RecordsError } from '../errors';
import type { FeedRecord } from '../types';
import { buildFeed, type BuildFeedOptions } from './build';
import type { FeedHeader } from './format';
import { readRecordsFile } from './records';

async function* concatRecords(paths: readonly string[]): AsyncIterable<FeedRecord> {
  for (const path of paths) yield* readRecordsFile(path);
}

export interface MergeFeedOptions extends Omit<BuildFeedOptions, 'records'> {
  recordFiles: readonly string[];
}

export async function mergeFeed(options: MergeFeedOptions): Promise<{ path: string; header: FeedHeader }> {
  const { recordFiles, ...rest } = options;
  if (recordFiles.length === 0) throw new RecordsError('feed merge: no records files given');
  const seen = new Set<string>();
  for (const path of recordFiles) {
    if (!existsSync(path)) throw new RecordsError(`${path}: records file not found`, { file: path });
    if (seen.has(path)) throw new RecordsError(`${path}: records file given twice`, { file: path });
    seen.add(path);
  }
  return buildFeed({ ...rest, records: concatRecords(recordFiles) });
}

/**
 * Deterministic shards of a package list, for building a feed on many machines at once:
 * a package belongs to shard (hash(name@version) mod n) + 1, whatever else is in the list, so
 * every CI job of a matrix can pick its part of the same list independently.
 */
import { UsageError } from '../errors';
import { keyHash, recordKey } from './format';

export interface Shard {
  /** 1-based, as `--shard 2/8` and GitLab's CI_NODE_INDEX count. */
  index: number;
  count: number;
}

const MAX_SHARDS = 10_000;

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || !(count >= 1 && count <= MAX_SHARDS) || !(index >= 1 && index <= count)) {
    throw new UsageError(`--shard must be I/N with 1 ≤ I ≤ N ≤ ${MAX_SHARDS} (e.g. 2/8), got "${text}"`);
  }
  return { index, count };
}

export function shardOf(name: string, version: string, count: number): number {
  return (keyHash(recordKey(name, version)) % count) + 1;
}

export function inShard<T extends { name: string; version: string }>(items: readonly T[], shard: Shard): T[] {
  return items.filter((item) => shardOf(item.name, item.version, shard.count) === shard.index);
}

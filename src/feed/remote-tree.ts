/**
 * A schema 3 feed read over HTTP range requests: only the pages on the paths of the packages
 * looked up, fetched level by level (the root, then every level-1 page the batch needs, …, then
 * the buckets), adjacent and near ranges of a level in one request. Each page is checked against
 * the hash its (already verified) parent holds before it is kept, and kept on disk under its own
 * SHA-256: a cached page is read again only if it still hashes to that name, so a tampered cache
 * entry is dropped and fetched again, never used. Pages unchanged between two feeds are reused.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempPathFor } from '../atomic';
import { readCacheFile } from '../cache-file';
import { FeedError } from '../errors';
import type { Preamble } from './preamble';
import { childOf, pathPosition, sha256Of, type PageRef } from './tree';
import { TreeReader, type PageSource } from './tree-reader';

/** What fetches byte ranges of the feed (the remote's RangeClient). */
export interface RangeFetcher {
  get(start: number, end: number): Promise<{ body: Buffer }>;
}

/** Pages closer than this are fetched in one request (about what a request's headers cost). */
const MERGE_GAP = 1024;
const CONCURRENCY = 8;

/** Verified pages: in memory for this process, on disk under their SHA-256 for the next. */
export class PageStore implements PageSource {
  private readonly memory = new Map<string, Buffer>();
  constructor(private readonly dir: string, private readonly label: string) {}

  private file(hex: string): string {
    return join(this.dir, hex.slice(0, 2), hex);
  }

  /** The page's bytes if held and still matching its hash; a cache file that does not match is removed. */
  load(ref: PageRef): Buffer | undefined {
    if (ref.length === 0) return Buffer.alloc(0);
    const hex = ref.sha256.toString('hex');
    const held = this.memory.get(hex);
    if (held) return held;
    // At most the page's length, a regular file only (a restored cache may hold anything there).
    const bytes = readCacheFile(this.file(hex), ref.length);
    if (!bytes) {
      // Missing, or not a page (too long, not a regular file): whatever is there makes way for the fetched page.
      try {
        rmSync(this.file(hex), { force: true });
      } catch {
        // a directory: the put that follows reports it
      }
      return undefined;
    }
    if (bytes.length !== ref.length || !sha256Of(bytes).equals(ref.sha256)) {
      rmSync(this.file(hex), { force: true });
      return undefined;
    }
    this.memory.set(hex, bytes);
    return bytes;
  }

  /**
   * Keeps bytes already checked against ref's hash: written aside, then renamed into place. No
   * fsync (thousands of pages a check): a page torn by a crash fails its hash and is fetched again.
   */
  put(ref: PageRef, bytes: Buffer): void {
    const hex = ref.sha256.toString('hex');
    const file = this.file(hex);
    const tmp = tempPathFor(file);
    const failed = (error: unknown) => new FeedError(`cannot write the page cache ${file}: ${(error as Error).message}`, { file, cause: error });
    try {
      // A cache folder that cannot be made is a FeedError too, not a raw ENOTDIR.
      mkdirSync(dirname(file), { recursive: true });
    } catch (error) {
      throw failed(error);
    }
    try {
      writeFileSync(tmp, bytes, { flag: 'wx' });
      renameSync(tmp, file);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw failed(error);
    }
    this.memory.set(hex, bytes);
  }

  /** For lookups: the reader checks the hash again. */
  read(ref: PageRef): Buffer {
    const bytes = this.load(ref);
    if (!bytes) throw new FeedError(`page ${ref.level}/${ref.position} of the feed ${this.label} is not cached (run once online)`, { file: this.label, code: 'ERR_PG_FEED_OFFLINE' });
    return bytes;
  }
}

/** Byte ranges covering the pages (sorted by offset), near ones merged. */
export function coalesce(refs: readonly PageRef[], gap = MERGE_GAP): { start: number; end: number; refs: PageRef[] }[] {
  const ranges: { start: number; end: number; refs: PageRef[] }[] = [];
  for (const ref of [...refs].sort((a, b) => a.offset - b.offset)) {
    const last = ranges[ranges.length - 1];
    if (last && ref.offset - last.end <= gap) {
      last.end = Math.max(last.end, ref.offset + ref.length);
      last.refs.push(ref);
    } else {
      ranges.push({ start: ref.offset, end: ref.offset + ref.length, refs: [ref] });
    }
  }
  return ranges;
}

export interface TreeFetch {
  store: PageStore;
  client: RangeFetcher;
  preamble: Preamble;
  offline: boolean;
  url: string;
}

/** Fetches the pages that are missing, checking each against its parent's hash before keeping it. */
async function fetchPages(t: TreeFetch, refs: PageRef[]): Promise<void> {
  const missing = refs.filter((ref) => t.store.load(ref) === undefined);
  if (missing.length === 0) return;
  if (t.offline) throw new FeedError(`offline, and ${missing.length} page${missing.length === 1 ? '' : 's'} of the feed from ${t.url} are not cached (run once online)`, { code: 'ERR_PG_FEED_OFFLINE' });
  const ranges = coalesce(missing);
  const bodyStart = t.preamble.bodyStart;
  let next = 0;
  const worker = async () => {
    while (next < ranges.length) {
      const range = ranges[next++]!;
      const { body } = await t.client.get(bodyStart + range.start, bodyStart + range.end);
      if (body.length !== range.end - range.start) throw new FeedError(`GET ${t.url}: a range request returned ${body.length} bytes, expected ${range.end - range.start}`, { code: 'ERR_PG_FEED_DOWNLOAD' });
      for (const ref of range.refs) {
        const bytes = Buffer.from(body.subarray(ref.offset - range.start, ref.offset - range.start + ref.length));
        if (!sha256Of(bytes).equals(ref.sha256)) {
          throw new FeedError(`GET ${t.url}: bytes ${bodyStart + ref.offset}-${bodyStart + ref.offset + ref.length - 1} (page ${ref.level}/${ref.position}) do not match the signed feed; the server sent other bytes`, { code: 'ERR_PG_FEED_CORRUPT' });
        }
        t.store.put(ref, bytes);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ranges.length) }, worker));
}

/** Every page on the paths to these packages' buckets, level by level from the root. */
export async function prefetchTree(t: TreeFetch, packages: readonly { name: string; version: string }[]): Promise<void> {
  const reader = new TreeReader(t.preamble.header, t.store, t.url);
  const fanout = t.preamble.header.fanout!;
  const buckets = [...new Set(packages.map((p) => reader.bucketOf(p.name, p.version)))];
  if (buckets.length === 0) return;
  let level = new Map<number, PageRef>([[0, reader.root]]);
  for (;;) {
    const refs = [...level.values()];
    await fetchPages(t, refs);
    const depth = refs[0]!.level;
    if (depth === 0) return;
    const below = new Map<number, PageRef>();
    for (const bucket of buckets) {
      const position = pathPosition(bucket, depth - 1, fanout);
      if (below.has(position)) continue;
      const parent = level.get(pathPosition(bucket, depth, fanout))!;
      below.set(position, childOf(reader.page(parent), parent.level, parent.position, position - parent.position * fanout, fanout));
    }
    level = below;
  }
}

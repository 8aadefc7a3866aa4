/**
 * `feed update`: a new feed from a verified base feed plus what is new. The base is copied
 * first and every byte of the copy is verified, so the records kept are exactly the ones the
 * signature covers; the new feed gets a serial above the base's and above any feed at --out.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { FeedError } from '../errors';
import type { FeedRecord, ResolvedPackage } from '../types';
import { buildFeed, resolveOut } from './build';
import { decodeBucket, decodeIndexEntry, INDEX_ENTRY_BYTES, recordKey, type FeedHeader } from './format';
import { readPreamble, type LayoutHeader } from './preamble';
import { TreeReader, treeBuckets } from './tree-reader';
import { openFeed, verifyFeed } from './reader';

export interface VerifiedBase {
  /** A private, verified copy of the base feed. */
  path: string;
  header: FeedHeader;
  /** name@version keys of `packages` the base has no record for. */
  has(name: string, version: string): boolean;
  dispose(): void;
}

/** Copies the base feed aside and verifies every byte against `publicKeys`. */
export function openBase(basePath: string, publicKeys: string[], stateDir: string): VerifiedBase {
  const dir = mkdtempSync(join(tmpdir(), 'pg-feed-base-'));
  const path = join(dir, 'provenance.feed');
  try {
    copyFileSync(basePath, path);
    const header = verifyFeed(path, publicKeys, { stateDir });
    const feed = openFeed(path, { publicKeys, stateDir, recordAcceptance: false });
    return {
      path,
      header,
      has: (name, version) => feed.lookup(name, version) !== undefined,
      dispose: () => {
        feed.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    // The user knows the base by its own path, not by the copy verified here.
    if (error instanceof FeedError && error.message.includes(path)) {
      throw new FeedError(error.message.split(path).join(basePath), { file: basePath, cause: error, code: error.code });
    }
    throw error;
  }
}

/** Every record of a verified feed file, in file order (each bucket decoded as its schema says). */
export async function* feedRecords(path: string): AsyncGenerator<FeedRecord> {
  const { header, bodyStart } = readPreamble(path);
  if (header.schema === 3) {
    yield* treeRecords(path, header, bodyStart);
    return;
  }
  const indexLength = header.buckets * INDEX_ENTRY_BYTES;
  const data = await readFile(path);
  const index = data.subarray(bodyStart, bodyStart + indexLength);
  const bucketsStart = bodyStart + indexLength;
  for (let bucket = 0; bucket < header.buckets; bucket++) {
    const entry = decodeIndexEntry(index, bucket);
    if (!entry) throw new FeedError(`feed ${path}: index entry ${bucket} is malformed`, { file: path, code: 'ERR_PG_FEED_CORRUPT' });
    const text = decodeBucket(header.schema, data.subarray(bucketsStart + entry.offset, bucketsStart + entry.offset + entry.length)).toString('utf8');
    for (const line of text.split('\n')) if (line !== '') yield JSON.parse(line) as FeedRecord;
  }
}

/** Every record of a verified schema 3 feed, bucket by bucket (each checked against its page again). */
async function* treeRecords(path: string, header: LayoutHeader, bodyStart: number): AsyncGenerator<FeedRecord> {
  const data = await readFile(path);
  const tree = new TreeReader(header, { read: (ref) => data.subarray(bodyStart + ref.offset, bodyStart + ref.offset + ref.length) }, path);
  for (const { bytes } of treeBuckets(tree)) {
    for (const line of decodeBucket(header.schema, bytes).toString('utf8').split('\n')) if (line !== '') yield JSON.parse(line) as FeedRecord;
  }
}

/** The registry packages of `packages` the base has no record for, each once. */
export function newPackages(base: VerifiedBase, packages: readonly ResolvedPackage[]): ResolvedPackage[] {
  const seen = new Set<string>();
  return packages.filter((pkg) => {
    const key = recordKey(pkg.name, pkg.version);
    if (pkg.source !== 'registry' || seen.has(key) || base.has(pkg.name, pkg.version)) return false;
    seen.add(key);
    return true;
  });
}

/** Base records (minus the ones `added` replaces), then `added`. */
async function* merged(basePath: string, added: readonly FeedRecord[]): AsyncGenerator<FeedRecord> {
  const replaced = new Set(added.map((r) => recordKey(r.name, r.version)));
  for await (const record of feedRecords(basePath)) if (!replaced.has(recordKey(record.name, record.version))) yield record;
  yield* added;
}

function serialAt(path: string): number | undefined {
  try {
    return existsSync(path) ? readPreamble(path).header.serial : undefined;
  } catch {
    return undefined;
  }
}

export interface UpdateFeedOptions {
  base: VerifiedBase;
  added: readonly FeedRecord[];
  privateKey: KeyObject;
  out: string;
  expiresIn?: number;
  now?: Date;
}

/** Signs base + added at `out` with a serial above the base's and above the feed already at `out`. */
export async function updateFeed(options: UpdateFeedOptions): Promise<{ path: string; header: FeedHeader }> {
  const now = options.now ?? new Date();
  const floor = Math.max(options.base.header.serial, serialAt(resolveOut(options.out)) ?? 0) + 1;
  const serial = Math.max(floor, Math.floor(now.getTime() / 1000));
  if (!Number.isSafeInteger(serial)) throw new FeedError(`cannot raise the feed serial above ${options.base.header.serial}`);
  return buildFeed({
    records: merged(options.base.path, options.added),
    privateKey: options.privateKey,
    out: options.out,
    serial,
    now,
    ...(options.expiresIn !== undefined ? { expiresIn: options.expiresIn } : {}),
  });
}

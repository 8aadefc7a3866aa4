/**
 * Lookups in a schema 3 feed: root → index pages → bucket, each page read from a PageSource
 * (pread on the local file, or the page cache of a `#range` source) and checked against the hash
 * its parent holds before it is used. Nothing reads the whole index.
 */
import type { FeedRecord } from '../types';
import { FeedError } from '../errors';
import { bucketOfHash, decodeBucket, keyHash, recordKey, recordLinePrefix } from './format';
import type { LayoutHeader } from './preamble';
import { PageLru } from './page-lru';
import { MAX_BUCKET_BYTES, childCount, childOf, levelSizes, pageBytes, pageProblem, pathPosition, sha256Of, type PageRef } from './tree';

/**
 * Where pages come from: returns the bytes stored at ref (the caller verifies them). A bucket's
 * (level 0) bytes may be overwritten by the next read: the reader hashes and decodes them at once.
 */
export interface PageSource {
  read(ref: PageRef): Buffer;
  /** The bytes of a span of the body in one read (a local file; the reader verifies each page it takes from them). */
  readSpan?(offset: number, length: number): Buffer;
}

/** The top of the index read whole before many lookups is at most this large (1M records: levels 1 and up, ~2.4 MB; 10M: levels 2 and up, ~1.5 MB). */
const MAX_LEVEL_SPAN = 8 * 1024 * 1024;

export function corrupted(label: string, what: string): FeedError {
  return new FeedError(`feed ${label} is corrupted or was tampered with (${what}); fetch it again`, { file: label, code: 'ERR_PG_FEED_CORRUPT' });
}

/** The tree's shape from a header whose signature verified; a reason when it is not a sound tree. */
export function treeShape(header: LayoutHeader): { sizes: number[]; root: PageRef } | string {
  const { buckets, fanout, rootSha256, rootLength, bodyBytes } = header;
  if (typeof fanout !== 'number' || !Number.isSafeInteger(fanout) || fanout < 2 || fanout > 1024) return `fanout ${String(fanout)} is out of range`;
  if (typeof rootSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(rootSha256) || typeof rootLength !== 'number') return 'no root page hash';
  if (buckets > 2 ** 40) return 'too many buckets';
  const sizes = levelSizes(buckets, fanout);
  const depth = sizes.length - 1;
  if (rootLength !== pageBytes(childCount(0, sizes[depth - 1]!, fanout)) || rootLength > bodyBytes) return 'root page length does not match the tree';
  return { sizes, root: { level: depth, position: 0, offset: bodyBytes - rootLength, length: rootLength, sha256: Buffer.from(rootSha256, 'hex') } };
}

/** lookupAll groups keys by bucket when there are more than one per this many buckets. */
const GROUPED_KEYS_PER_BUCKET = 8;

/** Verified index pages in memory (a page is ~600 bytes: 8,192 of them are ~5 MB). */
const PAGE_CACHE_ENTRIES = 8192;

export class TreeReader {
  private readonly pages = new PageLru(PAGE_CACHE_ENTRIES);
  /** The top of the index read in one read by prepare(): its first byte and the bytes. */
  private span: { offset: number; bytes: Buffer } | undefined;
  readonly sizes: number[];
  readonly root: PageRef;

  constructor(readonly header: LayoutHeader, private readonly source: PageSource, readonly label: string) {
    const shape = treeShape(header);
    if (typeof shape === 'string') throw corrupted(label, shape);
    this.sizes = shape.sizes;
    this.root = shape.root;
  }

  /** The bytes at ref, checked against the hash its parent (or the signed header) holds. */
  verified(ref: PageRef): Buffer {
    if (ref.offset + ref.length > this.header.bodyBytes) throw corrupted(this.label, `page ${ref.level}/${ref.position} runs past the end of the feed`);
    if (ref.level === 0 && ref.length > MAX_BUCKET_BYTES) throw corrupted(this.label, `bucket ${ref.position} is ${ref.length} bytes`);
    const bytes = this.spanned(ref) ?? this.source.read(ref);
    if (bytes.length !== ref.length || !sha256Of(bytes).equals(ref.sha256)) {
      throw corrupted(this.label, ref.level === 0 ? `bucket ${ref.position} does not match its hash` : `index page ${ref.level}/${ref.position} does not match its hash`);
    }
    return bytes;
  }

  private spanned(ref: PageRef): Buffer | undefined {
    const span = this.span;
    if (!span || ref.offset < span.offset || ref.offset + ref.length > span.offset + span.bytes.length) return undefined;
    return span.bytes.subarray(ref.offset - span.offset, ref.offset - span.offset + ref.length);
  }

  /**
   * Before `count` lookups: the index levels they would mostly touch (a quarter of a level's pages
   * or more, by the expected number of distinct pages), from the root down, are read in one read
   * instead of a read a page (~20 µs each on these VMs: 1,800 of them for 2,000 lookups in 1M
   * records). Where the levels lie follows from the signed header alone (the body ends with level
   * 1, …, the root; every index page's length is fixed by its place), so nothing is parsed or
   * hashed here: the span is only a copy of the file's bytes, from which a page is taken when it
   * lies inside it, and every page is still verified against its parent's hash when it is used.
   * Only for a source that reads spans (the local file).
   */
  prepare(count: number): void {
    if (!this.source.readSpan || count < 1 || this.span) return;
    const fanout = this.header.fanout!;
    let start = this.header.bodyBytes;
    let dense = 0;
    for (let level = this.sizes.length - 1; level >= 1; level--) {
      const pages = this.sizes[level]!;
      if (level < this.sizes.length - 1 && pages * (1 - (1 - 1 / pages) ** count) < pages / 4) break;
      const bytes = (pages - 1) * pageBytes(fanout) + pageBytes(childCount(pages - 1, this.sizes[level - 1]!, fanout));
      if (this.header.bodyBytes - (start - bytes) > MAX_LEVEL_SPAN || bytes > start) break;
      start -= bytes;
      dense++;
    }
    // The root alone is read by the first lookup anyway.
    if (dense < 2) return;
    this.span = { offset: start, bytes: this.source.readSpan(start, this.header.bodyBytes - start) };
  }

  /** An index page, verified against its parent's hash and checked to be the page of its place. */
  page(ref: PageRef): Buffer {
    const key = PageLru.key(ref.level, ref.position);
    const cached = this.pages.get(key);
    if (cached) return cached;
    const count = childCount(ref.position, this.sizes[ref.level - 1]!, this.header.fanout!);
    if (ref.length !== pageBytes(count)) throw corrupted(this.label, `index page ${ref.level}/${ref.position} has the wrong length`);
    const page = this.verified(ref);
    const problem = pageProblem(page, ref.level, ref.position, count);
    if (problem) throw corrupted(this.label, problem);
    this.pages.set(key, page);
    return page;
  }

  /** The children of an index page, verified and position-checked. */
  children(ref: PageRef): PageRef[] {
    const page = this.page(ref);
    const count = childCount(ref.position, this.sizes[ref.level - 1]!, this.header.fanout!);
    return Array.from({ length: count }, (_, i) => childOf(page, ref.level, ref.position, i, this.header.fanout!));
  }

  /** The path's page at `level` (root = sizes.length - 1, bucket = 0). */
  refAt(bucket: number, level: number): PageRef {
    const fanout = this.header.fanout!;
    let ref = this.root;
    for (let l = this.root.level; l > level; l--) {
      ref = childOf(this.page(ref), ref.level, ref.position, pathPosition(bucket, l - 1, fanout) - ref.position * fanout, fanout);
    }
    return ref;
  }

  bucketOf(name: string, version: string): number {
    return bucketOfHash(keyHash(recordKey(name, version)), this.header.buckets);
  }

  lookup(name: string, version: string): FeedRecord | undefined {
    const bucket = this.bucketOf(name, version);
    const text = this.bucketText(bucket);
    return text && this.recordIn(text, name, version, bucket);
  }

  /**
   * The records of many keys, in their order. When buckets repeat among them (a feed of a few
   * thousand records holds many of a lockfile's packages in each bucket), the keys are taken in
   * bucket order and each bucket is read, verified and decoded once for all its keys. When they
   * mostly do not (2,000 keys among 62,500 buckets at 1M records), sorting costs more than it
   * saves (measured: a first check 6 ms slower), and each key is looked up on its own.
   */
  lookupAll(keys: readonly { name: string; version: string }[]): (FeedRecord | undefined)[] {
    if (keys.length * GROUPED_KEYS_PER_BUCKET <= this.header.buckets) return keys.map(({ name, version }) => this.lookup(name, version));
    const buckets = keys.map(({ name, version }) => this.bucketOf(name, version));
    const order = Array.from(keys.keys()).sort((a, b) => buckets[a]! - buckets[b]!);
    const records = new Array<FeedRecord | undefined>(keys.length);
    let current: number | undefined;
    let text: Buffer | undefined;
    for (const i of order) {
      const bucket = buckets[i]!;
      if (bucket !== current) {
        text = this.bucketText(bucket);
        current = bucket;
      }
      const { name, version } = keys[i]!;
      records[i] = text && this.recordIn(text, name, version, bucket);
    }
    return records;
  }

  /** A bucket's records as text (a view the next bucket read overwrites); undefined for an empty bucket. */
  private bucketText(bucket: number): Buffer | undefined {
    const ref = this.refAt(bucket, 0);
    if (ref.length === 0) return undefined;
    try {
      return decodeBucket(this.header.schema, this.verified(ref));
    } catch (error) {
      if (error instanceof FeedError) throw error;
      throw corrupted(this.label, `bucket ${bucket} does not decode`);
    }
  }

  private recordIn(text: Buffer, name: string, version: string, bucket: number): FeedRecord | undefined {
    const record = findLine(text, name, version, bucket, this.label);
    // Binding: the record answered is the one asked for (so it is in the bucket its key maps to).
    if (record && (record.name !== name || record.version !== version)) {
      throw corrupted(this.label, `bucket ${bucket} holds a record for ${String(record.name)}@${String(record.version)} where ${name}@${version} was looked up`);
    }
    return record;
  }
}

export function findLine(bytes: Buffer, name: string, version: string, bucket: number, label: string): FeedRecord | undefined {
  // Searched as a string (no Buffer made for it: 2,000 lookups in a cold process); its length in bytes.
  const prefix = recordLinePrefix(name, version);
  const prefixBytes = Buffer.byteLength(prefix);
  // Native search for the record's first bytes; a hit must start a line and end the version.
  for (let at = bytes.indexOf(prefix); at >= 0; at = bytes.indexOf(prefix, at + 1)) {
    if (at > 0 && bytes[at - 1] !== 0x0a) continue;
    const next = bytes[at + prefixBytes];
    if (next !== 0x2c && next !== 0x7d) continue;
    const end = bytes.indexOf(0x0a, at);
    try {
      return JSON.parse(bytes.toString('utf8', at, end < 0 ? bytes.length : end)) as FeedRecord;
    } catch {
      throw corrupted(label, `bucket ${bucket} holds a record that is not JSON`);
    }
  }
  return undefined;
}

/**
 * Every bucket in order, each verified against its page, with the canonical layout checked:
 * level 0 from offset 0, each level right after the one below, the root last, no gap nor overlap.
 */
export function* treeBuckets(reader: TreeReader): Generator<{ bucket: number; bytes: Buffer }> {
  let level: PageRef[] = [reader.root];
  while (level[0]!.level > 1) {
    const below = level.flatMap((ref) => reader.children(ref));
    checkTiling(reader, below, level[0]!.offset);
    level = below;
  }
  let expected = 0;
  for (const page of level) {
    const buckets = reader.children(page);
    for (const ref of buckets) {
      if (ref.offset !== expected) throw corrupted(reader.label, `bucket ${ref.position} is not where the layout puts it`);
      expected += ref.length;
      yield { bucket: ref.position, bytes: reader.verified(ref) };
    }
  }
  if (expected !== level[0]!.offset) throw corrupted(reader.label, 'buckets do not end where the index starts');
}

function checkTiling(reader: TreeReader, refs: PageRef[], end: number): void {
  for (let i = 1; i < refs.length; i++) {
    if (refs[i]!.offset !== refs[i - 1]!.offset + refs[i - 1]!.length) throw corrupted(reader.label, `index page ${refs[i]!.level}/${refs[i]!.position} is not where the layout puts it`);
  }
  const last = refs[refs.length - 1]!;
  if (last.offset + last.length !== end) throw corrupted(reader.label, `index level ${last.level} does not end where the next starts`);
}

/** A JSON string literal's value (JSON.parse only when it holds an escape). */
const unquote = (literal: string): string => (literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1));

const LINE_KEY = /^\{"name":("(?:[^"\\]|\\.)*"),"version":("(?:[^"\\]|\\.)*")[,}]/;

/** Checks every record line of a decoded bucket: its key maps to this bucket, keys strictly ascending. */
export function checkBucketRecords(reader: TreeReader, bucket: number, text: Buffer): number {
  let last: string | undefined;
  let count = 0;
  for (const line of text.toString('utf8').split('\n')) {
    if (line === '') continue;
    const match = LINE_KEY.exec(line);
    if (!match) throw corrupted(reader.label, `bucket ${bucket} holds a line that is not a record`);
    const key = recordKey(unquote(match[1]!), unquote(match[2]!));
    if (bucketOfHash(keyHash(key), reader.header.buckets) !== bucket) throw corrupted(reader.label, `record ${key} is in bucket ${bucket}, not the bucket its key maps to`);
    if (last !== undefined && !(last < key)) throw corrupted(reader.label, `bucket ${bucket} is not in name@version order`);
    last = key;
    count++;
  }
  return count;
}

/** `feed verify` for schema 3: every page and bucket, the layout, and every record's place. */
export function verifyTree(reader: TreeReader): void {
  let records = 0;
  for (const { bucket, bytes } of treeBuckets(reader)) {
    let text: Buffer;
    try {
      text = decodeBucket(reader.header.schema, bytes);
    } catch {
      throw corrupted(reader.label, `bucket ${bucket} does not decode`);
    }
    records += checkBucketRecords(reader, bucket, text);
  }
  if (records !== reader.header.records) throw corrupted(reader.label, `holds ${records} records, header says ${reader.header.records}`);
}

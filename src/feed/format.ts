/**
 * On-disk layout of `provenance.feed` (one file):
 *
 *   provenance-guard-feed\n            magic line
 *   {header JSON}\n                    schema, serial, dates, counts, keyId, and what pins the body
 *   ed25519 <base64 signature>\n       Ed25519 over the magic line + header line bytes
 *   body
 *
 * Schema 3 (what `feed build` writes): a hash tree (tree.ts). The header holds buckets, fanout,
 * rootSha256, rootLength and bodyBytes. The body is the buckets (raw DEFLATE with the preset
 * dictionary below, 16 records a bucket on average, sorted by name@version), then the index
 * pages level by level, the root last. Each index page lists FANOUT (16) children as length +
 * full SHA-256. The signature pins the root, each page pins its children: a lookup reads the
 * root, depth-1 index pages and one bucket, each checked against its parent before use.
 *
 * Schemas 1 and 2 (still read): a flat index of `buckets` entries of 85 bytes (12 hex offset,
 * 8 hex length, 64 hex SHA-256, \n) pinned by header.indexSha256, then NDJSON buckets; schema 1
 * plain text, 16 records a bucket; schema 2 DEFLATE, 32 records a bucket.
 *
 * Why 16 records a bucket and fanout 16 (arithmetic for a 2,000-package check against a
 * 50,000,000-record feed read over HTTP range requests with an empty cache):
 *   - bytes a record, measured on the bench's records: DEFLATE+dictionary gives 160.5 bytes at 4
 *     records a bucket, 151.6 at 8, 147.4 at 12, 144.8 at 16, 139.3 at 32; the index adds
 *     36/16 = 2.25 bytes a record at level 1 (and 1/16 of that above). Only 16 and up stay
 *     under the goal of 150 bytes a record: 16 is the smallest bucket that does (≈ 2.3 KB).
 *   - 50M records / 16 = 3,125,000 buckets; levels of fanout 16: 195,313 / 12,208 / 763 / 48 /
 *     3 / 1 pages of 14 + 16·36 = 590 bytes. 2,000 random lookups touch P·(1−(1−1/P)^2000)
 *     distinct pages of a level of P: 1,990 + 1,848 + 704 + 48 + 3 + 1 ≈ 4,594 pages ≈ 2.7 MB,
 *     plus 2,000 buckets × 2.3 KB ≈ 4.6 MB: ≈ 7.3 MB of bodies, and ≈ 6,600 requests before
 *     coalescing (≈ 1.3 MB of HTTP headers at ~200 bytes each; level 3 and up coalesce to a few
 *     requests). Fanout 32 (1,166-byte pages) costs ≈ 4.1 MB of index instead of 2.7; fanout 8
 *     (302-byte pages) ≈ 2.0 MB but 8 levels, so more round trips.
 */
import { hash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { inflateWithDictionary } from './inflate';

export const MAGIC = 'provenance-guard-feed\n';
/** The schema `feed build` writes. */
export const SCHEMA = 3;
/** The schemas this version reads. */
export const READABLE_SCHEMAS: readonly number[] = [1, 2, 3];
export const SIG_PREFIX = 'ed25519 ';
/** 'ed25519 ' + 88 base64 characters + '\n'. */
export const SIG_LINE_BYTES = SIG_PREFIX.length + 88 + 1;
export const INDEX_ENTRY_BYTES = 12 + 8 + 64 + 1;
const RECORDS_PER_BUCKET: Record<number, number> = { 1: 16, 2: 32, 3: 16 };
/** A decoded bucket larger than this is refused (a bucket holds ~32 records of a few hundred bytes). */
export const MAX_DECODED_BUCKET_BYTES = 16 * 1024 * 1024;
export const FEED_FILE_NAME = 'provenance.feed';

export interface FeedHeader {
  schema: number;
  serial: number;
  generatedAt: string;
  expiresAt: string;
  records: number;
  keyId: string;
  [k: string]: unknown;
}

/** The header fields this version writes and needs (besides the FeedHeader basics). */
export interface FeedLayout {
  buckets: number;
  /** Schemas 1 and 2: SHA-256 of the flat index. */
  indexSha256?: string;
  /** Schema 3: the tree's fanout, and the root page's SHA-256 and length (it ends the body). */
  fanout?: number;
  rootSha256?: string;
  rootLength?: number;
  /** Bytes after the signature line: index + buckets. */
  bodyBytes: number;
}

export function recordKey(name: string, version: string): string {
  return `${name}@${version}`;
}

export function keyHash(key: string): number {
  return hash('sha256', key, 'buffer').readUInt32BE(0);
}

/** Monotonic in the hash, so hash-ordered partitions map to contiguous bucket ranges. */
export function bucketOfHash(hash: number, buckets: number): number {
  return Math.floor((hash * buckets) / 0x1_0000_0000);
}

export function bucketCount(records: number, schema: number = SCHEMA): number {
  return Math.max(1, Math.ceil(records / RECORDS_PER_BUCKET[schema]!));
}

const SCORECARD_CHECKS = ['Binary-Artifacts', 'Branch-Protection', 'CI-Tests', 'CII-Best-Practices', 'Code-Review', 'Contributors', 'Dangerous-Workflow',
  'Dependency-Update-Tool', 'Fuzzing', 'License', 'Maintained', 'Packaging', 'Pinned-Dependencies', 'SAST', 'Security-Policy', 'Signed-Releases',
  'Token-Permissions', 'Vulnerabilities'];

/**
 * The DEFLATE preset dictionary of schemas 2 and 3: the JSON that recurs in records, most frequent last.
 * Part of the format: changing one byte of it needs a new schema.
 */
const DICTIONARY = Buffer.from([
  ',"contents":{"verdict":"match","commit":"', '"commitFrom":"gitHead"', '"files":{"identical":', ',"generated":', ',"modified":[],"added":[]}', '"reason":"',
  ',"directory":"packages/', ',"attestedUrl":"https://github.com/', '"status":"mismatch"', 'https://gitlab.com/', '"not-reproducible"', '"unknown"', '"oss-reproducible"',
  ',"checks":{' + SCORECARD_CHECKS.map((c) => `"${c}":`).join('10,') + '10}',
  ',"scorecard":{"score":', ',"date":"2026-', ',"rebuild":{"verdict":"reproducible","source":"oss-rebuild"}',
  '","commit":"', '","status":"claimed"}', '","status":"attested"}', ',"repository":{"url":"https://github.com/',
  '","integrity":"sha512-', '","version":"', '\n{"name":"@', '\n{"name":"',
].join(''));

/** A bucket's bytes as stored (what the index hashes) from its NDJSON text. */
export function encodeBucket(schema: number, text: string): Buffer {
  const bytes = Buffer.from(text);
  return schema === 1 ? bytes : deflateRawSync(bytes, { level: 9, dictionary: DICTIONARY });
}

/** The preset dictionary of schemas 2 and 3 (tests compare decoders with it). */
export function bucketDictionary(): Buffer {
  return DICTIONARY;
}

/**
 * A bucket's NDJSON bytes from its stored bytes; throws on bytes that do not decode. Valid until
 * the next decodeBucket call (inflate.ts reuses one output buffer): every caller reads them at once.
 */
export function decodeBucket(schema: number, stored: Buffer): Buffer {
  return schema === 1 || stored.length === 0 ? stored : inflateWithDictionary(stored, DICTIONARY, MAX_DECODED_BUCKET_BYTES);
}

/** The first bytes of a record line; the record follows with ',' or ends with '}'. */
export function recordLinePrefix(name: string, version: string): string {
  return `{"name":${JSON.stringify(name)},"version":${JSON.stringify(version)}`;
}

export function encodeIndexEntry(target: Buffer, at: number, offset: number, length: number, sha256: Buffer): void {
  const text = offset.toString(16).padStart(12, '0') + length.toString(16).padStart(8, '0') + sha256.toString('hex') + '\n';
  target.write(text, at, 'latin1');
}

export interface IndexEntry {
  offset: number;
  length: number;
  sha256: string;
}

export function decodeIndexEntry(index: Buffer, bucket: number): IndexEntry | undefined {
  const at = bucket * INDEX_ENTRY_BYTES;
  const text = index.toString('latin1', at, at + INDEX_ENTRY_BYTES);
  if (!/^[0-9a-f]{84}\n$/.test(text)) return undefined;
  return { offset: parseInt(text.slice(0, 12), 16), length: parseInt(text.slice(12, 20), 16), sha256: text.slice(20, 84) };
}

/**
 * On-disk layout of `provenance.feed` (one file):
 *
 *   provenance-guard-feed\n            magic line
 *   {header JSON}\n                    schema, serial, dates, counts, keyId, indexSha256, bodyBytes
 *   ed25519 <base64 signature>\n       Ed25519 over the magic line + header line bytes
 *   index: `buckets` entries of 85 bytes: 12 hex offset, 8 hex length, 64 hex SHA-256, \n
 *   buckets: NDJSON records, grouped by bucketOf(name, version), sorted by name@version;
 *            schema 1: plain text, 16 records a bucket; schema 2: each bucket raw DEFLATE with
 *            the preset dictionary below, 32 records a bucket (about 140 bytes a record)
 *
 * The signature pins the header, the header pins the index (indexSha256, bodyBytes), the
 * index pins every bucket: every byte of the file is covered. A lookup reads one index
 * entry and one bucket, and parses one line.
 */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

export const MAGIC = 'provenance-guard-feed\n';
/** The schema `feed build` writes. */
export const SCHEMA = 2;
/** The schemas this version reads. */
export const READABLE_SCHEMAS: readonly number[] = [1, 2];
export const SIG_PREFIX = 'ed25519 ';
/** 'ed25519 ' + 88 base64 characters + '\n'. */
export const SIG_LINE_BYTES = SIG_PREFIX.length + 88 + 1;
export const INDEX_ENTRY_BYTES = 12 + 8 + 64 + 1;
const RECORDS_PER_BUCKET: Record<number, number> = { 1: 16, 2: 32 };
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
  indexSha256: string;
  /** Bytes after the signature line: index + buckets. */
  bodyBytes: number;
}

export function recordKey(name: string, version: string): string {
  return `${name}@${version}`;
}

export function keyHash(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0);
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
 * Schema 2's DEFLATE preset dictionary: the JSON that recurs in records, most frequent last.
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

/** A bucket's NDJSON bytes from its stored bytes; throws on bytes that do not decode. */
export function decodeBucket(schema: number, stored: Buffer): Buffer {
  return schema === 1 || stored.length === 0 ? stored : inflateRawSync(stored, { dictionary: DICTIONARY, maxOutputLength: MAX_DECODED_BUCKET_BYTES });
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

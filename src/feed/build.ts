import { createHash, sign, type KeyObject } from 'node:crypto';
import { nestedDeeperThan, TOO_DEEP } from '../nesting';
import {
  appendFileSync, closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { FeedError, GuardError, RecordsError } from '../errors';
import type { FeedRecord } from '../types';
import { tempPathFor } from '../atomic';
import { byCodeUnits } from '../code-unit-order';
import {
  FEED_FILE_NAME, INDEX_ENTRY_BYTES, MAGIC, READABLE_SCHEMAS, SCHEMA, SIG_PREFIX, bucketCount, bucketOfHash, encodeBucket,
  encodeIndexEntry, keyHash, recordKey, type FeedHeader, type FeedLayout,
} from './format';
import { FANOUT, TREE_SCHEMA } from './tree';
import { TreeWriter } from './tree-writer';
import { keyId as keyIdOf, readPrivateKey } from './keys';
import { readPreamble } from './preamble';
import { recordOrigin, validateRecord } from './records';

export interface BuildFeedOptions {
  records: Iterable<FeedRecord> | AsyncIterable<FeedRecord>;
  /** The signing key as a file (`feed keygen`'s feed.key)… */
  privateKeyPath?: string;
  /** …or already loaded (`--key-env`, or checked before gathering). */
  privateKey?: KeyObject;
  /** A file path, or an existing directory (→ DIR/provenance.feed). */
  out: string;
  serial?: number;
  /** Milliseconds until the feed expires; default 30 days. */
  expiresIn?: number;
  now?: Date;
  /** The schema to write (default: the current one, 3); 1 is the uncompressed layout. */
  schema?: number;
}

const DAY = 24 * 60 * 60 * 1000;
const PARTITIONS = 256;
/** Record bytes kept in memory before partitions spill to temp files. */
const SPILL_BYTES = 16 * 1024 * 1024;
const WRITE_CHUNK = 1024 * 1024;

interface Entry {
  hash: number;
  key: string;
  /** "FILE:LINE" (readRecordsFile) or "record #N": named in a duplicate error. */
  origin: string;
  line: string;
}

/** Groups records by the top 8 bits of their key hash, spilling to disk for large inputs. */
class Partitions {
  private readonly memory: Entry[][] = Array.from({ length: PARTITIONS }, () => []);
  private memoryBytes = 0;
  private spillDir: string | undefined;
  private readonly spilled = new Set<number>();
  count = 0;
  bodyBytes = 0;

  add(entry: Entry): void {
    this.memory[entry.hash >>> 24]!.push(entry);
    const bytes = Buffer.byteLength(entry.line);
    this.memoryBytes += bytes + entry.key.length + entry.origin.length + 64;
    this.bodyBytes += bytes;
    this.count++;
    if (this.memoryBytes > SPILL_BYTES) this.spill();
  }

  private spill(): void {
    this.spillDir ??= mkdtempSync(join(tmpdir(), 'pg-feed-build-'));
    for (let p = 0; p < PARTITIONS; p++) {
      const entries = this.memory[p]!;
      if (entries.length === 0) continue;
      const text = entries.map((e) => `${e.hash}\t${JSON.stringify(e.key)}\t${JSON.stringify(e.origin)}\t${e.line}`).join('');
      appendFileSync(join(this.spillDir, String(p)), text);
      this.spilled.add(p);
      this.memory[p] = [];
    }
    this.memoryBytes = 0;
  }

  /** Every entry of partition p: the spilled ones first, then those still in memory. */
  take(p: number): Entry[] {
    const entries: Entry[] = [];
    if (this.spillDir && this.spilled.has(p)) {
      const text = readFileSync(join(this.spillDir, String(p)), 'utf8');
      let start = 0;
      while (start < text.length) {
        const end = text.indexOf('\n', start) + 1;
        const row = text.slice(start, end);
        start = end;
        const t1 = row.indexOf('\t');
        const t2 = row.indexOf('\t', t1 + 1);
        const t3 = row.indexOf('\t', t2 + 1);
        entries.push({
          hash: Number(row.slice(0, t1)),
          key: JSON.parse(row.slice(t1 + 1, t2)) as string,
          origin: JSON.parse(row.slice(t2 + 1, t3)) as string,
          line: row.slice(t3 + 1),
        });
      }
    }
    for (const entry of this.memory[p]!) entries.push(entry);
    this.memory[p] = [];
    return entries;
  }

  dispose(): void {
    if (this.spillDir) rmSync(this.spillDir, { recursive: true, force: true });
  }
}

export function resolveOut(out: string): string {
  const target = resolve(out);
  if (/[/\\]$/.test(out)) return join(target, FEED_FILE_NAME);
  try {
    if (statSync(target).isDirectory()) return join(target, FEED_FILE_NAME);
  } catch {
    // does not exist yet: a file path
  }
  return target;
}

function previousSerial(path: string): number | undefined {
  try {
    return readPreamble(path).header.serial;
  } catch {
    return undefined;
  }
}

function writeAll(fd: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

function copyInto(fd: number, from: string): void {
  const src = openSync(from, 'r');
  try {
    const chunk = Buffer.allocUnsafe(WRITE_CHUNK);
    for (let n = readSync(src, chunk, 0, chunk.length, null); n > 0; n = readSync(src, chunk, 0, chunk.length, null)) writeAll(fd, chunk.subarray(0, n));
  } finally {
    closeSync(src);
  }
}

type Placed = Entry & { bucket: number };

const byKey = (a: Entry, b: Entry): number => byCodeUnits(a.key, b.key);

/** The entries of one partition in file order (bucket, then name@version); refuses duplicates. */
function sortedPartition(partitions: Partitions, p: number, buckets: number): Placed[] {
  const entries = partitions.take(p) as Placed[];
  for (const e of entries) e.bucket = bucketOfHash(e.hash, buckets);
  entries.sort((a, b) => a.bucket - b.bucket || byKey(a, b));
  let last: Entry | undefined;
  for (const e of entries) {
    if (last && last.key === e.key) throw new RecordsError(`${e.origin}: duplicate record for ${e.key} (first at ${last.origin})`, { code: 'ERR_PG_RECORDS_DUPLICATE' });
    last = e;
  }
  return entries;
}

/** Receives each bucket in order (empty ones included) with its offset in the body. */
type BucketSink = (bucket: number, offset: number, bytes: Buffer) => void;

/** A sink filling a schema 1/2 flat index. */
function flatIndexSink(index: Buffer): BucketSink {
  return (bucket, offset, bytes) => encodeIndexEntry(index, INDEX_ENTRY_BYTES * bucket, offset, bytes.length, createHash('sha256').update(bytes).digest());
}

/** Writes the encoded buckets in order to `fd`, telling `sink` where each went; returns the bytes written. */
function writeBuckets(partitions: Partitions, fd: number, buckets: number, schema: number, sink: BucketSink): number {
  const empty = Buffer.alloc(0);
  let offset = 0;
  let nextBucket = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const emit = (bucket: number, bytes: Buffer) => {
    // An empty bucket is zero bytes in every schema.
    while (nextBucket < bucket) sink(nextBucket++, offset, empty);
    sink(nextBucket++, offset, bytes);
    pending.push(bytes);
    offset += bytes.length;
    pendingBytes += bytes.length;
    if (pendingBytes >= WRITE_CHUNK) {
      writeAll(fd, Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    }
  };
  let open: { bucket: number; entries: Placed[] } | undefined;
  // A bucket can span two partitions: its entries are sorted again as a whole.
  const encoded = (entries: Placed[]) => encodeBucket(schema, entries.sort(byKey).map((e) => e.line).join(''));
  for (let p = 0; p < PARTITIONS; p++) {
    for (const e of sortedPartition(partitions, p, buckets)) {
      if (open && open.bucket !== e.bucket) {
        emit(open.bucket, encoded(open.entries));
        open = undefined;
      }
      open ??= { bucket: e.bucket, entries: [] };
      open.entries.push(e);
    }
  }
  if (open) emit(open.bucket, encoded(open.entries));
  while (nextBucket < buckets) sink(nextBucket++, offset, empty);
  writeAll(fd, Buffer.concat(pending));
  if (schema === 1 && offset !== partitions.bodyBytes) throw new Error(`internal: wrote ${offset} bucket bytes, expected ${partitions.bodyBytes}`);
  return offset;
}

/** The body after the signature line, written to `file`, and the header fields that pin it. */
function writeBody(partitions: Partitions, file: string, schema: number): { layout: FeedLayout; index: Buffer } {
  const buckets = bucketCount(partitions.count, schema);
  const fd = openSync(file, 'wx', 0o600);
  try {
    if (schema !== TREE_SCHEMA) {
      const index = Buffer.alloc(buckets * INDEX_ENTRY_BYTES);
      const bytes = writeBuckets(partitions, fd, buckets, schema, flatIndexSink(index));
      return { layout: { buckets, indexSha256: createHash('sha256').update(index).digest('hex'), bodyBytes: index.length + bytes }, index };
    }
    const tree = new TreeWriter(buckets);
    const bytes = writeBuckets(partitions, fd, buckets, schema, (bucket, _offset, data) => tree.leaf(bucket, data));
    const root = tree.finish(bytes, (page) => writeAll(fd, page));
    return { layout: { buckets, fanout: FANOUT, rootSha256: root.sha256, rootLength: root.length, bodyBytes: root.end }, index: Buffer.alloc(0) };
  } finally {
    closeSync(fd);
  }
}

/** Serial, dates and schema of a new feed, checked before any record is read. */
function signingPlan(options: BuildFeedOptions, path: string): { serial: number; now: Date; expiresAt: Date; schema: number } {
  const now = options.now ?? new Date();
  const expiresIn = options.expiresIn ?? 30 * DAY;
  const expiresAt = new Date(now.getTime() + expiresIn);
  if (!(expiresIn > 0) || !Number.isFinite(expiresAt.getTime())) {
    throw new FeedError(`feed expiry must be a positive duration that gives a valid date, got ${expiresIn} ms`, { code: 'ERR_PG_FEED_EXPIRY_RANGE' });
  }
  const previous = previousSerial(path);
  const serial = options.serial ?? Math.max((previous ?? 0) + 1, Math.floor(now.getTime() / 1000));
  if (!Number.isSafeInteger(serial) || serial < 0) throw new FeedError(`feed serial must be a non-negative integer, got ${serial}`, { code: 'ERR_PG_FEED_SERIAL_INVALID' });
  const schema = options.schema ?? SCHEMA;
  if (!READABLE_SCHEMAS.includes(schema)) throw new FeedError(`feed schema must be one of ${READABLE_SCHEMAS.join(', ')}, got ${schema}`, { code: 'ERR_PG_FEED_SCHEMA' });
  return { serial, now, expiresAt, schema };
}

/** Every record validated (unless it carries its origin: already validated by readRecordsFile) and partitioned by hash. */
async function partitionRecords(records: BuildFeedOptions['records'], partitions: Partitions): Promise<void> {
  let position = 0;
  for await (const record of records) {
    position++;
    const origin = recordOrigin(record);
    if (origin === undefined) {
      const problem = nestedDeeperThan(record) ? `record ${TOO_DEEP}` : validateRecord(record);
      if (problem) throw new RecordsError(`record #${position}: ${problem}`, { code: 'ERR_PG_RECORDS_INVALID' });
    }
    const { name, version, ...rest } = record;
    const key = recordKey(name, version);
    const line = JSON.stringify({ name, version, ...rest }) + '\n';
    partitions.add({ hash: keyHash(key), key, origin: origin ?? `record #${position}`, line });
  }
}

/** Builds and signs a feed; the file appears atomically at `out`. */
export async function buildFeed(options: BuildFeedOptions): Promise<{ path: string; header: FeedHeader }> {
  const path = resolveOut(options.out);
  const privateKey = options.privateKey ?? readPrivateKey(options.privateKeyPath ?? '');
  const { serial, now, expiresAt, schema } = signingPlan(options, path);
  const partitions = new Partitions();
  let tmp: string | undefined;
  let bodyTmp: string | undefined;
  try {
    await partitionRecords(options.records, partitions);
    mkdirSync(dirname(path), { recursive: true });
    tmp = tempPathFor(path);
    bodyTmp = tempPathFor(path);
    const { layout, index } = writeBody(partitions, bodyTmp, schema);
    const header: FeedHeader & FeedLayout = {
      schema,
      serial,
      generatedAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
      records: partitions.count,
      keyId: keyIdOf(privateKey),
      ...layout,
    };
    const signed = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
    const signature = sign(null, signed, privateKey).toString('base64');
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeAll(fd, Buffer.concat([signed, Buffer.from(`${SIG_PREFIX}${signature}\n`), index]));
      copyInto(fd, bodyTmp);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    tmp = undefined;
    return { path, header };
  } catch (error) {
    // A file system failure (no space, no permission, a file where a directory must be): named, never a stack trace.
    if (error instanceof GuardError || typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
    throw new FeedError(`${path}: cannot write the feed: ${(error as Error).message}`, { file: path, code: 'ERR_PG_FEED_WRITE', cause: error });
  } finally {
    partitions.dispose();
    if (tmp) rmSync(tmp, { force: true });
    if (bodyTmp) rmSync(bodyTmp, { force: true });
  }
}

import { createHash, verify, type KeyObject } from 'node:crypto';
import { closeSync, fstatSync, readSync } from 'node:fs';
import { FeedError } from '../errors';
import { stateDir as defaultStateDir } from '../paths';
import type { FeedRecord } from '../types';
import {
  INDEX_ENTRY_BYTES, READABLE_SCHEMAS, bucketOfHash, decodeBucket, decodeIndexEntry, keyHash, recordKey, type FeedHeader,
} from './format';
import { keyId as keyIdOf, parsePublicKey } from './keys';
import { noteOpened, preambleDigest } from './opened';
import { openFeedFile, readPreambleFd, type Preamble } from './preamble';
import { findLine, TreeReader, verifyTree, type PageSource } from './tree-reader';
import { acceptedFeed, recordSerial, sameSerialError, statePath, RESET_COMMAND } from './state';

export type { FeedHeader } from './format';

export interface OpenFeedOptions {
  publicKeys: string[];
  /** Where the accepted serials are (paths.ts stateDir). */
  stateDir?: string;
  now?: Date;
  /** Default true: remember this feed's serial so an older one is refused later. */
  recordAcceptance?: boolean;
  /** `feed.minSerial` of the policy. */
  minSerial?: number;
  /**
   * Schema 3 read from elsewhere than `path` (a `#range` source's page cache): `path` then holds
   * only the signed preamble.
   */
  pages?: PageSource;
}

export interface Feed {
  readonly path: string;
  readonly header: FeedHeader;
  lookup(name: string, version: string): FeedRecord | undefined;
  /** The records of many keys, in their order (schema 3: each bucket read once for all its keys). */
  lookupAll(keys: readonly { name: string; version: string }[]): (FeedRecord | undefined)[];
  /** A hint before `count` lookups in a row (schema 3: dense index levels are read whole). */
  prepare?(count: number): void;
  close(): void;
}

const FULL_PASS_CHUNK = 8 * 1024 * 1024;

function corrupted(path: string, what: string): FeedError {
  return new FeedError(`feed ${path} is corrupted or was tampered with (${what}); fetch it again`, { file: path, code: 'ERR_PG_FEED_CORRUPT' });
}

function readExactly(fd: number, length: number, position: number, path: string, buffer: Buffer = Buffer.allocUnsafe(length)): Buffer {
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = readSync(fd, buffer, done, length - done, position + done);
    } catch (error) {
      throw new FeedError(`cannot read feed ${path}: ${(error as Error).message}`, { file: path, cause: error, code: 'ERR_PG_FEED_NOT_FOUND' });
    }
    if (n === 0) throw corrupted(path, 'file is truncated');
    done += n;
  }
  return buffer;
}

interface OpenedFeed {
  fd: number;
  preamble: Preamble;
  /** Schemas 1 and 2: the flat index, checked against header.indexSha256. */
  index: Buffer;
  /** SHA-256 of the signed header and signature (pins every byte): kept per serial against same-serial substitution. */
  sha256: string;
}

/** What a feed must satisfy besides its own integrity: the policy's keys and serial floor. */
export interface FeedTrust {
  publicKeys: string[];
  /** `feed.minSerial`: no feed with a lower serial is accepted, whatever this machine remembers. */
  minSerial?: number;
  /** How the feed is named in errors (default: its path), e.g. the URL it was downloaded from. */
  label?: string;
}

/** How far in the future a feed's generatedAt may be (clock skew between publisher and here). */
export const FEED_CLOCK_SKEW_MS = 5 * 60_000;

function checkSignature(preamble: Preamble, publicKeys: string[], label: string): void {
  const { header } = preamble;
  if (publicKeys.length === 0) throw new FeedError(`no public key configured to verify feed ${label} (feed.publicKeys)`, { file: label, code: 'ERR_PG_FEED_KEY' });
  const keys: KeyObject[] = publicKeys.map((text) => parsePublicKey(text));
  const key = keys.find((k) => keyIdOf(k) === header.keyId);
  if (!key) {
    throw new FeedError(`feed ${label} is signed with key ${header.keyId}, which is not one of the configured feed.publicKeys (${keys.map(keyIdOf).join(', ')})`, {
      file: label,
      code: 'ERR_PG_FEED_KEY',
    });
  }
  if (!verify(null, preamble.signed, key, preamble.signature)) {
    throw new FeedError(`feed ${label}: signature does not verify with key ${header.keyId}; the feed was modified or corrupted`, { file: label, code: 'ERR_PG_FEED_SIGNATURE' });
  }
}

/** Dates and serial of a header whose signature verified. */
function checkFreshness(header: FeedHeader, sha256: string, trust: FeedTrust, state: string, now: Date, label: string): void {
  if (!READABLE_SCHEMAS.includes(header.schema)) {
    throw new FeedError(`feed ${label} has schema ${header.schema}; this version of provenance-guard reads schemas ${READABLE_SCHEMAS.join(' and ')}`, { file: label, code: 'ERR_PG_FEED_SCHEMA' });
  }
  if (Date.parse(header.expiresAt) <= now.getTime()) {
    throw new FeedError(`feed ${label} expired at ${header.expiresAt} (serial ${header.serial}); fetch a newer feed`, { file: label, code: 'ERR_PG_FEED_EXPIRED' });
  }
  if (Date.parse(header.generatedAt) > now.getTime() + FEED_CLOCK_SKEW_MS) {
    throw new FeedError(`feed ${label} was generated at ${header.generatedAt}, in the future (now ${now.toISOString()}, 5 minutes of clock skew allowed); refused`, {
      file: label,
      code: 'ERR_PG_FEED_FUTURE',
    });
  }
  if (trust.minSerial !== undefined && header.serial < trust.minSerial) {
    throw new FeedError(`feed ${label} has serial ${header.serial}, lower than feed.minSerial ${trust.minSerial} (rollback refused)`, { file: label, code: 'ERR_PG_FEED_ROLLBACK' });
  }
  const accepted = acceptedFeed(state, header.keyId);
  if (accepted && header.serial < accepted.serial) {
    throw new FeedError(
      `feed ${label} has serial ${header.serial}, older than serial ${accepted.serial} already accepted on this machine (rollback refused; state in ${statePath(state)}, \`${RESET_COMMAND} --key ${header.keyId}\` forgets it deliberately)`,
      { file: label, code: 'ERR_PG_FEED_ROLLBACK' },
    );
  }
  if (accepted && header.serial === accepted.serial && accepted.sha256 !== undefined && accepted.sha256 !== sha256) {
    throw sameSerialError(label, header.keyId, header.serial, accepted);
  }
}

/**
 * A preamble fetched from elsewhere, before anything of it is kept or its header sizes a request:
 * its signature against the pinned keys, then its schema, dates and serial as openFeed checks them.
 */
export function checkPreamble(preamble: Preamble, trust: FeedTrust, state: string, now: Date): void {
  const label = trust.label ?? 'feed';
  checkSignature(preamble, trust.publicKeys, label);
  checkFreshness(preamble.header, preambleDigest(preamble), trust, state, now, label);
}

/** Everything but the buckets: signature, schema, dates, rollback, size, index hash (schemas 1, 2). */
function openChecked(path: string, trust: FeedTrust, state: string, now: Date, preambleOnly = false): OpenedFeed {
  const label = trust.label ?? path;
  const fd = openFeedFile(path);
  try {
    if (fstatSync(fd).isDirectory()) throw new FeedError(`feed ${label} is a directory, not a feed file`, { file: label, code: 'ERR_PG_FEED_NOT_FOUND' });
    const preamble = readPreambleFd(fd, label);
    const { header } = preamble;
    checkSignature(preamble, trust.publicKeys, label);
    // From here on the header is trusted.
    const sha256 = preambleDigest(preamble);
    checkFreshness(header, sha256, trust, state, now, label);
    if (!preambleOnly && preamble.size !== preamble.bodyStart + header.bodyBytes) throw corrupted(label, `size is ${preamble.size} bytes, header says ${preamble.bodyStart + header.bodyBytes}`);
    if (header.schema === 3) return { fd, preamble, index: Buffer.alloc(0), sha256 };
    const indexLength = header.buckets * INDEX_ENTRY_BYTES;
    if (indexLength > header.bodyBytes) throw corrupted(label, 'index larger than the file');
    const index = readExactly(fd, indexLength, preamble.bodyStart, label);
    if (createHash('sha256').update(index).digest('hex') !== header.indexSha256) throw corrupted(label, 'index does not match its hash');
    return { fd, preamble, index, sha256 };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Checks every bucket against the index, and that the buckets tile the file exactly. */
function fullPass(opened: OpenedFeed, path: string): void {
  const { fd, preamble, index } = opened;
  const { header } = preamble;
  const bucketsStart = preamble.bodyStart + header.buckets * INDEX_ENTRY_BYTES;
  const bucketsBytes = header.bodyBytes - header.buckets * INDEX_ENTRY_BYTES;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = 0;
  let expectedOffset = 0;
  for (let b = 0; b < header.buckets; b++) {
    const entry = decodeIndexEntry(index, b);
    if (!entry) throw corrupted(path, `index entry ${b} is malformed`);
    if (entry.offset !== expectedOffset) throw corrupted(path, `bucket ${b} is not where the index says`);
    expectedOffset += entry.length;
    if (expectedOffset > bucketsBytes) throw corrupted(path, `bucket ${b} runs past the end of the file`);
    if (entry.offset < chunkStart || entry.offset + entry.length > chunkStart + chunk.length) {
      const length = Math.min(Math.max(FULL_PASS_CHUNK, entry.length), bucketsBytes - entry.offset);
      chunk = readExactly(fd, length, bucketsStart + entry.offset, path, chunk.length >= length ? chunk.subarray(0, length) : Buffer.allocUnsafe(length));
      chunkStart = entry.offset;
    }
    const bytes = chunk.subarray(entry.offset - chunkStart, entry.offset - chunkStart + entry.length);
    if (createHash('sha256').update(bytes).digest('hex') !== entry.sha256) throw corrupted(path, `bucket ${b} does not match its hash`);
    decoded(header.schema, bytes, b, path);
  }
  if (expectedOffset !== bucketsBytes) throw corrupted(path, 'buckets do not fill the file');
}

/**
 * Opens a feed for lookups. Synchronous. Verifies the signature, expiry, rollback and index
 * at every open, and each bucket it reads at lookup time. There is no whole-file pass: the
 * chain signature → header.indexSha256 → index entry (offset, length, SHA-256) → bucket
 * pins every byte a lookup can read, so an unread bucket cannot change an answer.
 */
export function openFeed(path: string, options: OpenFeedOptions): Feed {
  const now = options.now ?? new Date();
  const state = options.stateDir ?? defaultStateDir();
  const opened = openChecked(path, { publicKeys: options.publicKeys, ...(options.minSerial !== undefined ? { minSerial: options.minSerial } : {}) }, state, now, options.pages !== undefined);
  noteOpened(path, opened.sha256);
  const { fd, preamble, index } = opened;
  const header = preamble.header;
  try {
    if (options.recordAcceptance !== false) recordSerial(state, header.keyId, header.serial, opened.sha256, now, path);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  if (header.schema === 3) return treeFeed(opened, path, options.pages);
  if (options.pages) {
    closeSync(fd);
    throw corrupted(path, `schema ${header.schema} has no index pages`);
  }
  const bucketsStart = preamble.bodyStart + header.buckets * INDEX_ENTRY_BYTES;
  const bucketsBytes = header.bodyBytes - header.buckets * INDEX_ENTRY_BYTES;
  let closed = false;
  let scratch: Buffer = Buffer.allocUnsafe(64 * 1024);

  function lookup(name: string, version: string): FeedRecord | undefined {
    if (closed) throw new Error(`feed ${path} is closed`);
    const bucket = bucketOfHash(keyHash(recordKey(name, version)), header.buckets);
    const entry = decodeIndexEntry(index, bucket);
    if (!entry || entry.offset + entry.length > bucketsBytes) throw corrupted(path, `index entry ${bucket} is malformed`);
    if (entry.length === 0) return undefined;
    if (scratch.length < entry.length) scratch = Buffer.allocUnsafe(entry.length);
    const bytes = readExactly(fd, entry.length, bucketsStart + entry.offset, path, scratch.subarray(0, entry.length));
    if (createHash('sha256').update(bytes).digest('hex') !== entry.sha256) throw corrupted(path, `bucket ${bucket} does not match its hash`);
    return findLine(decoded(header.schema, bytes, bucket, path), name, version, bucket, path);
  }

  return {
    path,
    header,
    lookup,
    lookupAll: (keys) => keys.map(({ name, version }) => lookup(name, version)),
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

/**
 * Pages of a schema 3 feed read from its own file. A bucket is read into one reused buffer (it is
 * hashed and decoded at once, never kept); index pages, which the reader keeps, each get their own.
 */
function localPages(opened: OpenedFeed, label: string): PageSource {
  const start = opened.preamble.bodyStart;
  const bucketBuffer = Buffer.allocUnsafe(64 * 1024);
  return {
    read(ref) {
      return readExactly(opened.fd, ref.length, start + ref.offset, label, ref.level === 0 && ref.length <= bucketBuffer.length ? bucketBuffer.subarray(0, ref.length) : undefined);
    },
    readSpan: (offset, length) => readExactly(opened.fd, length, start + offset, label),
  };
}

/** For `feed verify`, which reads the buckets in file order: 8 MB reads instead of one per bucket. */
function sequentialPages(opened: OpenedFeed, label: string): PageSource {
  const start = opened.preamble.bodyStart;
  const end = start + opened.preamble.header.bodyBytes;
  let window: Buffer = Buffer.alloc(0);
  let windowStart = 0;
  return {
    read(ref) {
      const at = start + ref.offset;
      // Index pages are read apart (and kept by the reader's cache: not as views of a window).
      if (ref.level > 0) return readExactly(opened.fd, ref.length, at, label);
      if (at < windowStart || at + ref.length > windowStart + window.length) {
        const length = Math.max(ref.length, Math.min(FULL_PASS_CHUNK, end - at));
        window = readExactly(opened.fd, length, at, label);
        windowStart = at;
      }
      return window.subarray(at - windowStart, at - windowStart + ref.length);
    },
  };
}

/** A schema 3 feed: lookups walk the hash tree (see tree-reader.ts). */
function treeFeed(opened: OpenedFeed, path: string, pages: PageSource | undefined): Feed {
  let tree: TreeReader;
  try {
    tree = new TreeReader(opened.preamble.header, pages ?? localPages(opened, path), path);
  } catch (error) {
    closeSync(opened.fd);
    throw error;
  }
  let closed = false;
  return {
    path,
    header: opened.preamble.header,
    lookup(name, version) {
      if (closed) throw new Error(`feed ${path} is closed`);
      return tree.lookup(name, version);
    },
    lookupAll(keys) {
      if (closed) throw new Error(`feed ${path} is closed`);
      return tree.lookupAll(keys);
    },
    prepare(count) {
      if (closed) throw new Error(`feed ${path} is closed`);
      tree.prepare(count);
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(opened.fd);
    },
  };
}

/** A bucket's NDJSON from its verified stored bytes. */
function decoded(schema: number, bytes: Buffer, bucket: number, path: string): Buffer {
  try {
    return decodeBucket(schema, bytes);
  } catch {
    throw corrupted(path, `bucket ${bucket} does not decode`);
  }
}

/**
 * `feed verify`, and a download before it replaces the cached copy: checks every byte;
 * does not record acceptance.
 */
export function verifyFeed(
  path: string,
  publicKeys: string[],
  options: { stateDir?: string; now?: Date; minSerial?: number; label?: string } = {},
): FeedHeader & { sha256: string } {
  const state = options.stateDir ?? defaultStateDir();
  const trust: FeedTrust = { publicKeys };
  if (options.minSerial !== undefined) trust.minSerial = options.minSerial;
  if (options.label !== undefined) trust.label = options.label;
  const opened = openChecked(path, trust, state, options.now ?? new Date());
  try {
    if (opened.preamble.header.schema === 3) verifyTree(new TreeReader(opened.preamble.header, sequentialPages(opened, trust.label ?? path), trust.label ?? path));
    else fullPass(opened, trust.label ?? path);
    return { ...opened.preamble.header, sha256: opened.sha256 };
  } finally {
    closeSync(opened.fd);
  }
}

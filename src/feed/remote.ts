/**
 * A feed read lazily over HTTP range requests: `feed.source: https://host/provenance.feed#range`.
 *
 * Schema 3 (remote-tree.ts): the signed preamble is kept in the cache directory; the pages a
 * check needs are fetched level by level and cached page by page under their SHA-256; openFeed()
 * verifies the signature and every page against its parent at every read.
 *
 * Schemas 1 and 2: the local copy is a sparse file of the feed's full size in the cache
 * directory: the preamble and the index are fetched whole, buckets only when a lookup needs them,
 * each written at its own offset. openFeed() then reads that file with every check it always
 * makes, so nothing fetched is trusted before the signature chain pins it, and a bucket never
 * fetched (a hole of zeros) can only fail its hash.
 *
 * A later run revalidates the first bytes with If-None-Match (a 304: no body) and fetches only
 * what it lacks. Redirects never go from https to plain http.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, linkSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sweepStaleTemps, writeFileAtomic, tempPathFor } from '../atomic';
import { readCacheFile } from '../cache-file';
import { FeedError } from '../errors';
import { stateMac, stateMacMatches } from '../machine-secret';
import { INDEX_ENTRY_BYTES, MAGIC, SIG_LINE_BYTES, bucketOfHash, decodeIndexEntry, keyHash, recordKey, type IndexEntry } from './format';
import { readPreamble, type Preamble } from './preamble';
import { checkPreamble } from './reader';
import { preambleDigest } from './opened';
import { PageStore, prefetchTree } from './remote-tree';
import { rangeGet } from './range-http';
import type { PageSource } from './tree-reader';

export const RANGE_SUFFIX = '#range';
/** First request: enough for the magic, a header line and the signature line. */
const HEAD_BYTES = 4096;
const MAX_HEAD_BYTES = 64 * 1024 + 256;
const TIMEOUT_MS = 60_000;
const CONCURRENCY = 8;
/** Buckets closer than this are fetched in one request. */
const MERGE_GAP = 2048;

export function isRangeSource(source: string): boolean {
  return /^https?:\/\//i.test(source.trim()) && source.trim().endsWith(RANGE_SUFFIX);
}

export interface RemoteFeedFile {
  /** The local sparse copy, for openFeed(). */
  path: string;
  /** Fetches the buckets these packages fall in that the local copy lacks. */
  prefetch(packages: readonly { name: string; version: string }[]): Promise<void>;
  /** Bytes received over HTTP so far (bodies only). */
  readonly bytesFetched: number;
  /** HTTP requests made so far. */
  readonly requests: number;
  /** Schema 3: the page cache openFeed() reads pages from (`path` then holds only the preamble). */
  pages?: PageSource;
}

export interface Meta {
  url: string;
  etag?: string;
  /** The current sparse copy, named after its signed preamble. */
  file: string;
}

/** What a `#range` source is opened with: where its cache is, and what its feed must satisfy before anything of it is kept. */
export interface RemoteFeedOptions {
  cacheDir: string;
  /** paths.ts stateDir: the machine secret meta.json is MAC'd with, the accepted serials. */
  stateDir: string;
  offline: boolean;
  /** `feed.publicKeys`: a fetched preamble is verified before it replaces the cached one or sizes a request. */
  publicKeys: string[];
  minSerial?: number;
  now?: Date;
}

/** meta.json is the guard's state: it says which cached head an ETag validates, so it carries a MAC under the machine secret. */
const MAX_META_BYTES = 64 * 1024;

const META_PURPOSE = 'pg-range-meta/1';

/** Written after each fetched head (exported for tests that plant an authentic one). */
export function writeMeta(dir: string, stateDir: string, meta: Meta): void {
  const mac = stateMac(stateDir, true, META_PURPOSE, [meta.url, meta.etag, meta.file]);
  writeFileAtomic(join(dir, 'meta.json'), JSON.stringify({ ...meta, ...(mac ? { mac } : {}) }) + '\n');
}

const KEEP_OLD_COPIES_MS = 10 * 60 * 1000;

class RangeClient {
  bytesFetched = 0;
  requests = 0;
  constructor(private readonly url: string, public etag: string | undefined) {}

  async get(start: number, end: number, conditional?: string): Promise<{ status: number; body: Buffer; etag: string | undefined; total: number | undefined }> {
    const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` };
    if (conditional) headers['if-none-match'] = conditional;
    else if (this.etag) headers['if-range'] = this.etag;
    this.requests++;
    const answer = await rangeGet(new URL(this.url), headers, TIMEOUT_MS, end - start);
    if (answer.status === 304) return { status: 304, body: Buffer.alloc(0), etag: this.etag, total: undefined };
    const body = answer.body;
    this.bytesFetched += body.length;
    if (answer.status !== 206) {
      throw new FeedError(`GET ${this.url} (bytes ${start}-${end - 1}) answered ${answer.status}: a #range feed source needs a server that answers range requests (206) and a feed that does not change while it is read`);
    }
    const total = Number(/\/(\d+)$/.exec(answer.headers['content-range'] ?? '')?.[1]);
    const etag = answer.headers.etag;
    return { status: 206, body, etag, total: Number.isFinite(total) ? total : undefined };
  }
}

function writeAt(path: string, offset: number, data: Buffer): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    throw new FeedError(`cannot write the cached feed copy ${path}: ${(error as Error).message}`, { file: path, cause: error });
  }
  try {
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
  } finally {
    closeSync(fd);
  }
}

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, offset);
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/**
 * A fresh sparse copy: preamble and index written, buckets left as holes. Copies are named after
 * their signed preamble and never replaced: a process still reading (and filling) one keeps doing
 * so while another switches to a newer feed.
 */
async function freshCopy(client: RangeClient, url: string, dir: string, head: { body: Buffer; etag: string | undefined; total: number | undefined }, options: RemoteFeedOptions): Promise<string> {
  if (head.total === undefined) throw new FeedError(`GET ${url}: no Content-Range total in the answer to a range request`);
  const tmp = tempPathFor(join(dir, 'provenance.feed'));
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    ftruncateSync(fd, head.total);
    writeSync(fd, head.body, 0, Math.min(head.body.length, head.total), 0);
  } finally {
    closeSync(fd);
  }
  let path: string;
  try {
    const preamble = readPreamble(tmp);
    // Signed, fresh and no rollback before its header sizes the index request or replaces anything.
    checkHead(preamble, url, options);
    path = join(dir, `feed-${preambleDigest(preamble).slice(0, 32)}`);
    const indexEnd = preamble.bodyStart + preamble.header.buckets * INDEX_ENTRY_BYTES;
    // A copy of this feed already here is used only if its index is the signed one (else it was planted or torn).
    if (existsSync(path) && !indexMatches(path, preamble)) rmSync(path, { force: true });
    if (!existsSync(path) && indexEnd > head.body.length) {
      const rest = await client.get(head.body.length, indexEnd);
      if (rest.etag !== head.etag) throw new FeedError(`the feed at ${url} changed while it was read; run again`);
      writeAt(tmp, head.body.length, rest.body);
    }
    try {
      linkSync(tmp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  writeMeta(dir, options.stateDir, { url, ...(head.etag ? { etag: head.etag } : {}), file: basename(path) });
  pruneOldCopies(dir, basename(path));
  return path;
}

function checkHead(preamble: Preamble, url: string, options: RemoteFeedOptions): void {
  checkPreamble(preamble, { publicKeys: options.publicKeys, ...(options.minSerial !== undefined ? { minSerial: options.minSerial } : {}), label: url }, options.stateDir, options.now ?? new Date());
}

/** Whether a schema 1/2 copy holds the index its signed header hashes. */
function indexMatches(path: string, preamble: Preamble): boolean {
  try {
    const index = readAt(path, preamble.bodyStart, preamble.header.buckets * INDEX_ENTRY_BYTES);
    return createHash('sha256').update(index).digest('hex') === preamble.header.indexSha256;
  } catch {
    return false;
  }
}

function pruneOldCopies(dir: string, keep: string): void {
  for (const name of readdirSync(dir)) {
    if (!/^(feed|head)-/.test(name) || name === keep) continue;
    try {
      if (Date.now() - statSync(join(dir, name)).mtimeMs > KEEP_OLD_COPIES_MS) rmSync(join(dir, name), { force: true });
    } catch {
      // removed meanwhile
    }
  }
}

/**
 * meta.json when this machine wrote it: a copy restored from elsewhere (a pull-request job's CI
 * cache) could otherwise pair the server's current ETag with an older signed head, which a 304
 * would then confirm. Anything else is no cache: the head is fetched unconditionally.
 */
function readMeta(dir: string, stateDir: string): Meta | undefined {
  const bytes = readCacheFile(join(dir, 'meta.json'), MAX_META_BYTES);
  if (!bytes) return undefined;
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Partial<Meta> & { mac?: unknown };
    if (typeof value.url !== 'string' || typeof value.file !== 'string' || (value.etag !== undefined && typeof value.etag !== 'string')) return undefined;
    const meta: Meta = { url: value.url, file: value.file, ...(value.etag !== undefined ? { etag: value.etag } : {}) };
    return stateMacMatches(stateDir, META_PURPOSE, [meta.url, meta.etag, meta.file], value.mac) ? meta : undefined;
  } catch {
    return undefined;
  }
}

/** The cache folder of one URL, as a real directory of its own: a symlink there (a restored cache) is removed, never followed. */
function slotDir(dir: string, create: boolean): boolean {
  let stat;
  try {
    stat = lstatSync(dir);
  } catch {
    if (create) mkdirSync(dir, { recursive: true });
    return create;
  }
  if (stat.isDirectory()) return true;
  if (!create) return false;
  rmSync(dir, { force: true });
  mkdirSync(dir, { recursive: true });
  return true;
}

/** A cached copy (`head-` or `feed-` and 32 hex digits) holds the signed preamble its name was made from. */
function namedAfterItsPreamble(path: string): boolean {
  try {
    return basename(path).endsWith(`-${preambleDigest(readPreamble(path)).slice(0, 32)}`);
  } catch {
    return false;
  }
}

/** Plain http only to the loopback, by the URL's parsed host (never its text: `http://127.0.0.1:x@evil/`). */
function checkTransport(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FeedError(`feed source ${url} is not a URL`);
  }
  if (parsed.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) {
    throw new FeedError(`feed source ${url} uses plain http; use https (http is only allowed for 127.0.0.1)`);
  }
}

/** Revalidates (or fetches) the head of the feed and returns the local sparse copy. */
export async function openRemoteFeedFile(source: string, options: RemoteFeedOptions): Promise<RemoteFeedFile> {
  const url = source.trim().slice(0, -RANGE_SUFFIX.length);
  checkTransport(url);
  const feeds = join(options.cacheDir, 'feeds');
  const dir = join(feeds, `range-${createHash('sha256').update(url).digest('hex').slice(0, 24)}`);
  const usable = slotDir(feeds, !options.offline) && slotDir(dir, !options.offline);
  const meta = usable ? readMeta(dir, options.stateDir) : undefined;
  const local = join(dir, meta?.file && /^(feed|head)-[0-9a-f]{32}$/.test(meta.file) ? meta.file : 'missing');
  // meta.json, when the copy it names is there, of this URL, and still the feed its name hashes.
  const cached = meta?.url === url && namedAfterItsPreamble(local) ? meta : undefined;
  // The ETag validates the cached copy only: with none, the head request is unconditional.
  const client = new RangeClient(url, cached?.etag);
  let path = local;
  if (!options.offline) {
    sweepStaleTemps(dir);
    const head = await client.get(0, HEAD_BYTES, cached?.etag);
    const headerEnd = head.body.indexOf(0x0a, MAGIC.length);
    const preambleHeld = headerEnd !== -1 && headerEnd + 1 + SIG_LINE_BYTES <= head.body.length;
    // (A 304 has no body and no total.)
    if (!preambleHeld && (head.total ?? 0) > head.body.length) {
      // A header (or its signature line) past the first request: fetch the rest of what a preamble may be.
      const rest = await client.get(head.body.length, Math.min(MAX_HEAD_BYTES, head.total!));
      head.body = Buffer.concat([head.body, rest.body]);
    }
    // A 304 confirms only the copy this machine asked about; to an unconditional request it names nothing.
    if (head.status === 304 && cached === undefined) throw new FeedError(`GET ${url} answered 304 Not Modified to a request without a validator; refused`, { code: 'ERR_PG_FEED_DOWNLOAD' });
    if (head.status !== 304) {
      const same = cached !== undefined && head.etag !== undefined && head.etag === cached.etag;
      // Later range requests carry If-Range of this head's ETag (a schema 1/2 index request too).
      client.etag = head.etag;
      path = same ? local : isTreeHead(head.body) ? treeHeadCopy(url, dir, head, options) : await freshCopy(client, url, dir, head, options);
    }
  } else if (!cached) {
    throw new FeedError(`offline, and no cached copy of the feed from ${url} (run once online to fetch it)`);
  }
  if (basename(path).startsWith('head-')) return treeRemote(client, path, dir, url, options.offline);
  return {
    get requests() {
      return client.requests;
    },
    path,
    get bytesFetched() {
      return client.bytesFetched;
    },
    prefetch: (packages) => prefetch(client, path, readPreamble(path), packages, options.offline, url),
  };
}

/** Whether the first bytes of a feed announce schema 3 (checked for real once the signature is). */
function isTreeHead(body: Buffer): boolean {
  if (body.toString('latin1', 0, MAGIC.length) !== MAGIC) return false;
  const end = body.indexOf(0x0a, MAGIC.length);
  try {
    return end > 0 && (JSON.parse(body.toString('utf8', MAGIC.length, end)) as { schema?: unknown }).schema === 3;
  } catch {
    return false;
  }
}

/** Keeps a schema 3 feed's preamble (magic, header, signature) as head-<hash>; its pages go to the page cache. */
function treeHeadCopy(url: string, dir: string, head: { body: Buffer; etag: string | undefined; total: number | undefined }, options: RemoteFeedOptions): string {
  const tmp = tempPathFor(join(dir, 'head'));
  let preamble: Preamble;
  try {
    writeFileAtomic(tmp, head.body);
    preamble = readPreamble(tmp);
  } finally {
    rmSync(tmp, { force: true });
  }
  checkHead(preamble, url, options);
  if (head.total !== preamble.bodyStart + preamble.header.bodyBytes) {
    throw new FeedError(`feed ${url} is ${head.total ?? 'of unknown'} bytes, its header says ${preamble.bodyStart + preamble.header.bodyBytes}; refused`, { code: 'ERR_PG_FEED_CORRUPT' });
  }
  const path = join(dir, `head-${preambleDigest(preamble).slice(0, 32)}`);
  writeFileAtomic(path, head.body.subarray(0, preamble.bodyStart));
  writeMeta(dir, options.stateDir, { url, ...(head.etag ? { etag: head.etag } : {}), file: basename(path) });
  pruneOldCopies(dir, basename(path));
  return path;
}

function treeRemote(client: RangeClient, path: string, dir: string, url: string, offline: boolean): RemoteFeedFile {
  const store = new PageStore(join(dir, 'pages'), url);
  return {
    path,
    pages: store,
    get bytesFetched() {
      return client.bytesFetched;
    },
    get requests() {
      return client.requests;
    },
    prefetch: (packages) => prefetchTree({ store, client, preamble: readPreamble(path), offline, url }, packages),
  };
}

function missingBuckets(path: string, preamble: Preamble, packages: readonly { name: string; version: string }[]): IndexEntry[] {
  const { header, bodyStart } = preamble;
  const index = readAt(path, bodyStart, header.buckets * INDEX_ENTRY_BYTES);
  const bucketsStart = bodyStart + index.length;
  const wanted = new Map<number, IndexEntry>();
  for (const { name, version } of packages) {
    const bucket = bucketOfHash(keyHash(recordKey(name, version)), header.buckets);
    if (wanted.has(bucket)) continue;
    const entry = decodeIndexEntry(index, bucket);
    // A malformed entry is left to openFeed, which refuses the index as a whole.
    if (!entry || entry.length === 0) continue;
    const have = readAt(path, bucketsStart + entry.offset, entry.length);
    if (createHash('sha256').update(have).digest('hex') !== entry.sha256) wanted.set(bucket, { ...entry, offset: bucketsStart + entry.offset });
  }
  return [...wanted.values()].sort((a, b) => a.offset - b.offset);
}

async function prefetch(client: RangeClient, path: string, preamble: Preamble, packages: readonly { name: string; version: string }[], offline: boolean, url: string): Promise<void> {
  const missing = missingBuckets(path, preamble, packages);
  if (missing.length === 0) return;
  if (offline) throw new FeedError(`offline, and ${missing.length} page${missing.length === 1 ? '' : 's'} of the feed from ${url} are not cached (run once online)`);
  const ranges: { start: number; end: number }[] = [];
  for (const entry of missing) {
    const last = ranges[ranges.length - 1];
    if (last && entry.offset - last.end <= MERGE_GAP) last.end = Math.max(last.end, entry.offset + entry.length);
    else ranges.push({ start: entry.offset, end: entry.offset + entry.length });
  }
  let next = 0;
  const worker = async () => {
    while (next < ranges.length) {
      const range = ranges[next++]!;
      const answer = await client.get(range.start, range.end);
      if (answer.body.length !== range.end - range.start) throw new FeedError(`GET ${url}: a range request returned ${answer.body.length} bytes, expected ${range.end - range.start}`);
      writeAt(path, range.start, answer.body);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ranges.length) }, worker));
}

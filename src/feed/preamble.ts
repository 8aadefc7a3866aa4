import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { FeedError } from '../errors';
import { MAGIC, SIG_LINE_BYTES, SIG_PREFIX, type FeedHeader, type FeedLayout } from './format';

const MAX_HEADER_BYTES = 64 * 1024;

export type LayoutHeader = FeedHeader & FeedLayout;

export interface Preamble {
  header: LayoutHeader;
  /** Magic line + header line: the bytes the signature covers. */
  signed: Buffer;
  signature: Buffer;
  /** Where the index starts. */
  bodyStart: number;
  size: number;
}

function isIso(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

const isSha256 = (value: unknown): boolean => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);

/** Schema 3 pins its body with a root page, the others with a flat index hash. */
function pinsBody(h: Partial<LayoutHeader>): boolean {
  return h.schema === 3 ? isSha256(h.rootSha256) && isCount(h.rootLength) && isCount(h.fanout) : isSha256(h.indexSha256);
}

/** Reads and checks the shape of the magic, header and signature lines (not the signature). */
export function readPreambleFd(fd: number, path: string): Preamble {
  const size = fstatSync(fd).size;
  const head = Buffer.alloc(Math.min(size, MAX_HEADER_BYTES + MAGIC.length + SIG_LINE_BYTES + 1));
  readSync(fd, head, 0, head.length, 0);
  const notFeed = (why: string) => new FeedError(`${path} is not a provenance-guard feed (${why})`, { file: path, code: 'ERR_PG_FEED_FORMAT' });
  if (head.toString('latin1', 0, MAGIC.length) !== MAGIC) throw notFeed('missing feed magic line');
  const headerEnd = head.indexOf(0x0a, MAGIC.length);
  if (headerEnd < 0) throw notFeed('header line missing or too long');
  let parsed: unknown;
  try {
    parsed = JSON.parse(head.toString('utf8', MAGIC.length, headerEnd));
  } catch {
    throw notFeed('header is not JSON');
  }
  const h = parsed as Partial<LayoutHeader>;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw notFeed('header is not an object');
  if (typeof h.schema !== 'number') throw notFeed('header has no schema');
  if (
    !isCount(h.serial) || !isIso(h.generatedAt) || !isIso(h.expiresAt) || !isCount(h.records) || typeof h.keyId !== 'string' ||
    !isCount(h.buckets) || h.buckets < 1 || !isCount(h.bodyBytes) || !pinsBody(h)
  ) {
    throw notFeed('header is incomplete');
  }
  const sigStart = headerEnd + 1;
  const sigLine = head.toString('latin1', sigStart, sigStart + SIG_LINE_BYTES);
  if (sigLine.length !== SIG_LINE_BYTES || !sigLine.startsWith(SIG_PREFIX) || !sigLine.endsWith('\n')) throw notFeed('signature line missing');
  const sigText = sigLine.slice(SIG_PREFIX.length, -1);
  if (!/^[A-Za-z0-9+/]{86}==$/.test(sigText)) throw notFeed('signature line is malformed');
  const bodyStart = sigStart + SIG_LINE_BYTES;
  return {
    header: h as LayoutHeader,
    signed: Buffer.from(head.subarray(0, sigStart)),
    signature: Buffer.from(sigText, 'base64'),
    bodyStart,
    size,
  };
}

/** Opens a feed file for reading, as a FeedError when it cannot be. */
export function openFeedFile(path: string): number {
  try {
    // Never blocks: a FIFO in place of a feed (or of a cached copy) must fail, not hang the install.
    return openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw new FeedError(`cannot open feed ${path}: ${(error as Error).message}`, { file: path, cause: error, code: 'ERR_PG_FEED_NOT_FOUND' });
  }
}

export function readPreamble(path: string): Preamble {
  const fd = openFeedFile(path);
  try {
    return readPreambleFd(fd, path);
  } finally {
    closeSync(fd);
  }
}

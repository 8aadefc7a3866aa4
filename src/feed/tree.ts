/**
 * Schema 3: a hash tree index (see format.ts for the whole file layout and the arithmetic).
 *
 * Level 0 holds the buckets (DEFLATE, RECORDS_PER_BUCKET_3 records each on average), level 1 the
 * index pages listing FANOUT buckets each, level 2 the pages listing FANOUT level-1 pages, and so
 * on up to one root page, whose SHA-256 and length the signed header holds. An index page:
 *
 *   u8 0x49 ('I') | u8 level | u16 count | u32 position in its level | u48 offset of its first child
 *   count × (u32 length, 32-byte SHA-256) of its children, in order
 *
 * Child i of page p at level k is page p·FANOUT + i of level k-1; it starts at the first child's
 * offset plus the lengths of the children before it (offsets are relative to the body, the byte
 * after the signature line). The file body is level 0, then level 1, …, then the root: the
 * root's offset is bodyBytes − rootLength.
 */
import { hash } from 'node:crypto';

export const TREE_SCHEMA = 3;
export const RECORDS_PER_BUCKET_3 = 16;
export const FANOUT = 16;
export const PAGE_HEAD_BYTES = 14;
export const CHILD_BYTES = 36;
const PAGE_TAG = 0x49;
/** A stored bucket larger than this is refused before it is read (16 records are ~2.5 KB). */
export const MAX_BUCKET_BYTES = 4 * 1024 * 1024;
export const MIN_FANOUT = 2;
export const MAX_FANOUT = 1024;
/** sha256 of no bytes (written out: no hash is computed when a hook bundle loads). */
export const EMPTY_SHA256 = Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex');

/** Where a page or bucket is and what it must hash to (pinned by its parent). */
export interface PageRef {
  level: number;
  position: number;
  offset: number;
  length: number;
  sha256: Buffer;
}

/** Pages at each level, from the buckets (level 0) up to the root (always at least one index level). */
export function levelSizes(buckets: number, fanout: number): number[] {
  const sizes = [buckets];
  while (sizes.length === 1 || sizes[sizes.length - 1]! > 1) sizes.push(Math.ceil(sizes[sizes.length - 1]! / fanout));
  return sizes;
}

export function pageBytes(children: number): number {
  return PAGE_HEAD_BYTES + children * CHILD_BYTES;
}

/** How many children page `position` of a level has, when the level below holds `below` pages. */
export function childCount(position: number, below: number, fanout: number): number {
  return Math.max(0, Math.min(fanout, below - position * fanout));
}

export function encodePage(level: number, position: number, firstChild: number, children: readonly { length: number; sha256: Buffer }[]): Buffer {
  const page = Buffer.alloc(pageBytes(children.length));
  page[0] = PAGE_TAG;
  page[1] = level;
  page.writeUInt16BE(children.length, 2);
  page.writeUInt32BE(position, 4);
  page.writeUIntBE(firstChild, 8, 6);
  children.forEach((child, i) => {
    const at = PAGE_HEAD_BYTES + i * CHILD_BYTES;
    page.writeUInt32BE(child.length, at);
    child.sha256.copy(page, at + 4);
  });
  return page;
}

/** Why a verified page is not the page expected at (level, position) with `count` children, if it is not. */
export function pageProblem(page: Buffer, level: number, position: number, count: number): string | undefined {
  if (page.length !== pageBytes(count)) return `page ${level}/${position} has ${page.length} bytes, expected ${pageBytes(count)}`;
  if (page[0] !== PAGE_TAG || page[1] !== level || page.readUInt32BE(4) !== position || page.readUInt16BE(2) !== count) {
    return `page ${level}/${position} is not the page of that place in the tree`;
  }
  return undefined;
}

/** Child i of a checked page at (level, position): its offset follows from the lengths before it. */
export function childOf(page: Buffer, level: number, position: number, i: number, fanout: number): PageRef {
  let offset = page.readUIntBE(8, 6);
  for (let j = 0; j < i; j++) offset += page.readUInt32BE(PAGE_HEAD_BYTES + j * CHILD_BYTES);
  const at = PAGE_HEAD_BYTES + i * CHILD_BYTES;
  return { level: level - 1, position: position * fanout + i, offset, length: page.readUInt32BE(at), sha256: page.subarray(at + 4, at + 4 + 32) };
}

/** One-shot crypto.hash: no Hash object per page (thousands of them in a cold process). */
export function sha256Of(bytes: Buffer): Buffer {
  return hash('sha256', bytes, 'buffer');
}

/** Position of the page at `level` on the path from the root to `bucket`. */
export function pathPosition(bucket: number, level: number, fanout: number): number {
  return Math.floor(bucket / fanout ** level);
}

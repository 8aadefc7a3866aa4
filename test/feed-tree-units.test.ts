/**
 * Schema 3 hash tree, read in process (tree.ts, tree-reader.ts, preamble.ts): trees laid out by
 * hand with any fanout (as a buggy or hostile publisher could sign them), read through a page
 * source that counts what is fetched, and signed into real feed files for `feed verify` and
 * lookups. Written against the mutants Stryker left alive (docs/mutation.md).
 */
import { sign } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeedError } from '../src/errors';
import { MAGIC, SIG_PREFIX, bucketOfHash, encodeBucket, keyHash, recordKey } from '../src/feed/format';
import { keyId, readPrivateKey } from '../src/feed/keys';
import { readPreamble, type LayoutHeader } from '../src/feed/preamble';
import { openFeed, verifyFeed } from '../src/feed/reader';
import {
  FANOUT, MAX_BUCKET_BYTES, childCount, childOf, encodePage, levelSizes, pageBytes, pageProblem, pathPosition, sha256Of, type PageRef,
} from '../src/feed/tree';
import { TreeReader, findLine, treeBuckets, treeShape, verifyTree } from '../src/feed/tree-reader';
import { TreeWriter } from '../src/feed/tree-writer';
import type { FeedRecord } from '../src/types';
import { thrown } from './helpers/errors';
import { makeKeys, sampleRecords } from './helpers/feed-fixtures';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-feed-tree-units-');
const keys = makeKeys(temp('pg-keys-'));
const privateKey = readPrivateKey(keys.privateKeyPath);

const keyOf = (r: { name: string; version: string }) => recordKey(r.name, r.version);
const bucketOf = (r: { name: string; version: string }, buckets: number) => bucketOfHash(keyHash(keyOf(r)), buckets);
const line = (r: FeedRecord) => JSON.stringify(r) + '\n';

/** Bucket texts of these records: each in the bucket its key maps to, sorted by name@version. */
function bucketTexts(records: FeedRecord[], buckets: number): string[] {
  const texts: string[][] = Array.from({ length: buckets }, () => []);
  for (const r of [...records].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))) texts[bucketOf(r, buckets)]!.push(line(r));
  return texts.map((t) => t.join(''));
}

const stored = (texts: string[]) => texts.map((t) => (t === '' ? Buffer.alloc(0) : encodeBucket(3, t)));

interface TreeOptions {
  fanout?: number;
  records?: number;
  /** Junk bytes put before item `position` of `level` (level 0: buckets). */
  gap?: { level: number; position: number; bytes?: number };
  /** Rewrites a page before its parent hashes it (a hostile publisher signs whatever it writes). */
  page?: (level: number, position: number, page: Buffer) => Buffer;
  header?: Record<string, unknown>;
}

interface Laid {
  body: Buffer;
  header: LayoutHeader;
  /** Every page and bucket as placed, by level. */
  levels: PageRef[][];
}

/** Lays out buckets and index pages the way format.ts describes, with any fanout and the faults asked for. */
function layTree(buckets: Buffer[], options: TreeOptions = {}): Laid {
  const fanout = options.fanout ?? FANOUT;
  const parts: Buffer[] = [];
  let offset = 0;
  const put = (level: number, position: number, bytes: Buffer): PageRef => {
    const { gap } = options;
    if (gap && gap.level === level && gap.position === position) {
      const junk = Buffer.alloc(gap.bytes ?? 7, 0x20);
      parts.push(junk);
      offset += junk.length;
    }
    parts.push(bytes);
    const ref = { level, position, offset, length: bytes.length, sha256: sha256Of(bytes) };
    offset += bytes.length;
    return ref;
  };
  let below = buckets.map((b, i) => put(0, i, b));
  const levels = [below];
  for (let level = 1; level === 1 || below.length > 1; level++) {
    const pages: PageRef[] = [];
    for (let p = 0; p * fanout < below.length; p++) {
      const children = below.slice(p * fanout, (p + 1) * fanout);
      let page = encodePage(level, p, children[0]!.offset, children);
      if (options.page) page = options.page(level, p, page);
      pages.push(put(level, p, page));
    }
    below = pages;
    levels.push(pages);
  }
  const root = below[0]!;
  const header = {
    schema: 3, serial: 5, generatedAt: new Date(Date.now() - 60_000).toISOString(), expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    records: options.records ?? 0, keyId: keyId(privateKey), buckets: buckets.length, fanout, rootSha256: root.sha256.toString('hex'),
    rootLength: root.length, bodyBytes: offset, ...options.header,
  } as LayoutHeader;
  return { body: Buffer.concat(parts), header, levels };
}

function layRecords(records: FeedRecord[], buckets: number, options: TreeOptions = {}): Laid {
  return layTree(stored(bucketTexts(records, buckets)), { records: records.length, ...options });
}

/** A reader over the laid body, and every ref it asked the page source for. */
function readerOf(laid: Laid, label = 'test.feed'): { reader: TreeReader; reads: PageRef[] } {
  const reads: PageRef[] = [];
  const reader = new TreeReader(laid.header, { read: (ref) => (reads.push(ref), laid.body.subarray(ref.offset, ref.offset + ref.length)) }, label);
  return { reader, reads };
}

/** The laid tree as a real feed file, signed with the test key. */
function signed(laid: Laid, header: Record<string, unknown> = laid.header): string {
  const head = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
  const path = join(temp(), 'provenance.feed');
  writeFileSync(path, Buffer.concat([head, Buffer.from(`${SIG_PREFIX}${sign(null, head, privateKey).toString('base64')}\n`), laid.body]));
  return path;
}

const verify = (path: string) => verifyFeed(path, [keys.publicKey], { stateDir: temp() });
const open = (path: string) => openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp() });
const corrupt = (fn: () => unknown) => {
  const error = thrown(FeedError, fn);
  expect(error.code).toBe('ERR_PG_FEED_CORRUPT');
  return error;
};

describe('tree arithmetic (tree.ts)', () => {
  it('levelSizes: the buckets, then pages per level up to one root; always at least one index level', () => {
    expect(levelSizes(1, 16)).toEqual([1, 1]);
    expect(levelSizes(16, 16)).toEqual([16, 1]);
    expect(levelSizes(17, 16)).toEqual([17, 2, 1]);
    expect(levelSizes(257, 16)).toEqual([257, 17, 2, 1]);
    expect(levelSizes(5, 2)).toEqual([5, 3, 2, 1]);
    expect(levelSizes(1024, 1024)).toEqual([1024, 1]);
  });

  it('pageBytes, childCount and pathPosition', () => {
    expect(pageBytes(0)).toBe(14);
    expect(pageBytes(16)).toBe(14 + 16 * 36);
    expect(childCount(0, 17, 16)).toBe(16);
    expect(childCount(1, 17, 16)).toBe(1);
    expect(childCount(2, 17, 16)).toBe(0);
    expect(childCount(0, 3, 16)).toBe(3);
    expect(pathPosition(37, 0, 2)).toBe(37);
    expect(pathPosition(37, 1, 2)).toBe(18);
    expect(pathPosition(37, 3, 2)).toBe(4);
    expect(pathPosition(300, 2, 16)).toBe(1);
  });

  it('a page holds its tag, level, count, position, first child offset and each child; childOf adds the lengths before', () => {
    const children = [5, 0, 300, 7].map((length, i) => ({ length, sha256: sha256Of(Buffer.from([i])) }));
    const page = encodePage(2, 3, 0x0102_0304_0506, children);
    expect(page.length).toBe(pageBytes(4));
    expect([...page.subarray(0, 14)]).toEqual([0x49, 2, 0, 4, 0, 0, 0, 3, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
    expect(pageProblem(page, 2, 3, 4)).toBeUndefined();
    const offsets = [0, 5, 5, 305];
    children.forEach((child, i) => {
      const ref = childOf(page, 2, 3, i, 4);
      expect(ref).toEqual({ level: 1, position: 3 * 4 + i, offset: 0x0102_0304_0506 + offsets[i]!, length: child.length, sha256: child.sha256 });
    });
  });

  it('pageProblem names a page of the wrong length, tag, level, position or count', () => {
    const children = [1, 2, 3].map((length) => ({ length, sha256: sha256Of(Buffer.from([length])) }));
    const page = encodePage(1, 4, 0, children);
    const forged = (at: number, value: number) => {
      const copy = Buffer.from(page);
      copy[at] = value;
      return copy;
    };
    expect(pageProblem(page, 1, 4, 3)).toBeUndefined();
    expect(pageProblem(Buffer.concat([page, Buffer.alloc(36)]), 1, 4, 3)).toBe('page 1/4 has 158 bytes, expected 122');
    expect(pageProblem(page, 1, 4, 4)).toBe('page 1/4 has 122 bytes, expected 158');
    for (const bad of [forged(0, 0x4a), forged(1, 2), forged(7, 5), forged(3, 2)]) expect(pageProblem(bad, 1, 4, 3)).toBe('page 1/4 is not the page of that place in the tree');
    expect(pageProblem(page, 2, 4, 3)).toMatch(/not the page of that place/);
    expect(pageProblem(page, 1, 5, 3)).toMatch(/not the page of that place/);
  });
});

describe('tree shape from a signed header (treeShape)', () => {
  const laid = layRecords(sampleRecords(40), 5);
  const shape = (patch: Record<string, unknown>) => treeShape({ ...laid.header, ...patch } as LayoutHeader);

  it('gives the level sizes and the root: last in the body, pinned by the header', () => {
    expect(shape({})).toEqual({
      sizes: [5, 1],
      root: { level: 1, position: 0, offset: laid.header.bodyBytes - laid.header.rootLength!, length: pageBytes(5), sha256: Buffer.from(laid.header.rootSha256!, 'hex') },
    });
  });

  it('refuses a fanout out of 2..1024, a missing or malformed root hash, a root length of another tree, and more than 2^40 buckets', () => {
    for (const fanout of [undefined, '16', 1, 0, -16, 1025, 2.5, Number.NaN]) expect(shape({ fanout }), String(fanout)).toBe(`fanout ${String(fanout)} is out of range`);
    // 2.5 children would make a root of 14 + 2.5 × 36 bytes: the fanout is refused, not the length.
    expect(shape({ fanout: 2.5, rootLength: 104 })).toBe('fanout 2.5 is out of range');
    expect(shape({ fanout: 5 })).not.toBeTypeOf('string');
    expect(shape({ fanout: 2, rootLength: pageBytes(2) })).toMatchObject({ sizes: [5, 3, 2, 1], root: { level: 3 } });
    expect(shape({ fanout: 1024 })).toMatchObject({ sizes: [5, 1] });
    for (const rootSha256 of [undefined, 5, 'ab'.repeat(31), 'AB'.repeat(32), `${'ab'.repeat(32)}0`, `0${'ab'.repeat(32)}`]) {
      expect(shape({ rootSha256 }), String(rootSha256)).toBe('no root page hash');
    }
    // A one-element array reads as its string to a regex: refused for its type.
    expect(shape({ rootSha256: ['ab'.repeat(32)] })).toBe('no root page hash');
    expect(shape({ rootLength: '194' })).toBe('no root page hash');
    expect(shape({ rootLength: undefined })).toBe('no root page hash');
    for (const rootLength of [pageBytes(5) - 36, pageBytes(5) + 36, pageBytes(5) + 1, 0]) expect(shape({ rootLength })).toBe('root page length does not match the tree');
    expect(shape({ bodyBytes: pageBytes(5) - 1 })).toBe('root page length does not match the tree');
    expect(shape({ bodyBytes: pageBytes(5) })).toMatchObject({ root: { offset: 0 } });
    // 2^40 buckets of fanout 1024: four full levels under the root.
    const huge = { fanout: 1024, rootLength: pageBytes(1024), bodyBytes: 2 ** 50 };
    expect(shape({ ...huge, buckets: 2 ** 40 })).toMatchObject({ sizes: [2 ** 40, 2 ** 30, 2 ** 20, 2 ** 10, 1] });
    expect(shape({ ...huge, buckets: 2 ** 40 + 1 })).toBe('too many buckets');
  });

  it('a reader refuses a header that is no sound tree, naming the feed (ERR_PG_FEED_CORRUPT)', () => {
    const error = corrupt(() => new TreeReader({ ...laid.header, fanout: 1 }, { read: () => Buffer.alloc(0) }, 'https://feeds/a.feed'));
    expect(error.file).toBe('https://feeds/a.feed');
    expect(error.message).toContain('fanout 1 is out of range');
    const path = signed(laid, { ...laid.header, rootLength: pageBytes(4) });
    expect(corrupt(() => open(path)).message).toContain('root page length does not match the tree');
  });
});

describe('lookups walk the tree (TreeReader)', () => {
  const records = sampleRecords(60);

  it.each([2, 3, 16, 1024])('finds every record and nothing else with fanout %i, reading one page a level and one bucket', (fanout) => {
    const buckets = 23;
    const laid = layRecords(records, buckets, { fanout });
    const { reader, reads } = readerOf(laid);
    const depth = levelSizes(buckets, fanout).length - 1;
    expect(reader.sizes).toEqual(levelSizes(buckets, fanout));
    expect(reader.root).toEqual(laid.levels[depth]![0]);
    for (const r of records) {
      reads.length = 0;
      expect(reader.lookup(r.name, r.version)).toEqual(r);
      // Pages are cached after their first read: at most depth pages, and exactly one bucket.
      expect(reads.filter((ref) => ref.level === 0)).toEqual([laid.levels[0]![bucketOf(r, buckets)]]);
      expect(reads.length).toBeLessThanOrEqual(depth + 1);
    }
    for (let b = 0; b < buckets; b++) {
      for (let level = 0; level <= depth; level++) expect(reader.refAt(b, level)).toEqual(laid.levels[level]![pathPosition(b, level, fanout)]);
    }
    expect(reader.lookup('pkg-1', '9.9.9')).toBeUndefined();
    expect(reader.lookup('absent', '1.0.0')).toBeUndefined();
    expect([...treeBuckets(reader)].map(({ bucket, bytes }) => [bucket, bytes.length])).toEqual(laid.levels[0]!.map((ref) => [ref.position, ref.length]));
    expect(() => verifyTree(reader)).not.toThrow();
  });

  it('reads each index page once (cached), and the path pages in order from the root', () => {
    const laid = layRecords(records, 23, { fanout: 2 });
    const { reader, reads } = readerOf(laid);
    const r = records[0]!;
    const b = bucketOf(r, 23);
    expect(reader.lookup(r.name, r.version)).toEqual(r);
    expect(reads.map((ref) => `${ref.level}/${ref.position}`)).toEqual([5, 4, 3, 2, 1, 0].map((level) => `${level}/${pathPosition(b, level, 2)}`));
    reads.length = 0;
    expect(reader.lookup(r.name, r.version)).toEqual(r);
    expect(reads.map((ref) => ref.level)).toEqual([0]);
  });

  it('an empty bucket is answered without fetching it', () => {
    const texts = bucketTexts(records.slice(0, 3), 40);
    const laid = layTree(stored(texts), { records: 3, fanout: 4 });
    const { reader, reads } = readerOf(laid);
    const empty = sampleRecords(400, 'e').find((r) => texts[bucketOf(r, 40)] === '')!;
    expect(reader.lookup(empty.name, empty.version)).toBeUndefined();
    expect(reads.filter((ref) => ref.level === 0)).toEqual([]);
    expect(reads.length).toBe(levelSizes(40, 4).length - 1);
  });

  it('a file laid out with fanout 3 opens, answers and verifies as a signed feed', () => {
    const laid = layRecords(records, 23, { fanout: 3 });
    const path = signed(laid);
    const feed = open(path);
    try {
      for (const r of records) expect(feed.lookup(r.name, r.version)).toEqual(r);
      expect(feed.lookup('pkg-2', '0.0.0')).toBeUndefined();
    } finally {
      feed.close();
    }
    expect(verify(path)).toMatchObject({ records: records.length, fanout: 3 });
  });

  it('the same tree as TreeWriter writes, byte for byte, with fanout 16', () => {
    const buckets = stored(bucketTexts(sampleRecords(400), 300));
    const writer = new TreeWriter(buckets.length);
    buckets.forEach((b, i) => writer.leaf(i, b));
    const pages: Buffer[] = [];
    const bucketBytes = buckets.reduce((n, b) => n + b.length, 0);
    const root = writer.finish(bucketBytes, (page) => pages.push(page));
    const laid = layTree(buckets);
    expect(laid.body.equals(Buffer.concat([...buckets, ...pages]))).toBe(true);
    expect(laid.header).toMatchObject({ rootSha256: root.sha256, rootLength: root.length, bodyBytes: root.end });
  });
});

describe('many lookups at once (TreeReader.lookupAll)', () => {
  const records = sampleRecords(60);
  const absent = sampleRecords(12, 'absent');
  /** Every record, interleaved with keys the feed does not hold, in an order unrelated to buckets. */
  const asked = [...records, ...absent].map((r, i) => ({ r, i, h: keyHash(keyOf(r)) ^ (i * 2654435761) })).sort((x, y) => x.h - y.h).map(({ r }) => ({ name: r.name, version: r.version }));

  it('answers each key in its order, as one lookup each would; with buckets repeating, each bucket is read once', () => {
    const buckets = 23;
    const laid = layRecords(records, buckets, { fanout: 4 });
    const one = readerOf(laid).reader;
    const { reader, reads } = readerOf(laid);
    const answers = reader.lookupAll(asked);
    expect(answers).toEqual(asked.map((k) => one.lookup(k.name, k.version)));
    expect(answers.filter((a) => a !== undefined)).toHaveLength(records.length);
    expect(answers.slice(0, 5)).toEqual(asked.slice(0, 5).map((k) => records.find((r) => r.name === k.name && r.version === k.version)));
    // 72 keys among 23 buckets: grouped, so every bucket holding a record, or asked for, is read exactly once.
    const read = reads.filter((ref) => ref.level === 0).map((ref) => ref.position);
    expect(read).toEqual([...new Set(asked.map((k) => bucketOf(k, buckets)))].filter((b) => laid.levels[0]![b]!.length > 0).sort((x, y) => x - y));
    expect(reader.lookupAll([])).toEqual([]);
  });

  it('reads the first bucket of a batch whichever it is (the smallest bucket asked 0, 1 or 2)', () => {
    const buckets = 23;
    const laid = layRecords(records, buckets, { fanout: 4 });
    const one = readerOf(laid).reader;
    for (const first of [0, 1, 2]) {
      const keys = asked.filter((k) => bucketOf(k, buckets) >= first);
      expect(Math.min(...keys.map((k) => bucketOf(k, buckets)))).toBe(first);
      const answers = readerOf(laid).reader.lookupAll(keys);
      expect(answers).toEqual(keys.map((k) => one.lookup(k.name, k.version)));
      expect(answers.filter((a) => a !== undefined)).toHaveLength(records.filter((r) => bucketOf(r, buckets) >= first).length);
    }
  });

  it('with few keys for many buckets, looks each key up on its own (a bucket asked twice is read twice)', () => {
    const buckets = 200;
    const laid = layRecords(records, buckets, { fanout: 16 });
    const pair = records.map((x) => records.find((y) => y !== x && bucketOf(y, buckets) === bucketOf(x, buckets))).find(Boolean)!;
    const mate = records.find((x) => x !== pair && bucketOf(x, buckets) === bucketOf(pair, buckets))!;
    const { reader, reads } = readerOf(laid);
    // 3 keys, 200 buckets: 3 * 8 <= 200.
    expect(reader.lookupAll([pair, mate, absent[0]!])).toEqual([pair, mate, undefined]);
    expect(reads.filter((ref) => ref.level === 0 && ref.position === bucketOf(pair, buckets))).toHaveLength(2);
  });

  it('refuses a tampered bucket and a record answered for another key, as lookup does', () => {
    const buckets = 4;
    const target = records[0]!;
    const b = bucketOf(target, buckets);
    const laid = layRecords(records, buckets, { fanout: 2 });
    const body = Buffer.from(laid.body);
    body[laid.levels[0]![b]!.offset + 3] ^= 0x01;
    const tampered = new TreeReader(laid.header, { read: (ref) => body.subarray(ref.offset, ref.offset + ref.length) }, 'x');
    expect(corrupt(() => tampered.lookupAll(asked)).message).toContain(`bucket ${b} does not match its hash`);
    const forged = layTree([encodeBucket(3, '{"name":"a","version":"1.0.0","version":"6.6.6"}\n')], { records: 1, fanout: 2 });
    expect(corrupt(() => readerOf(forged).reader.lookupAll([{ name: 'b', version: '2.0.0' }, { name: 'a', version: '1.0.0' }])).message).toContain('holds a record for a@6.6.6 where a@1.0.0 was looked up');
  });
});

describe('before many lookups, dense index levels are read whole (TreeReader.prepare)', () => {
  const records = sampleRecords(200);
  const buckets = 64;
  /** A reader whose source also reads spans: every page read and span read is recorded. */
  const spanReader = (laid: Laid) => {
    const reads: PageRef[] = [];
    const spans: [number, number][] = [];
    const reader = new TreeReader(laid.header, {
      read: (ref) => (reads.push(ref), laid.body.subarray(ref.offset, ref.offset + ref.length)),
      readSpan: (offset, length) => (spans.push([offset, length]), Buffer.from(laid.body.subarray(offset, offset + length))),
    }, 'test.feed');
    return { reader, reads, spans };
  };

  /** Where levels `from`..top lie: [first byte, bytes] (the root last). */
  const top = (laid: Laid, from: number): [number, number] => [laid.levels[from]![0]!.offset, laid.header.bodyBytes - laid.levels[from]![0]!.offset];

  it('reads the dense top of the index in one read, answers the same, and reads only buckets afterwards', () => {
    const laid = layRecords(records, buckets, { fanout: 2 });
    const { reader, reads, spans } = spanReader(laid);
    reader.prepare(records.length);
    // Levels 6..1 of 64 buckets with fanout 2 (1, 2, 4, 8, 16, 32 pages): all dense for 200 lookups, one span, from level 1 to the root.
    expect(spans).toEqual([top(laid, 1)]);
    expect(reads).toEqual([]);
    for (const r of records) expect(reader.lookup(r.name, r.version)).toEqual(r);
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((ref) => ref.level === 0)).toBe(true);
    // Once: a second prepare reads nothing.
    reader.prepare(records.length);
    expect(spans).toHaveLength(1);
  });

  it('leaves sparse levels, and sources without spans, to reads page by page', () => {
    const laid = layRecords(records, buckets, { fanout: 2 });
    const few = spanReader(laid);
    few.reader.prepare(1);
    // One lookup: a level where it touches a quarter of the pages or more (2 and 4 pages) is read whole; 8 pages are left.
    expect(few.spans).toEqual([top(laid, 4)]);
    // Three: expected 2.7 of 8 pages touched is dense, 2.8 of 16 is not.
    const some = spanReader(laid);
    some.reader.prepare(3);
    expect(some.spans).toEqual([top(laid, 3)]);
    expect(spanReader(laid).reader.prepare(0)).toBeUndefined();
    const { reader } = readerOf(laid);
    expect(() => reader.prepare(records.length)).not.toThrow();
    for (const r of records.slice(0, 5)) expect(reader.lookup(r.name, r.version)).toEqual(r);
  });

  it('never reads more than 8 MB ahead, nor the root alone', () => {
    // A root over 256 pages of 1,024 children (~9.4 MB of level 1), for a lookup in each: the root and level 1 would be dense.
    const big = spanReader(layRecords(records, 256 * 1024, { fanout: 1024 }));
    big.reader.prepare(100_000);
    expect(big.spans).toEqual([]);
    for (const r of records.slice(0, 3)) expect(big.reader.lookup(r.name, r.version)).toEqual(r);
  });

  it('a page read from a span is verified like any other: a forged level-1 page is refused', () => {
    const laid = layRecords(records, buckets, { fanout: 2 });
    const forged = Buffer.from(laid.body);
    const victim = laid.levels[1]![3]!;
    forged[victim.offset + 20] ^= 1;
    const { reader, spans } = spanReader({ ...laid, body: forged });
    reader.prepare(records.length);
    expect(spans.some(([offset, length]) => offset <= victim.offset && victim.offset + victim.length <= offset + length)).toBe(true);
    const under = records.find((r) => Math.floor(bucketOf(r, buckets) / 2) === 3)!;
    expect(corrupt(() => reader.lookup(under.name, under.version)).message).toContain('index page 1/3 does not match its hash');
    const other = records.find((r) => Math.floor(bucketOf(r, buckets) / 2) !== 3)!;
    expect(reader.lookup(other.name, other.version)).toEqual(other);
  });

  it('a layout whose levels are not where the header puts them answers the same: a span is only a copy of the file', () => {
    // Junk before the first child of a level-2 page: the tree is sound, the levels are not where the arithmetic says.
    const laid = layRecords(records, buckets, { fanout: 2, gap: { level: 1, position: 4 } });
    const { reader, spans } = spanReader(laid);
    reader.prepare(records.length);
    expect(spans).toHaveLength(1);
    for (const r of records) expect(reader.lookup(r.name, r.version)).toEqual(r);
  });

});

describe('what a lookup refuses before and after fetching (TreeReader.verified, page)', () => {
  const records = sampleRecords(40);
  const buckets = 8;
  const target = records[0]!;
  const b = bucketOf(target, buckets);
  /** The level-1 page with the target's entry rewritten (its parent, the root, hashes the forged page). */
  const withEntry = (patch: (page: Buffer, at: number) => void, fanout = 4, bytes?: Buffer[]) =>
    layTree(bytes ?? stored(bucketTexts(records, buckets)), {
      records: records.length,
      fanout,
      page: (level, position, page) => {
        if (level !== 1 || position !== Math.floor(b / fanout)) return page;
        const copy = Buffer.from(page);
        patch(copy, 14 + (b % fanout) * 36);
        return copy;
      },
    });

  it('a bucket said to run past the end of the body is refused without fetching it', () => {
    const laid = withEntry((page, at) => page.writeUInt32BE(2 ** 20, at));
    const { reader, reads } = readerOf(laid);
    const error = corrupt(() => reader.lookup(target.name, target.version));
    expect(error.message).toContain(`page 0/${b} runs past the end of the feed`);
    expect(reads.filter((ref) => ref.level === 0)).toEqual([]);
    // A bucket ending exactly where the body ends is read (the root always does).
    const last = layTree([...stored(bucketTexts(records, buckets))], { records: records.length, fanout: 4 });
    expect(readerOf(last).reader.lookup(target.name, target.version)).toEqual(target);
  });

  it('a bucket over 4 MB is refused without fetching it; one of exactly 4 MB is fetched', () => {
    const texts = stored(bucketTexts(records, buckets));
    const over = Buffer.alloc(MAX_BUCKET_BYTES + 1, 0x41);
    const laid = layTree(texts.map((t, i) => (i === b ? over : t)), { records: records.length, fanout: 4 });
    const { reader, reads } = readerOf(laid);
    expect(corrupt(() => reader.lookup(target.name, target.version)).message).toContain(`bucket ${b} is ${MAX_BUCKET_BYTES + 1} bytes`);
    expect(reads.filter((ref) => ref.level === 0)).toEqual([]);
    const exact = layTree(texts.map((t, i) => (i === b ? over.subarray(1) : t)), { records: records.length, fanout: 4 });
    const second = readerOf(exact);
    // Fetched and hashed: it then fails to decode (it is not DEFLATE).
    expect(corrupt(() => second.reader.lookup(target.name, target.version)).message).toContain(`bucket ${b} does not decode`);
    expect(second.reads.filter((ref) => ref.level === 0)).toHaveLength(1);
  });

  it('an index page of the wrong length is refused before it is fetched', () => {
    const laid = layRecords(records, buckets, {
      fanout: 2,
      page: (level, _position, page) => {
        if (level !== 3) return page;
        const copy = Buffer.from(page);
        copy.writeUInt32BE(page.readUInt32BE(14 + 36) + 36, 14 + 36);
        return copy;
      },
    });
    const { reader, reads } = readerOf(laid);
    const inSecond = records.find((r) => bucketOf(r, buckets) >= 4)!;
    const inFirst = records.find((r) => bucketOf(r, buckets) < 4)!;
    expect(reader.lookup(inFirst.name, inFirst.version)).toEqual(inFirst);
    reads.length = 0;
    expect(corrupt(() => reader.lookup(inSecond.name, inSecond.version)).message).toContain('index page 2/1 has the wrong length');
    expect(reads).toEqual([]);
  });

  it.each([
    ['tag', 0, 0x4a],
    ['level', 1, 3],
    ['count', 3, 3],
    ['position', 7, 1],
  ])('refuses a signed index page with another %s in its head', (_field, at, value) => {
    const laid = layRecords(records, buckets, {
      fanout: 4,
      page: (level, position, page) => {
        if (level !== 1 || position !== 0) return page;
        const copy = Buffer.from(page);
        copy[at] = value;
        return copy;
      },
    });
    const inFirst = records.find((r) => bucketOf(r, buckets) < 4)!;
    const inSecond = records.find((r) => bucketOf(r, buckets) >= 4)!;
    const { reader } = readerOf(laid);
    expect(reader.lookup(inSecond.name, inSecond.version)).toEqual(inSecond);
    expect(corrupt(() => reader.lookup(inFirst.name, inFirst.version)).message).toContain('page 1/0 is not the page of that place in the tree');
    expect(corrupt(() => verify(signed(laid))).message).toContain('page 1/0 is not the page of that place in the tree');
  });

  it('a signed bucket that does not decode is refused as corrupt, at lookup and at verify', () => {
    const laid = withEntry(() => {}, 4, stored(bucketTexts(records, buckets)).map((t, i) => (i === b ? Buffer.from('not deflate at all \xff\xfe') : t)));
    const { reader } = readerOf(laid);
    expect(corrupt(() => reader.lookup(target.name, target.version)).message).toContain(`bucket ${b} does not decode`);
    const path = signed(laid);
    const error = corrupt(() => verify(path));
    expect(error.file).toBe(path);
    expect(error.message).toContain(`bucket ${b} does not decode`);
  });

  it('a bucket that fails its hash is refused as such, not as undecodable', () => {
    const texts = stored(bucketTexts(records, buckets));
    const laid = layTree(texts, { records: records.length, fanout: 4 });
    const body = Buffer.from(laid.body);
    body[laid.levels[0]![b]!.offset + 3] ^= 0x01;
    const reader = new TreeReader(laid.header, { read: (ref) => body.subarray(ref.offset, ref.offset + ref.length) }, 'x');
    expect(corrupt(() => reader.lookup(target.name, target.version)).message).toContain(`bucket ${b} does not match its hash`);
  });
});

describe('the record a lookup answers (findLine, binding)', () => {
  const a = { name: 'a', version: '1.0.0' };
  const find = (text: string) => findLine(Buffer.from(text), a.name, a.version, 3, 'f');

  it('finds the line of the key asked for: first, middle or last, with or without a final newline', () => {
    expect(find('{"name":"a","version":"1.0.0"}\n')).toEqual(a);
    expect(find('{"name":"a","version":"1.0.0","x":1}')).toEqual({ ...a, x: 1 });
    expect(find('{"name":"9","version":"1"}\n{"name":"a","version":"1.0.0","x":2}\n{"name":"b","version":"1"}\n')).toEqual({ ...a, x: 2 });
    expect(find('{"name":"9","version":"1"}\n{"name":"a","version":"1.0.0"}')).toEqual(a);
    // A key of more bytes than characters: where the key ends is counted in bytes.
    expect(findLine(Buffer.from('{"name":"é","version":"1.0.0ü","x":1}\n'), 'é', '1.0.0ü', 3, 'f')).toEqual({ name: 'é', version: '1.0.0ü', x: 1 });
    expect(findLine(Buffer.from('{"name":"é","version":"1.0.0ü1"}\n'), 'é', '1.0.0ü', 3, 'f')).toBeUndefined();
  });

  it('does not take the key where it does not start a record line, or where the version goes on', () => {
    // The same bytes inside another record (an unknown field holding an object): not a line start.
    const nested = '{"name":"0","version":"1","x":{"name":"a","version":"1.0.0"}}\n';
    expect(find(nested)).toBeUndefined();
    expect(find(`${nested}{"name":"a","version":"1.0.0","y":3}\n`)).toEqual({ ...a, y: 3 });
    expect(find('{"name":"a","version":"1.0.0-rc.1"}\n')).toBeUndefined();
    expect(find('{"name":"a","version":"1.0.0" }\n')).toBeUndefined();
    expect(find('{"name":"a","version":"1.0.0":1}\n{"name":"a","version":"1.0.0","z":1}\n')).toEqual({ ...a, z: 1 });
    expect(find('x{"name":"a","version":"1.0.0"}\n')).toBeUndefined();
  });

  it('refuses a record line that is not JSON, naming the bucket and the feed', () => {
    const error = corrupt(() => find('{"name":"a","version":"1.0.0",oops}\n'));
    expect(error.file).toBe('f');
    expect(error.message).toContain('bucket 3 holds a record that is not JSON');
  });

  it('refuses a line that starts as the key asked for but parses with another version', () => {
    const records = [{ name: 'a', version: '1.0.0' }] as FeedRecord[];
    const text = '{"name":"a","version":"1.0.0","version":"6.6.6"}\n';
    const laid = layTree([encodeBucket(3, text)], { records: 1, fanout: 2 });
    expect(bucketOf(records[0]!, 1)).toBe(0);
    const { reader } = readerOf(laid);
    expect(corrupt(() => reader.lookup('a', '1.0.0')).message).toContain('holds a record for a@6.6.6 where a@1.0.0 was looked up');
  });
});

describe('feed verify checks the canonical layout (treeBuckets, checkTiling)', () => {
  const records = sampleRecords(50);
  const buckets = 13;
  /** A laid tree with a fault, signed: verify must refuse it, naming the place. */
  const refused = (options: TreeOptions, message: string) => {
    const laid = layRecords(records, buckets, { fanout: 2, ...options });
    const path = signed(laid);
    const error = corrupt(() => verify(path));
    expect(error.file).toBe(path);
    expect(error.message).toContain(message);
    return laid;
  };

  it('the tree without a fault verifies', () => {
    expect(verify(signed(layRecords(records, buckets, { fanout: 2 }))).records).toBe(records.length);
  });

  it('refuses bytes between two buckets of different pages', () => {
    refused({ gap: { level: 0, position: 4 } }, 'bucket 4 is not where the layout puts it');
  });

  it('refuses bytes before the first bucket, and between the buckets and the first index page', () => {
    refused({ gap: { level: 0, position: 0 } }, 'bucket 0 is not where the layout puts it');
    refused({ gap: { level: 1, position: 0 } }, 'buckets do not end where the index starts');
  });

  it('refuses bytes between two index pages of different parents', () => {
    refused({ gap: { level: 1, position: 2 } }, 'index page 1/2 is not where the layout puts it');
    refused({ gap: { level: 2, position: 2 } }, 'index page 2/2 is not where the layout puts it');
  });

  it('refuses bytes between two index levels, and before the root', () => {
    refused({ gap: { level: 2, position: 0 } }, 'index level 1 does not end where the next starts');
    refused({ gap: { level: 4, position: 0 } }, 'index level 3 does not end where the next starts');
  });

  it('refuses a bucket pointing back into the bytes of an earlier one (overlap)', () => {
    // Bucket 2 listed at bucket 1's offset: its bytes are bucket 1's, so its entry hashes those.
    const texts = stored(bucketTexts(records, buckets));
    const laid = layTree(texts, { records: records.length, fanout: 2 });
    const ones = laid.levels[0]!;
    expect(ones[1]!.length).toBeGreaterThan(0);
    const forged = layTree(texts, {
      records: records.length,
      fanout: 2,
      page: (level, position, page) => {
        if (level !== 1 || position !== 1) return page;
        return encodePage(1, 1, ones[1]!.offset, [ones[1]!, ones[3]!]);
      },
    });
    const { reader } = readerOf(forged);
    expect(corrupt(() => [...treeBuckets(reader)]).message).toContain('bucket 2 is not where the layout puts it');
  });
});

describe('feed verify checks every record line (checkBucketRecords, verifyTree)', () => {
  const records = sampleRecords(30);
  const buckets = 3;
  const verifyTexts = (texts: string[], count = records.length) => verifyTree(readerOf(layTree(stored(texts), { records: count, fanout: 2 }), 'lbl').reader);
  const refusedTexts = (texts: string[], message: string, count?: number) => {
    const error = corrupt(() => verifyTexts(texts, count));
    expect(error.file).toBe('lbl');
    expect(error.message).toContain(message);
  };

  it('counts the records against the header', () => {
    const texts = bucketTexts(records, buckets);
    expect(() => verifyTexts(texts)).not.toThrow();
    refusedTexts(texts, `holds ${records.length} records, header says ${records.length + 1}`, records.length + 1);
    refusedTexts(texts, `holds ${records.length} records, header says ${records.length - 1}`, records.length - 1);
  });

  it('refuses a line that is not a record of the canonical form', () => {
    const texts = bucketTexts(records, buckets);
    const first = texts[1]!.split('\n')[0]!;
    const r = JSON.parse(first) as FeedRecord;
    const swapped = JSON.stringify({ version: r.version, name: r.name });
    refusedTexts(texts.map((t, i) => (i === 1 ? t.replace(first, swapped) : t)), 'bucket 1 holds a line that is not a record');
    refusedTexts(texts.map((t, i) => (i === 1 ? `${t}[]\n` : t)), 'bucket 1 holds a line that is not a record');
    refusedTexts(texts.map((t, i) => (i === 1 ? t.replace(first, ` ${first}`) : t)), 'bucket 1 holds a line that is not a record');
    refusedTexts(texts.map((t, i) => (i === 1 ? t.replace(first, first.replace('"version":', '"version":1,"v":')) : t)), 'bucket 1 holds a line that is not a record');
    // A line that ends after the version, or goes on with other fields, is a record.
    const bare = records.map((x) => ({ name: x.name, version: x.version }));
    expect(() => verifyTexts(bucketTexts(bare as FeedRecord[], buckets))).not.toThrow();
  });

  it('refuses records out of name@version order, and a key twice in a bucket', () => {
    const texts = bucketTexts(records, buckets);
    const lines = texts[0]!.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(2);
    const reversed = [...lines].reverse().map((l) => l + '\n').join('');
    refusedTexts(texts.map((t, i) => (i === 0 ? reversed : t)), 'bucket 0 is not in name@version order');
    const twice = [lines[0], ...lines].map((l) => l + '\n').join('');
    refusedTexts(texts.map((t, i) => (i === 0 ? twice : t)), 'bucket 0 is not in name@version order', records.length + 1);
  });

  it('places a record by its name and version as values: escapes in the line are read, not hashed as written', () => {
    // Names and versions a publisher could sign with JSON escapes in them (a quote, a backslash, a control
    // character), each picked so that its escaped spelling maps to another bucket than its value.
    const count = 8;
    const escaped = (r: { name: string; version: string }) => JSON.stringify(r.name).slice(1, -1) + '@' + JSON.stringify(r.version).slice(1, -1);
    const odd: FeedRecord[] = [];
    for (let i = 0; odd.length < 4; i++) {
      const r = { name: [`q"${i}`, `b\\${i}`, `t\t${i}`, `n${i}`][odd.length]!, version: odd.length === 3 ? `1.0.0-"${i}` : '1.0.0' } as FeedRecord;
      if (bucketOfHash(keyHash(escaped(r)), count) !== bucketOf(r, count)) odd.push(r);
    }
    const all = [...sampleRecords(10), ...odd];
    const texts = bucketTexts(all, count);
    expect(() => verifyTree(readerOf(layTree(stored(texts), { records: all.length, fanout: 2 })).reader)).not.toThrow();
    const { reader } = readerOf(layTree(stored(texts), { records: all.length, fanout: 2 }));
    for (const r of odd) expect(reader.lookup(r.name, r.version)).toEqual(r);
  });
});

describe('the preamble: magic, header and signature lines (preamble.ts)', () => {
  const laid = layRecords(sampleRecords(20), 2, { fanout: 2 });
  const sigOf = (head: Buffer) => sign(null, head, privateKey).toString('base64');
  /** A file of these lines and the laid body; the signature is a real one over magic + header unless given. */
  const file = (headerText: string, sigLine?: (sig: string) => string, magic = MAGIC): string => {
    const head = Buffer.from(magic + headerText + '\n');
    const path = join(temp(), 'provenance.feed');
    const line = sigLine ? sigLine(sigOf(head)) : `${SIG_PREFIX}${sigOf(head)}\n`;
    writeFileSync(path, Buffer.concat([head, Buffer.from(line, 'latin1'), laid.body]));
    return path;
  };
  const header = (patch: Record<string, unknown> = {}) => JSON.stringify({ ...laid.header, ...patch });
  /** Refused as no feed (ERR_PG_FEED_FORMAT), the message naming the file and the problem. */
  const notFeed = (path: string, problem: string) => {
    const error = thrown(FeedError, () => readPreamble(path));
    expect(error.code).toBe('ERR_PG_FEED_FORMAT');
    expect(error.file).toBe(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain(problem);
    expect(thrown(FeedError, () => open(path)).code).toBe('ERR_PG_FEED_FORMAT');
  };

  it('reads the header, the signed bytes, the signature and where the body starts', () => {
    const path = file(header());
    const text = MAGIC + header() + '\n';
    const preamble = readPreamble(path);
    expect(preamble.header).toEqual(laid.header);
    expect(preamble.signed.toString()).toBe(text);
    expect(preamble.signature.toString('base64')).toBe(sigOf(Buffer.from(text)));
    expect(preamble.bodyStart).toBe(Buffer.byteLength(text) + 97);
    expect(preamble.size).toBe(preamble.bodyStart + laid.body.length);
    expect(verify(path).records).toBe(20);
  });

  it('refuses a file without the magic line, or without a header line', () => {
    notFeed(file(header(), undefined, 'provenance-guard-fed\n'), 'missing feed magic line');
    const empty = join(temp(), 'empty.feed');
    writeFileSync(empty, '');
    notFeed(empty, 'missing feed magic line');
    const magicOnly = join(temp(), 'magic.feed');
    writeFileSync(magicOnly, MAGIC + header());
    notFeed(magicOnly, 'header line missing or too long');
  });

  it('refuses a header that is not JSON, or not an object', () => {
    notFeed(file('{"schema":3,'), 'header is not JSON');
    for (const text of ['5', '"feed"', 'true', 'null', '[]']) notFeed(file(text), 'header is not an object');
  });

  it('refuses dates that are no ISO strings, and a flat feed without its index hash', () => {
    notFeed(file(header({ generatedAt: 5 })), 'header is incomplete');
    notFeed(file(header({ expiresAt: Date.now() + 86_400_000 })), 'header is incomplete');
    const flat = { schema: 1, fanout: undefined, rootSha256: undefined, rootLength: undefined };
    notFeed(file(header(flat)), 'header is incomplete');
    notFeed(file(header({ ...flat, indexSha256: 'ab'.repeat(32).toUpperCase() })), 'header is incomplete');
    expect(readPreamble(file(header({ ...flat, indexSha256: 'ab'.repeat(32) }))).header.schema).toBe(1);
    // A schema 3 header is pinned by its root, not by an index hash.
    notFeed(file(header({ rootSha256: undefined, indexSha256: 'ab'.repeat(32) })), 'header is incomplete');
    for (const rootSha256 of [`${'ab'.repeat(32)}0`, `0${'ab'.repeat(32)}`, ['ab'.repeat(32)]]) notFeed(file(header({ rootSha256 })), 'header is incomplete');
    notFeed(file(header({ ...flat, indexSha256: ['ab'.repeat(32)] })), 'header is incomplete');
  });

  it('takes zero as a count: serial, records and body bytes', () => {
    expect(readPreamble(file(header({ serial: 0, records: 0 }))).header).toMatchObject({ serial: 0, records: 0 });
    expect(readPreamble(file(header({ bodyBytes: 0, rootLength: 0 }))).header).toMatchObject({ bodyBytes: 0, rootLength: 0 });
    expect(readPreamble(file(header({ fanout: 0 }))).header.fanout).toBe(0);
    notFeed(file(header({ serial: -1 })), 'header is incomplete');
  });

  it('takes a header line of 64 KB, and refuses a longer one', () => {
    const base = header({ pad: '' });
    const sized = (bytes: number) => header({ pad: 'x'.repeat(bytes - Buffer.byteLength(base)) });
    expect(Buffer.byteLength(sized(64 * 1024))).toBe(64 * 1024);
    const path = file(sized(64 * 1024));
    expect(readPreamble(path).bodyStart).toBe(MAGIC.length + 64 * 1024 + 1 + 97);
    expect(verify(path).records).toBe(20);
    notFeed(file(sized(64 * 1024 + 1)), 'signature line missing');
    notFeed(file(sized(80 * 1024)), 'header line missing or too long');
  });

  it('refuses a signature line with another prefix, a short one, one not ending the line, or one not standard base64', () => {
    notFeed(file(header(), (sig) => `ed25518 ${sig}\n`), 'signature line missing');
    notFeed(file(header(), (sig) => `ED25519 ${sig}\n`), 'signature line missing');
    notFeed(file(header(), (sig) => `${SIG_PREFIX}${sig}`), 'signature line missing');
    notFeed(file(header(), (sig) => `${SIG_PREFIX}${sig} `), 'signature line missing');
    notFeed(file(header(), (sig) => `${SIG_PREFIX}${sig.slice(4)}\n`), 'signature line missing');
    // A short signature line ending the file.
    const short = join(temp(), 'short.feed');
    const head = MAGIC + header() + '\n';
    writeFileSync(short, `${head}${SIG_PREFIX}${sigOf(Buffer.from(head)).slice(4)}\n`);
    notFeed(short, 'signature line missing');
    const url = (sig: string) => sig.replace(/\+/g, '-').replace(/\//g, '_');
    // Some signature has a + or / in it: found by signing the header with a padding field.
    let text = header();
    for (let i = 0; !/[+/]/.test(sigOf(Buffer.from(MAGIC + text + '\n'))); i++) text = header({ pad: i });
    notFeed(file(text, (sig) => `${SIG_PREFIX}${url(sig)}\n`), 'signature line is malformed');
    notFeed(file(header(), (sig) => `${SIG_PREFIX}${sig.slice(0, 85)}===\n`), 'signature line is malformed');
    notFeed(file(header(), (sig) => `${SIG_PREFIX}${sig.slice(0, 86)}=A\n`), 'signature line is malformed');
    notFeed(file(header(), (sig) => `${SIG_PREFIX}${sig.slice(0, 85)}é==\n`), 'signature line is malformed');
  });

  it.runIf(existsSync('/proc/self/fd'))('closes the file it reads, whether it is a feed or not', () => {
    const good = file(header());
    const bad = file('[]');
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 20; i++) {
      readPreamble(good);
      thrown(FeedError, () => readPreamble(bad));
    }
    expect(fds()).toBe(before);
  });

  it('a feed that cannot be opened is ERR_PG_FEED_NOT_FOUND, naming the path', () => {
    const missing = join(temp(), 'missing.feed');
    const error = thrown(FeedError, () => readPreamble(missing));
    expect(error.code).toBe('ERR_PG_FEED_NOT_FOUND');
    expect(error.file).toBe(missing);
    expect(error.message).toContain(missing);
  });
});

it('EMPTY_SHA256 is the sha256 of no bytes', async () => {
  const { EMPTY_SHA256 } = await import('../src/feed/tree');
  const { createHash } = await import('node:crypto');
  expect(EMPTY_SHA256.equals(createHash('sha256').digest())).toBe(true);
});

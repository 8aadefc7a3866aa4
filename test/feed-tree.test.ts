/**
 * Schema 3 (hash tree index) read from real files: every page is pinned by its parent and the
 * root by the signature; forged, swapped, misplaced or truncated bytes are refused.
 */
import { sign } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeedError } from '../src/errors';
import { MAGIC, SIG_PREFIX, bucketOfHash, encodeBucket, keyHash, recordKey } from '../src/feed/format';
import { keyId, readPrivateKey } from '../src/feed/keys';
import { readPreamble } from '../src/feed/preamble';
import { openFeed, verifyFeed } from '../src/feed/reader';
import { FANOUT, encodePage, levelSizes, sha256Of } from '../src/feed/tree';
import { TreeReader } from '../src/feed/tree-reader';
import { TreeWriter } from '../src/feed/tree-writer';
import type { FeedRecord } from '../src/types';
import { thrown } from './helpers/errors';
import { buildTestFeed, makeKeys, sampleRecords, tempDir, type TestKeys } from './helpers/feed-fixtures';

function expectCorrupt(fn: () => unknown, message: RegExp): void {
  expect(thrown(FeedError, fn).message).toMatch(message);
}

/** The page refs of a feed file, read through the reader itself (pages verified). */
function tree(path: string): { reader: TreeReader; bodyStart: number; data: Buffer } {
  const data = readFileSync(path);
  const { header, bodyStart } = readPreamble(path);
  const reader = new TreeReader(header, { read: (ref) => data.subarray(bodyStart + ref.offset, bodyStart + ref.offset + ref.length) }, path);
  return { reader, bodyStart, data };
}

async function built(count: number): Promise<{ keys: TestKeys; records: FeedRecord[]; path: string }> {
  const keys = makeKeys();
  const records = sampleRecords(count);
  const path = await buildTestFeed(keys, records, join(tempDir(), 'provenance.feed'));
  return { keys, records, path };
}

const open = (path: string, keys: TestKeys) => openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir() });
const verify = (path: string, keys: TestKeys) => verifyFeed(path, [keys.publicKey], { stateDir: tempDir() });
const bucketOf = (r: { name: string; version: string }, buckets: number) => bucketOfHash(keyHash(recordKey(r.name, r.version)), buckets);

/** Signs a schema 3 feed made of these bucket texts, as a buggy or hostile publisher could. */
function signedTree(keys: TestKeys, texts: string[], records: number, path: string, patch: (header: Record<string, unknown>) => unknown = (h) => h): string {
  const writer = new TreeWriter(texts.length);
  const buckets = texts.map((text) => (text === '' ? Buffer.alloc(0) : encodeBucket(3, text)));
  buckets.forEach((bytes, i) => writer.leaf(i, bytes));
  const bucketBytes = buckets.reduce((n, b) => n + b.length, 0);
  const pages: Buffer[] = [];
  const root = writer.finish(bucketBytes, (page) => pages.push(page));
  const header = {
    schema: 3, serial: 5, generatedAt: new Date(Date.now() - 1000).toISOString(), expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    records, keyId: keyId(readPrivateKey(keys.privateKeyPath)), buckets: texts.length, fanout: FANOUT, rootSha256: root.sha256, rootLength: root.length, bodyBytes: root.end,
  };
  const signed = Buffer.from(MAGIC + JSON.stringify(patch(header)) + '\n');
  const signature = sign(null, signed, readPrivateKey(keys.privateKeyPath)).toString('base64');
  writeFileSync(path, Buffer.concat([signed, Buffer.from(`${SIG_PREFIX}${signature}\n`), ...buckets, ...pages]));
  return path;
}

describe('schema 3: a header is checked field by field, even when its signature holds', () => {
  const without = (key: string) => (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== key));
  const withValue = (key: string, value: unknown) => (h: Record<string, unknown>) => ({ ...h, [key]: value });
  const cases: [string, (h: Record<string, unknown>) => unknown, RegExp][] = [
    ['an array', () => [1], /header is not an object/],
    ['null', () => null, /header is not an object/],
    ['no schema', without('schema'), /header has no schema/],
    ['a string schema', withValue('schema', '3'), /header has no schema/],
    ...(['serial', 'records', 'buckets', 'bodyBytes', 'rootLength', 'fanout'] as const).flatMap((key): [string, (h: Record<string, unknown>) => unknown, RegExp][] => [
      [`no ${key}`, without(key), /header is incomplete/],
      [`a negative ${key}`, withValue(key, -1), /header is incomplete/],
      [`a fractional ${key}`, withValue(key, 1.5), /header is incomplete/],
      [`a string ${key}`, withValue(key, '5'), /header is incomplete/],
    ]),
    ['no generatedAt', without('generatedAt'), /header is incomplete/],
    ['a generatedAt that is no date', withValue('generatedAt', 'yesterday'), /header is incomplete/],
    ['no expiresAt', without('expiresAt'), /header is incomplete/],
    ['an expiresAt that is no date', withValue('expiresAt', 'soon'), /header is incomplete/],
    ['a numeric keyId', withValue('keyId', 5), /header is incomplete/],
    ['zero buckets', withValue('buckets', 0), /header is incomplete/],
    ['no rootSha256', without('rootSha256'), /header is incomplete/],
    ['a short rootSha256', withValue('rootSha256', 'ab'.repeat(31)), /header is incomplete/],
    ['an upper-case rootSha256', withValue('rootSha256', 'AB'.repeat(32)), /header is incomplete/],
  ];
  it.each(cases)('%s is refused as no feed (ERR_PG_FEED_FORMAT), before any record is read', (_label, patch, message) => {
    const keys = makeKeys();
    const path = signedTree(keys, ['{"name":"a","version":"1.0.0"}\n'], 1, join(tempDir(), 'provenance.feed'), patch);
    const error = thrown(FeedError, () => readPreamble(path));
    expect(error.message).toMatch(message);
    expect(error.code).toBe('ERR_PG_FEED_FORMAT');
    expect(thrown(FeedError, () => open(path, keys)).code).toBe('ERR_PG_FEED_FORMAT');
  });

  it('the same feed with its header untouched opens (the cases above fail for their field alone)', () => {
    const keys = makeKeys();
    const path = signedTree(keys, ['{"name":"a","version":"1.0.0"}\n'], 1, join(tempDir(), 'provenance.feed'));
    const feed = open(path, keys);
    expect(feed.lookup('a', '1.0.0')).toEqual({ name: 'a', version: '1.0.0' });
    feed.close();
  });
});

describe('schema 3: a hash tree index', () => {
  it('reads only the pages on one path: depth + 1 small reads, no whole-index pass', async () => {
    const { keys, records, path } = await built(3000);
    const { header } = readPreamble(path);
    expect(header).toMatchObject({ schema: 3, fanout: FANOUT, buckets: Math.ceil(3000 / 16) });
    expect(levelSizes(header.buckets, FANOUT)).toEqual([188, 12, 1]);
    const feed = open(path, keys);
    for (const record of records) expect(feed.lookup(record.name, record.version)).toEqual(record);
    expect(feed.lookup('pkg-1', '9.9.9')).toBeUndefined();
    feed.close();
    expect(verify(path, keys).records).toBe(3000);
    // Counted through a page source: root, one level-1 page, one bucket; then the root is cached.
    const { data, bodyStart } = tree(path);
    const reads: number[] = [];
    const counted = openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir(), pages: { read: (ref) => (reads.push(ref.length), data.subarray(bodyStart + ref.offset, bodyStart + ref.offset + ref.length)) } });
    expect(counted.lookup(records[0]!.name, records[0]!.version)).toEqual(records[0]);
    expect(reads.length).toBe(3);
    expect(Math.max(...reads)).toBeLessThan(4096);
    const far = records.find((r) => Math.floor(bucketOf(r, header.buckets) / FANOUT) !== Math.floor(bucketOf(records[0]!, header.buckets) / FANOUT))!;
    expect(counted.lookup(far.name, far.version)).toEqual(far);
    expect(reads.length).toBe(5);
    counted.close();
  });

  it('refuses a forged bucket, and a forged bucket whose page entry was rewritten to match (the page fails its parent)', async () => {
    const { keys, records, path } = await built(3000);
    const { reader, bodyStart, data } = tree(path);
    const target = records[10]!;
    const ref = reader.refAt(reader.bucketOf(target.name, target.version), 0);
    const forged = Buffer.from(data);
    forged[bodyStart + ref.offset + 5] ^= 0x10;
    writeFileSync(path, forged);
    const feed = open(path, keys);
    expectCorrupt(() => feed.lookup(target.name, target.version), /bucket \d+ does not match its hash/);
    const other = records.find((r) => bucketOf(r, reader.header.buckets) !== ref.position)!;
    expect(feed.lookup(other.name, other.version)).toEqual(other);
    feed.close();
    expectCorrupt(() => verify(path, keys), /does not match its hash/);
    // Rewrite the bucket's hash in its level-1 page: now that page fails the hash its parent holds.
    const page = reader.refAt(ref.position, 1);
    const slot = bodyStart + page.offset + 14 + (ref.position % FANOUT) * 36 + 4;
    const { createHash } = await import('node:crypto');
    createHash('sha256').update(forged.subarray(bodyStart + ref.offset, bodyStart + ref.offset + ref.length)).digest().copy(forged, slot);
    writeFileSync(path, forged);
    const again = open(path, keys);
    expectCorrupt(() => again.lookup(target.name, target.version), /index page 1\/\d+ does not match its hash/);
    again.close();
  });

  it('refuses a forged index page, a forged root, and pages swapped between two places', async () => {
    const { keys, records, path } = await built(5000);
    const { reader, bodyStart, data } = tree(path);
    const target = records[0]!;
    const bucket = reader.bucketOf(target.name, target.version);
    const page = reader.refAt(bucket, 1);
    const flip = (at: number) => {
      const copy = Buffer.from(data);
      copy[at] ^= 0x01;
      writeFileSync(path, copy);
    };
    flip(bodyStart + page.offset + 20);
    expectCorrupt(() => open(path, keys).lookup(target.name, target.version), /index page 1\/\d+ does not match its hash/);
    expectCorrupt(() => verify(path, keys), /does not match its hash/);
    flip(bodyStart + reader.root.offset + 30);
    expectCorrupt(() => open(path, keys).lookup(target.name, target.version), new RegExp(`index page ${reader.root.level}/0 does not match its hash`));
    // Two full level-1 pages have the same length: swap them.
    const other = reader.refAt((page.position === 0 ? 1 : 0) * FANOUT, 1);
    expect(other.length).toBe(page.length);
    const swapped = Buffer.from(data);
    data.copy(swapped, bodyStart + page.offset, bodyStart + other.offset, bodyStart + other.offset + other.length);
    data.copy(swapped, bodyStart + other.offset, bodyStart + page.offset, bodyStart + page.offset + page.length);
    writeFileSync(path, swapped);
    expectCorrupt(() => open(path, keys).lookup(target.name, target.version), /index page 1\/\d+ does not match its hash/);
    expectCorrupt(() => verify(path, keys), /does not match its hash/);
  });

  it('refuses a truncated or extended file', async () => {
    const { keys, path } = await built(500);
    const original = readFileSync(path);
    truncateSync(path, original.length - 1);
    expectCorrupt(() => open(path, keys), /size is \d+ bytes/);
    writeFileSync(path, Buffer.concat([original, Buffer.from('x')]));
    expectCorrupt(() => open(path, keys), /size is \d+ bytes/);
  });
});

describe('schema 3: records are bound to their place', () => {
  const records = sampleRecords(40);
  const line = (r: FeedRecord) => JSON.stringify(r) + '\n';

  function setup(): { keys: TestKeys; dir: string } {
    const keys = makeKeys();
    const dir = tempDir();
    return { keys, dir };
  }

  async function signedWith(keys: TestKeys, dir: string, place: (bucket: number, r: FeedRecord) => number, extra: (texts: string[]) => void = () => {}): Promise<string> {
    const buckets = 4;
    const texts: string[][] = Array.from({ length: buckets }, () => []);
    for (const r of [...records].sort((a, b) => (recordKey(a.name, a.version) < recordKey(b.name, b.version) ? -1 : 1))) {
      texts[place(bucketOf(r, buckets), r)]!.push(line(r));
    }
    const joined = texts.map((t) => t.join(''));
    extra(joined);
    return signedTree(keys, joined, records.length, join(dir, 'provenance.feed'));
  }

  it('a correctly signed tree of correctly placed records reads back', async () => {
    const { keys, dir } = setup();
    const path = await signedWith(keys, dir, (bucket) => bucket);
    const feed = open(path, keys);
    for (const r of records) expect(feed.lookup(r.name, r.version)).toEqual(r);
    feed.close();
    expect(verify(path, keys).records).toBe(records.length);
  });

  it('refuses a record signed into a bucket its key does not map to', async () => {
    const { keys, dir } = setup();
    const moved = records[7]!;
    const path = await signedWith(keys, dir, (bucket, r) => (r === moved ? (bucket + 1) % 4 : bucket));
    expectCorrupt(() => verify(path, keys), new RegExp(`record ${recordKey(moved.name, moved.version).replace(/[.@/]/g, '\\$&')} is in bucket \\d, not the bucket its key maps to`));
    // A lookup only ever reads the bucket the key maps to: the misplaced record is never an answer.
    expect(open(path, keys).lookup(moved.name, moved.version)).toBeUndefined();
  });

  it('refuses a line that starts as the record looked up but parses as another (duplicate JSON keys)', async () => {
    const { keys, dir } = setup();
    const victim = records[3]!;
    const path = await signedWith(keys, dir, (bucket) => bucket, (texts) => {
      const b = bucketOf(victim, 4);
      const original = line(victim);
      texts[b] = texts[b]!.replace(original, original.replace(/}\n$/, `,"name":"evil-${victim.name.replace(/^@scope\//, '')}"}\n`));
    });
    expectCorrupt(() => open(path, keys).lookup(victim.name, victim.version), /holds a record for evil-.* where .* was looked up/);
  });
});

describe('schema 3: a page must name its own place', () => {
  it('refuses a correctly signed index page that says it is another page of its level', async () => {
    const keys = makeKeys();
    const records = sampleRecords(60);
    const buckets = 20; // two level-1 pages (16 + 4 buckets) under the root
    const texts: string[][] = Array.from({ length: buckets }, () => []);
    for (const r of [...records].sort((a, b) => (recordKey(a.name, a.version) < recordKey(b.name, b.version) ? -1 : 1))) texts[bucketOf(r, buckets)]!.push(JSON.stringify(r) + '\n');
    const stored = texts.map((t) => (t.length === 0 ? Buffer.alloc(0) : encodeBucket(3, t.join(''))));
    const leaves = stored.map((b) => ({ length: b.length, sha256: sha256Of(b) }));
    const bucketBytes = stored.reduce((n, b) => n + b.length, 0);
    const firstOf = (i: number) => stored.slice(0, i).reduce((n, b) => n + b.length, 0);
    const build = (secondPosition: number) => {
      const p0 = encodePage(1, 0, 0, leaves.slice(0, 16));
      const p1 = encodePage(1, secondPosition, firstOf(16), leaves.slice(16));
      const root = encodePage(2, 0, bucketBytes, [p0, p1].map((p) => ({ length: p.length, sha256: sha256Of(p) })));
      const header = {
        schema: 3, serial: 9, generatedAt: new Date(Date.now() - 1000).toISOString(), expiresAt: new Date(Date.now() + 86_400_000).toISOString(), records: records.length,
        keyId: keyId(readPrivateKey(keys.privateKeyPath)), buckets, fanout: FANOUT, rootSha256: sha256Of(root).toString('hex'), rootLength: root.length, bodyBytes: bucketBytes + p0.length + p1.length + root.length,
      };
      const signed = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
      const path = join(tempDir(), 'provenance.feed');
      writeFileSync(path, Buffer.concat([signed, Buffer.from(`${SIG_PREFIX}${sign(null, signed, readPrivateKey(keys.privateKeyPath)).toString('base64')}\n`), ...stored, p0, p1, root]));
      return path;
    };
    const good = build(1);
    const feed = open(good, keys);
    for (const r of records) expect(feed.lookup(r.name, r.version)).toEqual(r);
    feed.close();
    expect(verify(good, keys).records).toBe(records.length);
    const lying = build(0);
    const inSecond = records.find((r) => bucketOf(r, buckets) >= 16)!;
    expectCorrupt(() => open(lying, keys).lookup(inSecond.name, inSecond.version), /page 1\/1 is not the page of that place in the tree/);
    expectCorrupt(() => verify(lying, keys), /not the page of that place/);
  });
});

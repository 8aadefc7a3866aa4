/**
 * How many reads `feed verify` makes (reader.ts): the buckets are read in file order through an
 * 8 MB window (schemas 1 and 2: the full pass; schema 3: the sequential page source), not one
 * read per bucket. node:fs is wrapped to count readSync calls, so this is a file of its own.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const counter = vi.hoisted(() => ({ reads: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readSync = ((...args: Parameters<typeof fs.readSync>) => {
    counter.reads++;
    return fs.readSync(...args);
  }) as typeof fs.readSync;
  return { ...fs, default: { ...fs, readSync }, readSync };
});

const { verifyFeed } = await import('../src/feed/reader');
const { readPreamble } = await import('../src/feed/preamble');
const { levelSizes } = await import('../src/feed/tree');
const format = await import('../src/feed/format');
const { buildTestFeed, makeKeys, sampleRecords } = await import('./helpers/feed-fixtures');
const { tempDirs } = await import('./helpers/temp');

const temp = tempDirs('pg-feed-reads-units-');

describe('feed verify reads through a window, not bucket by bucket', () => {
  const keys = makeKeys(temp('pg-keys-'));
  const now = new Date('2026-11-02T00:00:00Z');
  const build = (schema: number, count: number) =>
    buildTestFeed(keys, sampleRecords(count, `r${schema}`), join(temp(), 'provenance.feed'), { schema, now: new Date('2026-11-01T00:00:00Z') });
  const readsOf = (path: string) => {
    counter.reads = 0;
    verifyFeed(path, [keys.publicKey], { stateDir: temp(), now });
    return counter.reads;
  };

  it.each([1, 2])('schema %i: the header, the index and one read for all the buckets', async (schema) => {
    const path = await build(schema, 400);
    expect(readPreamble(path).header.buckets).toBeGreaterThan(10);
    expect(readsOf(path)).toBe(3);
  });

  it('schema 1 past the window: a second window starts at the first bucket the first one did not hold whole', async () => {
    const records = sampleRecords(200, 'wide').map((r, i) => ({ ...r, note: `${i}:${'w'.repeat(50 * 1024)}` }));
    const path = await buildTestFeed(keys, records, join(temp(), 'provenance.feed'), { schema: 1, now: new Date('2026-11-01T00:00:00Z') });
    const { header } = readPreamble(path);
    expect(header.bodyBytes).toBeGreaterThan(8 * 1024 * 1024);
    expect(header.bodyBytes).toBeLessThan(16 * 1024 * 1024);
    expect(readsOf(path)).toBe(4);
  });

  it('schema 3: the header, each index page apart, and one read for all the buckets', async () => {
    const path = await build(3, 400);
    const { header } = readPreamble(path);
    expect(header.buckets).toBeGreaterThan(20);
    const indexPages = levelSizes(header.buckets, header.fanout!).slice(1).reduce((a, b) => a + b, 0);
    expect(readsOf(path)).toBe(1 + indexPages + 1);
  });
});

describe('feed verify with an empty first bucket', () => {
  const keys = makeKeys(temp('pg-keys-'));
  const now = new Date('2026-11-02T00:00:00Z');
  const { bucketCount, bucketOfHash, keyHash, recordKey } = format;

  it.each([1, 2, 3])('schema %i: the empty bucket costs no read of its own', async (schema) => {
    const n = 160;
    const buckets = bucketCount(n, schema);
    const records = sampleRecords(600, `e${schema}`).filter((r) => bucketOfHash(keyHash(recordKey(r.name, r.version)), buckets) !== 0).slice(0, n);
    expect(records).toHaveLength(n);
    const path = await buildTestFeed(keys, records, join(temp(), 'provenance.feed'), { schema, now: new Date('2026-11-01T00:00:00Z') });
    const { header } = readPreamble(path);
    expect(header.buckets).toBe(buckets);
    const indexReads = schema === 3 ? levelSizes(header.buckets, header.fanout!).slice(1).reduce((a, b) => a + b, 0) : 1;
    counter.reads = 0;
    expect(verifyFeed(path, [keys.publicKey], { stateDir: temp(), now }).records).toBe(n);
    expect(counter.reads).toBe(1 + indexReads + 1);
  });
});

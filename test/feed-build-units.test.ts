/**
 * `feed build` in process (build.ts): where the feed goes, the serial and dates it is signed with,
 * the key it is signed by, and what is left on disk. Small feeds only; the 16 MB spill is in
 * test/feed-units.test.ts. Written against the mutants Stryker left alive (docs/mutation.md).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeedError } from '../src/errors';
import { buildFeed, resolveOut } from '../src/feed/build';
import { MAGIC } from '../src/feed/format';
import { keyId, readPrivateKey } from '../src/feed/keys';
import { readPreamble } from '../src/feed/preamble';
import { openFeed, verifyFeed } from '../src/feed/reader';
import { FANOUT } from '../src/feed/tree';
import { rejected } from './helpers/errors';
import { makeKeys, sampleRecords } from './helpers/feed-fixtures';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-feed-build-units-');
const keys = makeKeys(temp('pg-keys-'));
const records = sampleRecords(40);
const now = new Date('2026-11-01T12:34:56.789Z');
const DAY = 24 * 60 * 60 * 1000;

describe('where the feed is written (resolveOut)', () => {
  it('a folder (existing, or named with a trailing separator) gets provenance.feed; anything else is the file path', () => {
    const dir = temp();
    writeFileSync(join(dir, 'file.feed'), 'x');
    expect(resolveOut(dir)).toBe(join(dir, 'provenance.feed'));
    expect(resolveOut(`${dir}/`)).toBe(join(dir, 'provenance.feed'));
    expect(resolveOut(join(dir, 'new') + '/')).toBe(join(dir, 'new', 'provenance.feed'));
    expect(resolveOut(join(dir, 'new') + '\\')).toBe(join(dir, 'new\\', 'provenance.feed'));
    expect(resolveOut(join(dir, 'new'))).toBe(join(dir, 'new'));
    expect(resolveOut(join(dir, 'file.feed'))).toBe(join(dir, 'file.feed'));
    expect(resolveOut(join(dir, 'a/b', '..', 'c.feed'))).toBe(join(dir, 'a', 'c.feed'));
    // A trailing separator anywhere else is no folder.
    expect(resolveOut(join(dir, 'x/y.feed'))).toBe(join(dir, 'x', 'y.feed'));
  });

  it('builds into a folder that does not exist yet, creating its parents, and leaves only the feed there', async () => {
    const dir = temp();
    const out = join(dir, 'a', 'b') + '/';
    const { path } = await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out, now });
    expect(path).toBe(join(dir, 'a', 'b', 'provenance.feed'));
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['provenance.feed']);
    expect(verifyFeed(path, [keys.publicKey], { cacheDir: temp(), now }).records).toBe(records.length);
    // Written again over an existing feed: still one file, no temp files left.
    await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: join(dir, 'a', 'b'), now });
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['provenance.feed']);
  });
});

describe('file descriptors', () => {
  it.runIf(existsSync('/proc/self/fd'))('closes every file it opens, after a build and after a refused one', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const dir = temp();
    await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: dir, now });
    const before = fds();
    for (const schema of [1, 3, 3]) await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: dir, now, schema });
    const duplicate = [...records, { ...records[0]!, note: 'again' }];
    for (let i = 0; i < 3; i++) await rejected(Error, buildFeed({ records: duplicate, privateKeyPath: keys.privateKeyPath, out: dir, now }));
    expect(fds()).toBe(before);
  });
});

describe('what the feed is signed with (signingPlan, header)', () => {
  it('signs the header it returns: schema 3, dates from now, 30 days by default, counts and the key id', async () => {
    const dir = temp();
    const { path, header } = await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: dir, now });
    expect(header).toMatchObject({
      schema: 3, generatedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 30 * DAY).toISOString(), records: records.length,
      keyId: keyId(readPrivateKey(keys.privateKeyPath)), fanout: FANOUT, buckets: 3,
    });
    const preamble = readPreamble(path);
    expect(preamble.header).toEqual(header);
    expect(preamble.signed.toString()).toBe(MAGIC + JSON.stringify(header) + '\n');
    expect(preamble.bodyStart + (header.bodyBytes as number)).toBe(readFileSync(path).length);
  });

  it('without a serial: one above the feed already at out, or the time in seconds, whichever is higher', async () => {
    const dir = temp();
    const build = (extra: { serial?: number; now?: Date } = {}) => buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: dir, now, ...extra });
    const seconds = Math.floor(now.getTime() / 1000);
    expect((await build()).header.serial).toBe(seconds);
    expect((await build()).header.serial).toBe(seconds + 1);
    expect((await build({ serial: 5 })).header.serial).toBe(5);
    expect((await build()).header.serial).toBe(seconds);
    expect((await build({ now: new Date(now.getTime() + 10_000) })).header.serial).toBe(seconds + 10);
    // At the epoch: one above nothing.
    const epoch = temp();
    const first = await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: epoch, now: new Date(0), expiresIn: 1000 });
    expect(first.header.serial).toBe(1);
    // A file at out that is no feed has no serial to follow.
    const other = temp();
    writeFileSync(join(other, 'provenance.feed'), 'not a feed');
    expect((await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: other, now })).header.serial).toBe(seconds);
  });

  it('signs with a loaded key without reading a key file, and refuses a build with neither (ERR_PG_FEED_KEY)', async () => {
    const other = makeKeys(temp('pg-keys-'));
    const privateKey = readPrivateKey(other.privateKeyPath);
    const { path, header } = await buildFeed({ records, privateKey, privateKeyPath: join(temp(), 'missing.key'), out: temp(), now });
    expect(header.keyId).toBe(keyId(privateKey));
    const feed = openFeed(path, { publicKeys: [other.publicKey], cacheDir: temp(), now });
    try {
      expect(feed.lookup(records[3]!.name, records[3]!.version)).toEqual(records[3]);
    } finally {
      feed.close();
    }
    const out = temp();
    expect((await rejected(FeedError, buildFeed({ records, out, now }))).code).toBe('ERR_PG_FEED_KEY');
    expect(readdirSync(out)).toEqual([]);
  });

  it('writes the schema asked for: 1 and 2 with a flat index, 3 with a tree', async () => {
    for (const schema of [1, 2, 3]) {
      const { path, header } = await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: temp(), now, schema });
      expect(header.schema).toBe(schema);
      expect(schema === 3 ? header.rootSha256 : header.indexSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(verifyFeed(path, [keys.publicKey], { cacheDir: temp(), now }).records).toBe(records.length);
    }
  });
});

describe('records (partitionRecords)', () => {
  it('keeps every field of a record, name and version first', async () => {
    const record = { repository: { url: 'https://github.com/o/r', commit: 'b'.repeat(40), status: 'claimed' }, version: '2.0.0', name: 'fields', extra: [1, { x: null }] };
    const { path } = await buildFeed({ records: [record as never], privateKeyPath: keys.privateKeyPath, out: temp(), now, schema: 1 });
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('{"name":"fields","version":"2.0.0","repository":{"url":"https://github.com/o/r","commit":"' + 'b'.repeat(40) + '","status":"claimed"},"extra":[1,{"x":null}]}\n');
  });

  it('an empty list is a feed of one empty bucket', async () => {
    const { path, header } = await buildFeed({ records: [], privateKeyPath: keys.privateKeyPath, out: temp(), now });
    expect(header).toMatchObject({ records: 0, buckets: 1 });
    expect(verifyFeed(path, [keys.publicKey], { cacheDir: temp(), now }).records).toBe(0);
  });

  it('refuses a record with an invalid field, naming its position (ERR_PG_RECORDS_INVALID), and writes nothing', async () => {
    const out = temp();
    mkdirSync(join(out, 'sub'));
    const bad = [...records.slice(0, 4), { ...records[4]!, integrity: 'md5-x' }];
    const error = await rejected(Error, buildFeed({ records: bad, privateKeyPath: keys.privateKeyPath, out, now }));
    expect((error as FeedError).code).toBe('ERR_PG_RECORDS_INVALID');
    expect(error.message).toContain('record #5');
    expect(readdirSync(out)).toEqual(['sub']);
  });
});

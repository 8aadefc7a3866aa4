/**
 * `feed build` in process (build.ts): where the feed goes, the serial and dates it is signed with,
 * the key it is signed by, and what is left on disk. Small feeds only; the 16 MB spill is in
 * test/feed-units.test.ts. Written against the mutants Stryker left alive (docs/mutation.md).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeedError } from '../src/errors';
import { buildFeed, resolveOut } from '../src/feed/build';
import { MAGIC, recordKey } from '../src/feed/format';
import { keyId, readPrivateKey } from '../src/feed/keys';
import { readPreamble } from '../src/feed/preamble';
import { openFeed, verifyFeed } from '../src/feed/reader';
import { FANOUT } from '../src/feed/tree';
import { rejected } from './helpers/errors';
import { makeKeys, sampleRecords } from './helpers/feed-fixtures';
import { tempDirs } from './helpers/temp';
import type { FeedRecord } from '../src/types';

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
    expect(verifyFeed(path, [keys.publicKey], { stateDir: temp(), now }).records).toBe(records.length);
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
    const feed = openFeed(path, { publicKeys: [other.publicKey], stateDir: temp(), now });
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
      expect(verifyFeed(path, [keys.publicKey], { stateDir: temp(), now }).records).toBe(records.length);
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
    expect(verifyFeed(path, [keys.publicKey], { stateDir: temp(), now }).records).toBe(0);
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

describe('refusals name the value refused', () => {
  it('names the expiry, the serial, and the schema given beside the schemas it writes', async () => {
    const build = (extra: Record<string, unknown>) => rejected(FeedError, buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: temp(), now, ...extra }));
    const expiry = await build({ expiresIn: -5 });
    expect(expiry.code).toBe('ERR_PG_FEED_EXPIRY_RANGE');
    expect(expiry.message).toContain('-5');
    const serial = await build({ serial: 1.5 });
    expect(serial.code).toBe('ERR_PG_FEED_SERIAL_INVALID');
    expect(serial.message).toContain('1.5');
    const schema = await build({ schema: 7 });
    expect(schema.code).toBe('ERR_PG_FEED_SCHEMA');
    expect(schema.message).toContain('7');
    expect(schema.message).toContain('1, 2, 3');
  });
});

describe('records past 16 MB wait in temp files (Partitions)', () => {
  /** The temp folders under `root` and the bytes in their files. */
  const look = (root: string) => {
    const folders = readdirSync(root);
    const bytes = folders.flatMap((f) => readdirSync(join(root, f)).map((n) => statSync(join(root, f, n)).size)).reduce((a, b) => a + b, 0);
    return { folders: folders.length, bytes };
  };
  /** Builds with a private TMPDIR (only this build's spill folder can appear there); seen[k]: that folder after k records were taken. */
  async function spilling(records: FeedRecord[]): Promise<{ path: string; seen: { folders: number; bytes: number }[]; root: string }> {
    const root = temp();
    const out = join(temp(), 'big.feed');
    const seen: { folders: number; bytes: number }[] = [];
    async function* counted() {
      for (const r of records) {
        seen.push(look(root));
        yield r;
      }
      seen.push(look(root));
    }
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = root;
    try {
      const { path } = await buildFeed({ records: counted(), privateKeyPath: keys.privateKeyPath, out, now });
      return { path, seen, root };
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  }

  it('holds records up to 16 MiB as it counts them (line, key, origin and 64 bytes each), and spills past that', async () => {
    const MiB = 1024 * 1024;
    const accounted = (r: FeedRecord, position: number) => {
      const { name, version, ...rest } = r;
      return Buffer.byteLength(JSON.stringify({ name, version, ...rest }) + '\n') + recordKey(name, version).length + `record #${position}`.length + 64;
    };
    const base = sampleRecords(16, 't');
    const records: FeedRecord[] = base.slice(0, 15).map((r) => ({ ...r, note: 'y'.repeat(MiB - 1000) }));
    const filler = { ...base[15]!, note: '' };
    filler.note = 'y'.repeat(16 * MiB - records.reduce((n, r, i) => n + accounted(r, i + 1), 0) - accounted(filler, 16));
    records.push(filler);
    expect(records.reduce((n, r, i) => n + accounted(r, i + 1), 0)).toBe(16 * MiB);
    // One small record more tips it over; counted with any term less (key, origin, 64 bytes) it would not.
    const small = { name: 'z', version: '1.0.0' } as FeedRecord;
    records.push(small);
    const keys17 = records.reduce((n, r) => n + recordKey(r.name, r.version).length, 0);
    const origins17 = records.reduce((n, _r, i) => n + `record #${i + 1}`.length, 0);
    expect(accounted(small, 17)).toBeLessThan(Math.min(2 * keys17, 2 * origins17, 2 * 64 * 17));
    const { seen, root } = await spilling(records);
    expect(seen[16]).toEqual({ folders: 0, bytes: 0 });
    expect(seen[17]!.folders).toBe(1);
    expect(readdirSync(root)).toEqual([]);
  });

  it('moves the records read so far into a temp folder once they pass 16 MB, not before, and removes it after', async () => {
    const big = sampleRecords(18, 's').map((r, i) => ({ ...r, note: `${i}:${'y'.repeat(1024 * 1024)}` }));
    const { path, seen, root } = await spilling(big);
    expect(seen.slice(0, 16)).toEqual(Array.from({ length: 16 }, () => ({ folders: 0, bytes: 0 })));
    expect(seen[16]!.folders).toBe(1);
    expect(seen[16]!.bytes).toBeGreaterThan(16 * 1024 * 1024);
    expect(readdirSync(root)).toEqual([]);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp(), now });
    try {
      for (const r of [big[0]!, big[15]!, big[17]!]) expect(feed.lookup(r.name, r.version)).toEqual(r);
    } finally {
      feed.close();
    }
  });
});

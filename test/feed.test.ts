import { existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync, appendFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FeedError, RecordsError } from '../src/errors';
import { buildFeed } from '../src/feed/build';
import { INDEX_ENTRY_BYTES, MAGIC, bucketOfHash, keyHash, recordKey } from '../src/feed/format';
import { generateKeyPair, keyId, parsePublicKey } from '../src/feed/keys';
import { openFeed, verifyFeed } from '../src/feed/reader';
import { readPreamble } from '../src/feed/preamble';
import { cacheDir } from '../src/paths';
import type { FeedRecord } from '../src/types';
import { buildTestFeed, flipByte, makeKeys, sampleRecords, tempDir } from './helpers/feed-fixtures';

function expectFeedError(fn: () => unknown, pattern: RegExp, code?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(FeedError);
  expect((thrown as Error).message).toMatch(pattern);
  if (code) expect((thrown as FeedError).code).toBe(code);
}

describe('cacheDir', () => {
  it('prefers PROVENANCE_GUARD_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(cacheDir({ PROVENANCE_GUARD_CACHE_DIR: '/x/y', XDG_CACHE_HOME: '/xdg' })).toBe('/x/y');
    expect(cacheDir({ XDG_CACHE_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/provenance-guard');
    expect(cacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/provenance-guard');
  });
});

describe('feed keys', () => {
  it('writes a 0600 PKCS8 private key and the printed public key, and never overwrites', () => {
    const dir = tempDir();
    const keys = generateKeyPair(dir);
    expect(keys.privateKeyPath).toBe(join(dir, 'feed.key'));
    expect(statSync(keys.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(keys.privateKeyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(keys.publicKeyPath, 'utf8').trim()).toBe(keys.publicKey);
    expect(Buffer.from(keys.publicKey, 'base64')).toHaveLength(32);
    const before = readFileSync(keys.privateKeyPath, 'utf8');
    expectFeedError(() => generateKeyPair(dir), /already exists/);
    expect(readFileSync(keys.privateKeyPath, 'utf8')).toBe(before);
  });

  it('parses the printed form and PEM to the same key, and refuses anything else', () => {
    const keys = generateKeyPair(tempDir());
    const raw = parsePublicKey(keys.publicKey);
    const pem = parsePublicKey(raw.export({ type: 'spki', format: 'pem' }) as string);
    expect(keyId(pem)).toBe(keyId(raw));
    expect(keyId(raw)).toMatch(/^[0-9a-f]{16}$/);
    expectFeedError(() => parsePublicKey('not a key'), /not an Ed25519 public key/);
    expectFeedError(() => parsePublicKey(Buffer.alloc(31).toString('base64')), /not an Ed25519 public key/);
    expectFeedError(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'), /PEM/);
  });
});

describe('feed build and lookup', () => {
  it('round-trips every record and finds nothing else', async () => {
    const keys = makeKeys();
    const dir = tempDir();
    const records = sampleRecords(500);
    records[3] = { ...records[3]!, futureField: { nested: [1, 2] }, note: 'ünïcödé ✓' };
    const { path, header } = await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: dir, serial: 7, now: new Date('2026-11-01T00:00:00Z') });
    expect(path).toBe(join(dir, 'provenance.feed'));
    expect(header).toMatchObject({ schema: 1, serial: 7, records: 500, generatedAt: '2026-11-01T00:00:00.000Z', expiresAt: '2026-12-01T00:00:00.000Z', keyId: keyId(parsePublicKey(keys.publicKey)) });
    const feed = openFeed(path, { publicKeys: [keys.publicKey], cacheDir: tempDir(), now: new Date('2026-11-02T00:00:00Z') });
    expect(feed.header.serial).toBe(7);
    for (const record of records) expect(feed.lookup(record.name, record.version)).toEqual(record);
    expect(feed.lookup('pkg-1', '9.9.9')).toBeUndefined();
    expect(feed.lookup('nope', '1.0.0')).toBeUndefined();
    // A name that is a prefix of another must not match it.
    expect(feed.lookup('pkg-1', '1.1.1')).toEqual(records[1]);
    feed.close();
    expect(() => feed.lookup('pkg-1', '1.1.1')).toThrow(/closed/);
  });

  it('writes DIR/provenance.feed for an existing directory or a path ending in a slash', async () => {
    const keys = makeKeys();
    const dir = tempDir();
    const { path } = await buildFeed({ records: sampleRecords(2), privateKeyPath: keys.privateKeyPath, out: join(dir, 'new', 'feed') + '/' });
    expect(path).toBe(join(dir, 'new', 'feed', 'provenance.feed'));
    expect(readFileSync(path, 'latin1').startsWith(MAGIC)).toBe(true);
  });

  it('builds an empty feed', async () => {
    const keys = makeKeys();
    const path = await buildTestFeed(keys, [], join(tempDir(), 'empty.feed'));
    const feed = openFeed(path, { publicKeys: [keys.publicKey], cacheDir: tempDir() });
    expect(feed.header.records).toBe(0);
    expect(feed.lookup('a', '1.0.0')).toBeUndefined();
    feed.close();
  });

  it('defaults the serial above the previous feed at the same path', async () => {
    const keys = makeKeys();
    const out = join(tempDir(), 'f.feed');
    const now = new Date('2026-11-01T00:00:00Z');
    await buildTestFeed(keys, sampleRecords(3), out, { serial: 5_000_000_000, now });
    const second = await buildFeed({ records: sampleRecords(3), privateKeyPath: keys.privateKeyPath, out, now });
    expect(second.header.serial).toBe(5_000_000_001);
    const fresh = await buildFeed({ records: sampleRecords(3), privateKeyPath: keys.privateKeyPath, out: join(tempDir(), 'g.feed'), now });
    expect(fresh.header.serial).toBe(Math.floor(now.getTime() / 1000));
  });

  it('refuses duplicate name@version, leaving the previous feed untouched', async () => {
    const keys = makeKeys();
    const dir = tempDir();
    const out = await buildTestFeed(keys, sampleRecords(3), dir);
    const before = readFileSync(out);
    const records = [...sampleRecords(20), { name: 'pkg-4', version: '1.4.4' }];
    await expect(buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: dir })).rejects.toThrow(RecordsError);
    await expect(buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: dir })).rejects.toThrow(/record #21: duplicate record for pkg-4@1\.4\.4 \(first at record #5\)/);
    expect(readFileSync(out).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['provenance.feed']);
  });

  it('refuses an invalid record given directly', async () => {
    const keys = makeKeys();
    const records = [{ name: 'ok', version: '1.0.0' }, { name: 'Bad Name', version: '1.0.0' }] as FeedRecord[];
    await expect(buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: join(tempDir(), 'x.feed') })).rejects.toThrow(/record #2: name "Bad Name"/);
  });

  it('any set of valid records round-trips through build and lookup', async () => {
    const keys = makeKeys();
    const nameArb = fc.oneof(
      fc.stringMatching(/^[a-z0-9][a-z0-9._~-]{0,20}$/),
      fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/), fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,12}$/)).map(([s, n]) => `@${s}/${n}`),
    );
    const versionArb = fc
      .tuple(fc.nat(20), fc.nat(20), fc.nat(999), fc.option(fc.stringMatching(/^(alpha|beta|rc)\.[1-9]$/), { nil: undefined }))
      .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre}` : ''}`);
    const recordArb = fc.record(
      {
        name: nameArb,
        version: versionArb,
        integrity: fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => 'sha512-' + Buffer.from(b).toString('base64')),
        rebuild: fc.record({ verdict: fc.constantFrom('reproducible', 'not-reproducible', 'unknown') }),
        scorecard: fc.record({ score: fc.integer({ min: 0, max: 100 }).map((n) => n / 10), checks: fc.dictionary(fc.stringMatching(/^[A-Z][a-zA-Z-]{0,10}$/), fc.integer({ min: -1, max: 10 })) }),
        extra: fc.jsonValue(),
      },
      { requiredKeys: ['name', 'version'] },
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(recordArb, { selector: (r) => `${r.name}@${r.version}`, maxLength: 80 }), async (records) => {
        runs++;
        const dir = tempDir('pg-prop-');
        const { path } = await buildFeed({ records: records as FeedRecord[], privateKeyPath: keys.privateKeyPath, out: dir });
        const feed = openFeed(path, { publicKeys: [keys.publicKey], cacheDir: dir });
        try {
          for (const record of records) expect(feed.lookup(record.name, record.version)).toEqual(JSON.parse(JSON.stringify(record)));
          expect(feed.lookup('absent-package', '0.0.0')).toBeUndefined();
        } finally {
          feed.close();
        }
      }),
      { numRuns: 40 },
    );
    expect(runs).toBe(40);
  });
});

describe('feed trust', () => {
  async function built(count = 400) {
    const keys = makeKeys();
    const records = sampleRecords(count);
    const path = await buildTestFeed(keys, records, join(tempDir(), 'provenance.feed'));
    return { keys, records, path };
  }

  it('refuses one flipped byte anywhere: magic, header, signature, index, a far bucket, the last byte', async () => {
    const { keys, records, path } = await built();
    const original = readFileSync(path);
    const { bodyStart, header } = readPreamble(path);
    const target = records[0]!;
    const targetBucket = bucketOfHash(keyHash(recordKey(target.name, target.version)), header.buckets);
    const farBucket = (targetBucket + Math.floor(header.buckets / 2)) % header.buckets;
    const farEntry = original.toString('latin1', bodyStart + farBucket * INDEX_ENTRY_BYTES, bodyStart + (farBucket + 1) * INDEX_ENTRY_BYTES);
    const bucketsStart = bodyStart + header.buckets * INDEX_ENTRY_BYTES;
    const farOffset = bucketsStart + parseInt(farEntry.slice(0, 12), 16) + 5;
    const positions: [string, number][] = [
      ['magic', 3],
      ['header serial', original.indexOf('"serial"') + 10],
      ['header expiry', original.indexOf('"expiresAt"') + 15],
      ['signature', bodyStart - 20],
      ['index', bodyStart + 10],
      ['far bucket', farOffset],
      ['last byte', original.length - 2],
    ];
    for (const [what, offset] of positions) {
      writeFileSync(path, original);
      flipByte(path, offset, what === 'far bucket' ? 0x04 : 0x01);
      const cache = tempDir();
      expect(() => openFeed(path, { publicKeys: [keys.publicKey], cacheDir: cache }), what).toThrow(FeedError);
      expect(() => verifyFeed(path, [keys.publicKey], { cacheDir: cache }), what).toThrow(FeedError);
    }
    writeFileSync(path, original);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], cacheDir: tempDir() });
    expect(feed.lookup(target.name, target.version)).toEqual(target);
    feed.close();
  });

  it('refuses truncated or extended files and files that are not feeds', async () => {
    const { keys, path } = await built(50);
    const original = readFileSync(path);
    appendFileSync(path, '{"name":"evil","version":"1.0.0"}\n');
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], cacheDir: tempDir() }), /corrupted or was tampered with/, 'ERR_PG_FEED_CORRUPT');
    writeFileSync(path, original);
    truncateSync(path, original.length - 1);
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], cacheDir: tempDir() }), /corrupted or was tampered with/);
    writeFileSync(path, '{"name":"left-pad","version":"1.3.0"}\n');
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], cacheDir: tempDir() }), /is not a provenance-guard feed/);
    expectFeedError(() => openFeed(join(tempDir(), 'missing.feed'), { publicKeys: [keys.publicKey], cacheDir: tempDir() }), /cannot open feed/);
    expectFeedError(() => openFeed(tempDir(), { publicKeys: [keys.publicKey], cacheDir: tempDir() }), /is a directory, not a feed file/);
  });

  it('verifies each bucket at lookup even after the file was marked verified', async () => {
    const { keys, records, path } = await built(200);
    const cache = tempDir();
    const stamp = new Date('2026-01-01T00:00:00Z');
    utimesSync(path, stamp, stamp);
    openFeed(path, { publicKeys: [keys.publicKey], cacheDir: cache }).close();
    expect(readdirSync(join(cache, 'verified'))).toHaveLength(1);
    // Tamper with the bucket holding records[0] but keep size and mtime: the open skips the full pass.
    const data = readFileSync(path);
    const target = records[0]!;
    const at = data.indexOf(`"name":${JSON.stringify(target.name)},"version":${JSON.stringify(target.version)}`);
    const scoreAt = data.indexOf('"status":"', at) + 10;
    data[scoreAt] = data[scoreAt] === 0x61 ? 0x62 : 0x61;
    writeFileSync(path, data);
    utimesSync(path, stamp, stamp);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], cacheDir: cache });
    expectFeedError(() => feed.lookup(target.name, target.version), /bucket \d+ does not match its hash/);
    feed.close();
  });

  it('refuses a feed signed by another key', async () => {
    const { path } = await built(10);
    const other = makeKeys();
    expectFeedError(() => openFeed(path, { publicKeys: [other.publicKey], cacheDir: tempDir() }), /signed with key [0-9a-f]{16}, which is not one of the configured feed\.publicKeys/, 'ERR_PG_FEED_KEY');
    expectFeedError(() => openFeed(path, { publicKeys: [], cacheDir: tempDir() }), /no public key configured/);
  });

  it('refuses a feed whose header was re-signed with another key under the same keyId', async () => {
    const { keys, path } = await built(10);
    const evil = makeKeys();
    const evilFeed = await buildTestFeed(evil, [{ name: 'pkg-1', version: '1.1.1' }], join(tempDir(), 'evil.feed'));
    const good = readPreamble(path);
    const bad = readFileSync(evilFeed);
    const badPreamble = readPreamble(evilFeed);
    const forgedHeader = Buffer.from(MAGIC + JSON.stringify({ ...badPreamble.header, keyId: good.header.keyId }) + '\n');
    const forged = Buffer.concat([forgedHeader, bad.subarray(badPreamble.signed.length)]);
    writeFileSync(evilFeed, forged);
    expectFeedError(() => openFeed(evilFeed, { publicKeys: [keys.publicKey], cacheDir: tempDir() }), /signature does not verify/, 'ERR_PG_FEED_SIGNATURE');
  });

  it('refuses an expired feed', async () => {
    const keys = makeKeys();
    const now = new Date('2026-11-01T00:00:00Z');
    const path = await buildTestFeed(keys, sampleRecords(5), join(tempDir(), 'x.feed'), { now, expiresIn: 60_000 });
    const cache = tempDir();
    openFeed(path, { publicKeys: [keys.publicKey], cacheDir: cache, now: new Date('2026-11-01T00:00:59Z') }).close();
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], cacheDir: cache, now: new Date('2026-11-01T00:01:01Z') }), /expired at 2026-11-01T00:01:00\.000Z/, 'ERR_PG_FEED_EXPIRED');
    expectFeedError(() => verifyFeed(path, [keys.publicKey], { cacheDir: cache, now: new Date('2026-11-02T00:00:00Z') }), /expired/);
    // Real time: a feed built a year ago with the default 30 days has expired.
    const old = await buildTestFeed(keys, sampleRecords(5), join(tempDir(), 'old.feed'), { now: new Date(Date.now() - 365 * 86_400_000) });
    expectFeedError(() => openFeed(old, { publicKeys: [keys.publicKey], cacheDir: cache }), /expired/);
  });

  it('refuses an older serial once a newer one was accepted on this machine', async () => {
    const keys = makeKeys();
    const cache = tempDir();
    const older = await buildTestFeed(keys, sampleRecords(5), join(tempDir(), 'old.feed'), { serial: 100 });
    const newer = await buildTestFeed(keys, sampleRecords(6), join(tempDir(), 'new.feed'), { serial: 101 });
    openFeed(older, { publicKeys: [keys.publicKey], cacheDir: cache }).close();
    // Not recorded: the older one still opens.
    openFeed(newer, { publicKeys: [keys.publicKey], cacheDir: cache, recordAcceptance: false }).close();
    verifyFeed(newer, [keys.publicKey], { cacheDir: cache });
    openFeed(older, { publicKeys: [keys.publicKey], cacheDir: cache }).close();
    openFeed(newer, { publicKeys: [keys.publicKey], cacheDir: cache }).close();
    const state = JSON.parse(readFileSync(join(cache, 'feed-state.json'), 'utf8'));
    expect(state.serials[keyId(parsePublicKey(keys.publicKey))].serial).toBe(101);
    expectFeedError(() => openFeed(older, { publicKeys: [keys.publicKey], cacheDir: cache }), /serial 100, older than serial 101 already accepted on this machine \(rollback refused; .*feed trust --reset --key [0-9a-f]{16}/, 'ERR_PG_FEED_ROLLBACK');
    expectFeedError(() => verifyFeed(older, [keys.publicKey], { cacheDir: cache }), /rollback refused/);
    // Same serial again is fine; another key's serials are separate.
    openFeed(newer, { publicKeys: [keys.publicKey], cacheDir: cache }).close();
    const otherKeys = makeKeys();
    const otherFeed = await buildTestFeed(otherKeys, sampleRecords(2), join(tempDir(), 'other.feed'), { serial: 1 });
    openFeed(otherFeed, { publicKeys: [keys.publicKey, otherKeys.publicKey], cacheDir: cache }).close();
  });

  it('fails closed on a corrupted state file, and uses PROVENANCE_GUARD_CACHE_DIR by default', async () => {
    const keys = makeKeys();
    const path = await buildTestFeed(keys, sampleRecords(5), join(tempDir(), 'x.feed'));
    const cache = tempDir();
    writeFileSync(join(cache, 'feed-state.json'), '{"serials": ');
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], cacheDir: cache }), /feed-state\.json is not valid JSON; .*feed trust --reset --all/, 'ERR_PG_FEED_STATE');
    const envCache = tempDir();
    const saved = process.env.PROVENANCE_GUARD_CACHE_DIR;
    process.env.PROVENANCE_GUARD_CACHE_DIR = envCache;
    try {
      openFeed(path, { publicKeys: [keys.publicKey] }).close();
    } finally {
      if (saved === undefined) delete process.env.PROVENANCE_GUARD_CACHE_DIR;
      else process.env.PROVENANCE_GUARD_CACHE_DIR = saved;
    }
    expect(existsSync(join(envCache, 'feed-state.json'))).toBe(true);
  });
});

import { createHash, sign } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, appendFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FeedError, RecordsError } from '../src/errors';
import { buildFeed } from '../src/feed/build';
import { INDEX_ENTRY_BYTES, MAGIC, bucketOfHash, keyHash, recordKey } from '../src/feed/format';
import { generateKeyPair, keyId, parsePublicKey, readPrivateKey } from '../src/feed/keys';
import { openFeed, verifyFeed } from '../src/feed/reader';
import { readPreamble } from '../src/feed/preamble';
import { cacheDir, stateDir } from '../src/paths';
import type { FeedRecord } from '../src/types';
import { thrown } from './helpers/errors';
import { buildTestFeed, flipByte, makeKeys, sampleRecords, tempDir } from './helpers/feed-fixtures';

function expectFeedError(fn: () => unknown, pattern: RegExp, code?: string): void {
  const error = thrown(FeedError, fn);
  expect(error.message).toMatch(pattern);
  if (code) expect(error.code).toBe(code);
}

describe('cacheDir', () => {
  it('prefers PROVENANCE_GUARD_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(cacheDir({ PROVENANCE_GUARD_CACHE_DIR: '/x/y', XDG_CACHE_HOME: '/xdg' })).toBe('/x/y');
    expect(cacheDir({ XDG_CACHE_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/provenance-guard');
    expect(cacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/provenance-guard');
  });
  it('keeps trust state apart: PROVENANCE_GUARD_STATE_DIR, then XDG_STATE_HOME, then ~/.local/state, never the cache directory', () => {
    expect(stateDir({ PROVENANCE_GUARD_STATE_DIR: '/s/t', XDG_STATE_HOME: '/xdg', PROVENANCE_GUARD_CACHE_DIR: '/x/y' })).toBe('/s/t');
    expect(stateDir({ XDG_STATE_HOME: '/xdg', HOME: '/home/u', PROVENANCE_GUARD_CACHE_DIR: '/x/y' })).toBe('/xdg/provenance-guard');
    expect(stateDir({ XDG_STATE_HOME: 'relative', HOME: '/home/u' })).toBe('/home/u/.local/state/provenance-guard');
    expect(stateDir({ HOME: '/home/u', PROVENANCE_GUARD_CACHE_DIR: '/x/y', XDG_CACHE_HOME: '/xdg' })).toBe('/home/u/.local/state/provenance-guard');
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
  it.each([3, 2, 1])('round-trips every record and finds nothing else (schema %i)', async (schema) => {
    const keys = makeKeys();
    const dir = tempDir();
    const records = sampleRecords(500);
    records[3] = { ...records[3]!, futureField: { nested: [1, 2] }, note: 'ünïcödé ✓' };
    const { path, header } = await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: dir, serial: 7, now: new Date('2026-11-01T00:00:00Z'), schema });
    expect(path).toBe(join(dir, 'provenance.feed'));
    expect(header).toMatchObject({ schema, serial: 7, records: 500, generatedAt: '2026-11-01T00:00:00.000Z', expiresAt: '2026-12-01T00:00:00.000Z', keyId: keyId(parsePublicKey(keys.publicKey)) });
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir(), now: new Date('2026-11-02T00:00:00Z') });
    expect(feed.header.serial).toBe(7);
    for (const record of records) expect(feed.lookup(record.name, record.version)).toEqual(record);
    expect(feed.lookup('pkg-1', '9.9.9')).toBeUndefined();
    expect(feed.lookup('nope', '1.0.0')).toBeUndefined();
    // A name that is a prefix of another must not match it.
    expect(feed.lookup('pkg-1', '1.1.1')).toEqual(records[1]);
    feed.close();
    expect(() => feed.lookup('pkg-1', '1.1.1')).toThrow(/closed/);
  });

  it('writes schema 3 by default: compressed buckets, under 150 bytes a record for typical records', async () => {
    const keys = makeKeys();
    const records = sampleRecords(4000);
    const compact = await buildTestFeed(keys, records, join(tempDir(), 'provenance.feed'));
    const plain = await buildTestFeed(keys, records, join(tempDir(), 'provenance.feed'), { schema: 1 });
    expect(readPreamble(compact).header.schema).toBe(3);
    expect(statSync(compact).size / records.length).toBeLessThan(150);
    expect(statSync(compact).size).toBeLessThan(statSync(plain).size / 2);
    const feed = openFeed(compact, { publicKeys: [keys.publicKey], stateDir: tempDir() });
    for (const record of records.slice(0, 200)) expect(feed.lookup(record.name, record.version)).toEqual(record);
    feed.close();
    expect(verifyFeed(compact, [keys.publicKey], { stateDir: tempDir() }).records).toBe(4000);
    await expect(buildTestFeed(keys, records, join(tempDir(), 'x.feed'), { schema: 4 })).rejects.toThrow(FeedError);
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
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir() });
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
        const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: dir });
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
  // The flat-index layouts (schemas 1 and 2) byte by byte; schema 3 is in feed-tree.test.ts.
  async function built(count = 400, extra: { schema?: number } = { schema: 2 }) {
    const keys = makeKeys();
    const records = sampleRecords(count);
    const path = await buildTestFeed(keys, records, join(tempDir(), 'provenance.feed'), extra);
    return { keys, records, path };
  }

  it('refuses one flipped byte anywhere: at open in the magic, header, signature or index', async () => {
    const { keys, records, path } = await built();
    const original = readFileSync(path);
    const { bodyStart, header } = readPreamble(path);
    const positions: [string, number][] = [
      ['magic', 3],
      ['header serial', original.indexOf('"serial"') + 10],
      ['header expiry', original.indexOf('"expiresAt"') + 15],
      ['signature', bodyStart - 20],
      ['index', bodyStart + 10],
      ['last index entry', bodyStart + header.buckets * INDEX_ENTRY_BYTES - 3],
    ];
    for (const [what, offset] of positions) {
      writeFileSync(path, original);
      flipByte(path, offset, 0x01);
      const cache = tempDir();
      expect(() => openFeed(path, { publicKeys: [keys.publicKey], stateDir: cache }), what).toThrow(FeedError);
      expect(() => verifyFeed(path, [keys.publicKey], { stateDir: cache }), what).toThrow(FeedError);
    }
    writeFileSync(path, original);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir() });
    expect(feed.lookup(records[0]!.name, records[0]!.version)).toEqual(records[0]);
    feed.close();
  });

  it('refuses a flipped byte in any bucket when that bucket is read (a first open reads no bucket)', async () => {
    const { keys, records, path } = await built(300);
    const original = readFileSync(path);
    const { bodyStart, header } = readPreamble(path);
    const bucketsStart = bodyStart + header.buckets * INDEX_ENTRY_BYTES;
    const bucketOf = (r: FeedRecord) => bucketOfHash(keyHash(recordKey(r.name, r.version)), header.buckets);
    for (let bucket = 0; bucket < header.buckets; bucket++) {
      const entry = original.toString('latin1', bodyStart + bucket * INDEX_ENTRY_BYTES, bodyStart + (bucket + 1) * INDEX_ENTRY_BYTES);
      const length = parseInt(entry.slice(12, 20), 16);
      if (length === 0) continue;
      // One byte of the bucket, spread over its whole length across buckets (first, middle, last byte).
      const at = bucketsStart + parseInt(entry.slice(0, 12), 16) + ((bucket * 7919) % length);
      writeFileSync(path, original);
      flipByte(path, at, 0x04);
      const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir() });
      for (const record of records) {
        if (bucketOf(record) === bucket) expectFeedError(() => feed.lookup(record.name, record.version), /bucket \d+ does not match its hash/);
      }
      const other = records.find((r) => bucketOf(r) !== bucket)!;
      expect(feed.lookup(other.name, other.version)).toEqual(other);
      feed.close();
      expect(() => verifyFeed(path, [keys.publicKey], { stateDir: tempDir() }), `bucket ${bucket}`).toThrow(FeedError);
    }
  });

  it('refuses a rewritten bucket whose index entry was rewritten to match (the index is pinned by the header)', async () => {
    const { keys, records, path } = await built(200, { schema: 1 });
    const data = readFileSync(path);
    const { bodyStart, header } = readPreamble(path);
    const target = records[3]!;
    const bucket = bucketOfHash(keyHash(recordKey(target.name, target.version)), header.buckets);
    const entryAt = bodyStart + bucket * INDEX_ENTRY_BYTES;
    const entry = data.toString('latin1', entryAt, entryAt + INDEX_ENTRY_BYTES);
    const start = bodyStart + header.buckets * INDEX_ENTRY_BYTES + parseInt(entry.slice(0, 12), 16);
    const bytes = data.subarray(start, start + parseInt(entry.slice(12, 20), 16));
    // A well-formed forgery of the same length: the record now claims another commit.
    const forged = Buffer.from(bytes.toString('utf8').replace('a'.repeat(40), 'b'.repeat(40)));
    expect(forged.length).toBe(bytes.length);
    expect(forged.equals(bytes)).toBe(false);
    forged.copy(data, start);
    const hash = createHash('sha256').update(forged).digest('hex');
    data.write(hash, entryAt + 20, 'latin1');
    writeFileSync(path, data);
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir() }), /index does not match its hash/);
    expectFeedError(() => verifyFeed(path, [keys.publicKey], { stateDir: tempDir() }), /index does not match its hash/);
  });

  it('refuses a correctly signed bucket that does not decode (schema 2)', async () => {
    const { keys, records, path } = await built(100);
    const data = readFileSync(path);
    const { bodyStart, header, signed } = readPreamble(path);
    const target = records[0]!;
    const bucket = bucketOfHash(keyHash(recordKey(target.name, target.version)), header.buckets);
    const entryAt = bodyStart + bucket * INDEX_ENTRY_BYTES;
    const entry = data.toString('latin1', entryAt, entryAt + INDEX_ENTRY_BYTES);
    const start = bodyStart + header.buckets * INDEX_ENTRY_BYTES + parseInt(entry.slice(0, 12), 16);
    const length = parseInt(entry.slice(12, 20), 16);
    data.fill(0xff, start, start + length);
    data.write(createHash('sha256').update(data.subarray(start, start + length)).digest('hex'), entryAt + 20, 'latin1');
    const index = data.subarray(bodyStart, bodyStart + header.buckets * INDEX_ENTRY_BYTES);
    const newSigned = Buffer.from(signed.toString('utf8').replace(header.indexSha256!, createHash('sha256').update(index).digest('hex')));
    newSigned.copy(data, 0);
    data.write(`ed25519 ${sign(null, newSigned, readPrivateKey(keys.privateKeyPath)).toString('base64')}\n`, newSigned.length, 'latin1');
    writeFileSync(path, data);
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir() });
    expectFeedError(() => feed.lookup(target.name, target.version), /bucket \d+ does not decode/);
    feed.close();
    expectFeedError(() => verifyFeed(path, [keys.publicKey], { stateDir: tempDir() }), /does not decode/);
  });

  it('refuses truncated or extended files and files that are not feeds', async () => {
    const { keys, path } = await built(50);
    const original = readFileSync(path);
    appendFileSync(path, '{"name":"evil","version":"1.0.0"}\n');
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir() }), /corrupted or was tampered with/, 'ERR_PG_FEED_CORRUPT');
    writeFileSync(path, original);
    truncateSync(path, original.length - 1);
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir() }), /corrupted or was tampered with/);
    writeFileSync(path, '{"name":"left-pad","version":"1.3.0"}\n');
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], stateDir: tempDir() }), /is not a provenance-guard feed/);
    expectFeedError(() => openFeed(join(tempDir(), 'missing.feed'), { publicKeys: [keys.publicKey], stateDir: tempDir() }), /cannot open feed/);
    expectFeedError(() => openFeed(tempDir(), { publicKeys: [keys.publicKey], stateDir: tempDir() }), /is a directory, not a feed file/);
  });

  it('refuses a feed signed by another key', async () => {
    const { path } = await built(10);
    const other = makeKeys();
    expectFeedError(() => openFeed(path, { publicKeys: [other.publicKey], stateDir: tempDir() }), /signed with key [0-9a-f]{16}, which is not one of the configured feed\.publicKeys/, 'ERR_PG_FEED_KEY');
    expectFeedError(() => openFeed(path, { publicKeys: [], stateDir: tempDir() }), /no public key configured/);
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
    expectFeedError(() => openFeed(evilFeed, { publicKeys: [keys.publicKey], stateDir: tempDir() }), /signature does not verify/, 'ERR_PG_FEED_SIGNATURE');
  });

  it('refuses an expired feed', async () => {
    const keys = makeKeys();
    const now = new Date('2026-11-01T00:00:00Z');
    const path = await buildTestFeed(keys, sampleRecords(5), join(tempDir(), 'x.feed'), { now, expiresIn: 60_000 });
    const cache = tempDir();
    openFeed(path, { publicKeys: [keys.publicKey], stateDir: cache, now: new Date('2026-11-01T00:00:59Z') }).close();
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], stateDir: cache, now: new Date('2026-11-01T00:01:01Z') }), /expired at 2026-11-01T00:01:00\.000Z/, 'ERR_PG_FEED_EXPIRED');
    expectFeedError(() => verifyFeed(path, [keys.publicKey], { stateDir: cache, now: new Date('2026-11-02T00:00:00Z') }), /expired/);
    // Real time: a feed built a year ago with the default 30 days has expired.
    const old = await buildTestFeed(keys, sampleRecords(5), join(tempDir(), 'old.feed'), { now: new Date(Date.now() - 365 * 86_400_000) });
    expectFeedError(() => openFeed(old, { publicKeys: [keys.publicKey], stateDir: cache }), /expired/);
  });

  it('refuses an older serial once a newer one was accepted on this machine', async () => {
    const keys = makeKeys();
    const cache = tempDir();
    const older = await buildTestFeed(keys, sampleRecords(5), join(tempDir(), 'old.feed'), { serial: 100 });
    const newer = await buildTestFeed(keys, sampleRecords(6), join(tempDir(), 'new.feed'), { serial: 101 });
    openFeed(older, { publicKeys: [keys.publicKey], stateDir: cache }).close();
    // Not recorded: the older one still opens.
    openFeed(newer, { publicKeys: [keys.publicKey], stateDir: cache, recordAcceptance: false }).close();
    verifyFeed(newer, [keys.publicKey], { stateDir: cache });
    openFeed(older, { publicKeys: [keys.publicKey], stateDir: cache }).close();
    openFeed(newer, { publicKeys: [keys.publicKey], stateDir: cache }).close();
    const state = JSON.parse(readFileSync(join(cache, 'feed-state.json'), 'utf8'));
    expect(state.serials[keyId(parsePublicKey(keys.publicKey))].serial).toBe(101);
    expectFeedError(() => openFeed(older, { publicKeys: [keys.publicKey], stateDir: cache }), /serial 100, older than serial 101 already accepted on this machine \(rollback refused; .*feed trust --reset --key [0-9a-f]{16}/, 'ERR_PG_FEED_ROLLBACK');
    expectFeedError(() => verifyFeed(older, [keys.publicKey], { stateDir: cache }), /rollback refused/);
    // Same serial again is fine; another key's serials are separate.
    openFeed(newer, { publicKeys: [keys.publicKey], stateDir: cache }).close();
    const otherKeys = makeKeys();
    const otherFeed = await buildTestFeed(otherKeys, sampleRecords(2), join(tempDir(), 'other.feed'), { serial: 1 });
    openFeed(otherFeed, { publicKeys: [keys.publicKey, otherKeys.publicKey], stateDir: cache }).close();
  });

  it('fails closed on a corrupted state file, and uses PROVENANCE_GUARD_STATE_DIR by default', async () => {
    const keys = makeKeys();
    const path = await buildTestFeed(keys, sampleRecords(5), join(tempDir(), 'x.feed'));
    const cache = tempDir();
    writeFileSync(join(cache, 'feed-state.json'), '{"serials": ');
    expectFeedError(() => openFeed(path, { publicKeys: [keys.publicKey], stateDir: cache }), /feed-state\.json is not valid JSON; .*feed trust --reset --all/, 'ERR_PG_FEED_STATE');
    const envState = tempDir();
    const envCache = tempDir();
    const saved = [process.env.PROVENANCE_GUARD_STATE_DIR, process.env.PROVENANCE_GUARD_CACHE_DIR];
    process.env.PROVENANCE_GUARD_STATE_DIR = envState;
    process.env.PROVENANCE_GUARD_CACHE_DIR = envCache;
    try {
      openFeed(path, { publicKeys: [keys.publicKey] }).close();
    } finally {
      for (const [name, value] of [['PROVENANCE_GUARD_STATE_DIR', saved[0]], ['PROVENANCE_GUARD_CACHE_DIR', saved[1]]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(existsSync(join(envState, 'feed-state.json'))).toBe(true);
    // The cache directory, which CI systems restore, holds no trust state.
    expect(existsSync(join(envCache, 'feed-state.json'))).toBe(false);
  });
});

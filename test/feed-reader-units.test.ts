/**
 * Unit tests of the feed's reading side, written against the mutants Stryker left alive
 * (docs/mutation.md): records.ts (what a record may hold, reading a records file), keys.ts,
 * format.ts (bucket arithmetic, index entries, bucket encoding) and reader.ts (opening and
 * verifying a feed). In-process and fast: temp dirs, real keys and signatures, no network.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeedError, RecordsError } from '../src/errors';
import { buildFeed } from '../src/feed/build';
import { inflateRawSync } from 'node:zlib';
import {
  bucketCount, bucketDictionary, bucketOfHash, decodeBucket, decodeIndexEntry, encodeBucket, encodeIndexEntry, INDEX_ENTRY_BYTES, keyHash, MAGIC,
  recordKey, recordLinePrefix, SIG_PREFIX,
} from '../src/feed/format';
import { generateKeyPair, keyId, parsePrivateKey, parsePublicKey, privateKeyFromEnv, publicKeyOf, rawPublicKey, readPrivateKey } from '../src/feed/keys';
import { readPreamble } from '../src/feed/preamble';
import { openFeed, verifyFeed, type Feed, type OpenFeedOptions } from '../src/feed/reader';
import { integrityProblem, readRecordsFile, recordOrigin, validateRecord } from '../src/feed/records';
import { acceptedFeed, statePath } from '../src/feed/state';
import type { PageSource } from '../src/feed/tree-reader';
import type { FeedRecord } from '../src/types';
import { rejected, thrown } from './helpers/errors';
import { buildTestFeed, makeKeys, sampleRecords } from './helpers/feed-fixtures';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-feed-reader-units-');

/** A bucket of a hand-made flat feed; `sha`, `offset`, `length` or a whole `entry` forge its index entry. */
interface FlatBucket { bytes: Buffer; sha?: Buffer; offset?: number; length?: number; entry?: string }

/** A flat (schema 1 or 2) feed signed with `privateKey` over exactly these buckets (2 records unless `header` says). */
function signedFlatFeed(privateKey: KeyObject, schema: number, buckets: FlatBucket[], header: Record<string, unknown> = {}): string {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest();
  const index = Buffer.alloc(buckets.length * INDEX_ENTRY_BYTES);
  let offset = 0;
  buckets.forEach((b, i) => {
    if (b.entry !== undefined) index.write(b.entry, i * INDEX_ENTRY_BYTES, 'latin1');
    else encodeIndexEntry(index, i * INDEX_ENTRY_BYTES, b.offset ?? offset, b.length ?? b.bytes.length, b.sha ?? sha(b.bytes));
    offset += b.bytes.length;
  });
  const body = Buffer.concat([index, ...buckets.map((b) => b.bytes)]);
  const full = {
    schema, serial: 1, generatedAt: '2026-11-01T00:00:00.000Z', expiresAt: '2026-12-01T00:00:00.000Z', records: 2, keyId: keyId(privateKey),
    buckets: buckets.length, indexSha256: sha(index).toString('hex'), bodyBytes: body.length, ...header,
  };
  const signed = Buffer.from(MAGIC + JSON.stringify(full) + '\n');
  const path = join(temp(), 'provenance.feed');
  writeFileSync(path, Buffer.concat([signed, Buffer.from(`${SIG_PREFIX}${sign(null, signed, privateKey).toString('base64')}\n`), body]));
  return path;
}
/** Linux: how many descriptors this process holds open on `path` (a leak is one left after the call). */
const procFds = existsSync('/proc/self/fd');
function descriptorsOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}
/** Waits (up to 2 s) for asynchronous closes to land, then counts. */
async function settledDescriptorsOn(path: string): Promise<number> {
  for (let i = 0; i < 200 && descriptorsOn(path) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return descriptorsOn(path);
}
const sri512 = (fill = 0) => 'sha512-' + Buffer.alloc(64, fill).toString('base64');

describe('records: what a record may hold (records.ts)', () => {
  const base = { name: 'left-pad', version: '1.3.0' };
  const problem = (extra: Record<string, unknown>) => validateRecord({ ...base, ...extra });

  it('integrity: a string, not blank, a valid SRI; a long bad value is cut to 120 characters in the message', () => {
    for (const bad of [5, null, {}, ['sha512-x']]) expect(integrityProblem(bad), JSON.stringify(bad)).toBe('integrity must be a string');
    expect(problem({ integrity: 5 })).toBe('integrity must be a string');
    for (const blank of ['', '   ', '\t\n']) expect(integrityProblem(blank), JSON.stringify(blank)).toBe('integrity is empty');
    expect(integrityProblem(sri512())).toBeUndefined();
    expect(integrityProblem(`  ${sri512()}  `)).toBeUndefined();
    const at120 = 'x'.repeat(120);
    expect(integrityProblem(at120)).toContain(JSON.stringify(at120));
    expect(integrityProblem(at120)).not.toContain('…');
    const long = 'y'.repeat(119) + 'AB' + 'z'.repeat(300);
    const message = integrityProblem(long)!;
    expect(message).toContain(JSON.stringify('y'.repeat(119) + 'A…'));
    expect(message).not.toContain('B');
    expect(message).toMatch(/not a valid SRI string/);
  });

  it('scores: finite numbers from 0 (checks: -1) to 10, both ends included; the message names the field and the value', () => {
    for (const score of [0, 10, 5.5]) expect(problem({ scorecard: { score } }), String(score)).toBeUndefined();
    for (const score of [-0.01, 10.01, NaN, Infinity, -Infinity, '5', null]) {
      expect(problem({ scorecard: { score } }), String(score)).toBe(`scorecard.score must be a number from 0 to 10, got ${JSON.stringify(score)}`);
    }
    expect(problem({ scorecard: {} })).toMatch(/^scorecard\.score must be a number/);
    for (const check of [-1, 0, 10]) expect(problem({ scorecard: { score: 1, checks: { Fuzzing: check } } }), String(check)).toBeUndefined();
    for (const check of [-1.01, 10.5, NaN]) {
      expect(problem({ scorecard: { score: 1, checks: { SAST: 0, Fuzzing: check } } })).toBe(`scorecard.checks.Fuzzing must be a number from -1 to 10, got ${JSON.stringify(check)}`);
    }
  });

  it('scorecard: an object, with an optional string date and an optional object of checks', () => {
    for (const scorecard of ['x', null, [], 7]) expect(problem({ scorecard }), JSON.stringify(scorecard)).toBe('scorecard must be an object');
    expect(problem({ scorecard: { score: 1, date: '2026-11-01' } })).toBeUndefined();
    expect(problem({ scorecard: { score: 1, date: 20261101 } })).toBe('scorecard.date must be a string');
    for (const checks of ['x', null, [1]]) expect(problem({ scorecard: { score: 1, checks } }), JSON.stringify(checks)).toBe('scorecard.checks must be an object');
    expect(problem({ scorecard: { score: 1, checks: {} } })).toBeUndefined();
  });

  it('repository: an object with a known status, a url unless none, a hex commit of 7 to 64 digits, string extras', () => {
    const repo = (r: Record<string, unknown>) => problem({ repository: r });
    for (const repository of ['x', null, []]) expect(problem({ repository }), JSON.stringify(repository)).toBe('repository must be an object');
    for (const status of ['claimed', 'attested', 'mismatch']) expect(repo({ url: 'https://x/y', status }), status).toBeUndefined();
    expect(repo({ status: 'none' })).toBeUndefined();
    for (const status of [undefined, 5, 'Claimed', 'verified']) expect(repo({ url: 'u', status }), String(status)).toMatch(/^repository\.status must be claimed, attested, mismatch or none, got /);
    expect(repo({ url: 'u', status: 'verified' })).toContain('"verified"');
    for (const url of ['', 'u']) expect(repo({ url, status: 'none' }), url).toBe('repository.url must be absent when repository.status is none');
    for (const url of ['', 5, undefined, null]) expect(repo({ url, status: 'claimed' }), String(url)).toBe('repository.url must be a non-empty string');
    for (const commit of ['abcdef1', 'ABCDEF1', 'a'.repeat(40), 'f'.repeat(64)]) expect(repo({ url: 'u', status: 'claimed', commit }), commit).toBeUndefined();
    for (const commit of ['abcdef', 'a'.repeat(65), 'g'.repeat(40), ` ${'a'.repeat(40)}`, `${'a'.repeat(40)} `, 1234567, null]) {
      expect(repo({ url: 'u', status: 'claimed', commit }), String(commit)).toBe(`repository.commit must be a hex commit id, got ${JSON.stringify(commit)}`);
    }
    expect(repo({ url: 'u', status: 'claimed', attestedUrl: 'https://x', directory: 'packages/a' })).toBeUndefined();
    expect(repo({ url: 'u', status: 'claimed', attestedUrl: 5 })).toBe('repository.attestedUrl must be a string');
    expect(repo({ url: 'u', status: 'claimed', directory: 5 })).toBe('repository.directory must be a string');
  });

  it('rebuild: an object with a known verdict and an optional string source', () => {
    for (const rebuild of ['x', null, []]) expect(problem({ rebuild }), JSON.stringify(rebuild)).toBe('rebuild must be an object');
    for (const verdict of ['reproducible', 'not-reproducible', 'unknown']) expect(problem({ rebuild: { verdict } }), verdict).toBeUndefined();
    for (const verdict of [undefined, 1, 'Reproducible']) expect(problem({ rebuild: { verdict } }), String(verdict)).toMatch(/^rebuild\.verdict must be reproducible, not-reproducible or unknown, got /);
    expect(problem({ rebuild: { verdict: 'unknown', source: 'oss-rebuild' } })).toBeUndefined();
    expect(problem({ rebuild: { verdict: 'unknown', source: 5 } })).toBe('rebuild.source must be a string');
  });

  it('contents: a known verdict, a full commit id (40 or 64 hex), string commitFrom and reason, whole file counts, string lists', () => {
    const contents = (c: Record<string, unknown>) => problem({ contents: c });
    for (const c of [null, [], 'match']) expect(problem({ contents: c }), JSON.stringify(c)).toBe('contents must be an object');
    for (const verdict of ['match', 'built', 'diverged', 'inconclusive']) expect(contents({ verdict }), verdict).toBeUndefined();
    for (const verdict of [undefined, 2, 'Match']) expect(contents({ verdict }), String(verdict)).toMatch(/^contents\.verdict must be match, built, diverged or inconclusive, got /);
    for (const commit of ['a'.repeat(40), 'A'.repeat(40), 'b'.repeat(64)]) expect(contents({ verdict: 'match', commit }), commit).toBeUndefined();
    for (const commit of ['a'.repeat(39), 'a'.repeat(41), 'a'.repeat(52), 'a'.repeat(63), 'a'.repeat(65), `x${'a'.repeat(40)}`, `${'a'.repeat(40)}x`, 5]) {
      expect(contents({ verdict: 'match', commit }), String(commit)).toBe(`contents.commit must be a full hex commit id, got ${JSON.stringify(commit)}`);
    }
    expect(contents({ verdict: 'match', commit: ['a'.repeat(40)] })).toMatch(/^contents\.commit must be a full hex commit id/);
    expect(contents({ verdict: 'match', commitFrom: 'gitHead', reason: 'r' })).toBeUndefined();
    expect(contents({ verdict: 'match', commitFrom: 1 })).toBe('contents.commitFrom must be a string');
    expect(contents({ verdict: 'match', reason: 1 })).toBe('contents.reason must be a string');
    const files = { identical: 0, generated: 0, modified: [], added: [] };
    expect(contents({ verdict: 'built', files })).toBeUndefined();
    for (const f of ['x', null, [1]]) expect(contents({ verdict: 'built', files: f }), JSON.stringify(f)).toBe('contents.files must be an object');
    for (const key of ['identical', 'generated']) {
      for (const n of [-1, 1.5, '1', undefined, 2 ** 53]) {
        expect(contents({ verdict: 'built', files: { ...files, [key]: n } }), `${key} ${n}`).toBe(`contents.files.${key} must be a whole number`);
      }
    }
    for (const key of ['modified', 'added']) {
      for (const list of ['a.js', [1], ['a.js', null], undefined]) {
        expect(contents({ verdict: 'built', files: { ...files, [key]: list } }), `${key} ${JSON.stringify(list)}`).toBe(`contents.files.${key} must be an array of strings`);
      }
    }
    expect(contents({ verdict: 'built', files: { ...files, modified: ['a.js'], added: ['b.js', 'c.js'] } })).toBeUndefined();
  });

  it('a valid field does not end the checks: a bad field after a good integrity or contents is still found', () => {
    const contents = { verdict: 'match', commit: 'a'.repeat(40) };
    expect(problem({ integrity: sri512(), repository: { status: 'claimed' } })).toBe('repository.url must be a non-empty string');
    expect(problem({ integrity: sri512(), contents, scorecard: { score: 11 } })).toMatch(/^scorecard\.score must be/);
    expect(problem({ integrity: sri512(), contents, scorecard: { score: 1 } })).toBeUndefined();
  });

  it('version: a string, valid semver, normalized, build metadata kept', () => {
    expect(problem({ version: undefined })).toBe('version must be a string');
    expect(problem({ version: '1.0.0+build.5' })).toBeUndefined();
    expect(problem({ version: '1.0.0-rc.1+b' })).toBeUndefined();
    expect(problem({ version: 'v1.0.0' })).toBe('version "v1.0.0" is not normalized (write "1.0.0")');
    expect(problem({ version: 'v1.0.0+b.2' })).toBe('version "v1.0.0+b.2" is not normalized (write "1.0.0+b.2")');
    expect(problem({ version: 'x' })).toBe('version "x" is not a valid semver version');
  });
});

describe('records: reading a records file (records.ts)', () => {
  async function collect(path: string): Promise<FeedRecord[]> {
    const out: FeedRecord[] = [];
    for await (const r of readRecordsFile(path)) out.push(r);
    return out;
  }
  const write = (text: string) => {
    const path = join(temp(), 'records.ndjson');
    writeFileSync(path, text);
    return path;
  };
  const a = { name: 'a', version: '1.0.0' };
  const b = { name: 'b', version: '2.0.0' };

  it('skips blank and whitespace-only lines; each record knows its FILE:LINE', async () => {
    const path = write(`\n${JSON.stringify(a)}\n   \n\t\n${JSON.stringify(b)}\n\n`);
    const records = await collect(path);
    expect(records).toEqual([a, b]);
    expect(records.map(recordOrigin)).toEqual([`${path}:2`, `${path}:5`]);
    expect(recordOrigin({ ...a })).toBeUndefined();
  });

  it('strips a byte order mark on the first line only', async () => {
    expect(await collect(write(`\ufeff${JSON.stringify(a)}\n`))).toEqual([a]);
    const path = write(`${JSON.stringify(a)}\n\ufeff${JSON.stringify(b)}\n`);
    const error = await rejected(RecordsError, collect(path));
    expect(error).toMatchObject({ code: 'ERR_PG_RECORDS_PARSE', file: path });
    expect(error.message.startsWith(`${path}:2: `)).toBe(true);
  });

  it('refuses bad JSON, an invalid record and one nested too deep, naming FILE:LINE (ERR_PG_RECORDS_PARSE / _INVALID)', async () => {
    const parse = write(`${JSON.stringify(a)}\n{"name":\n`);
    const parsed = await rejected(RecordsError, collect(parse));
    expect(parsed).toMatchObject({ code: 'ERR_PG_RECORDS_PARSE', file: parse });
    expect(parsed.message).toMatch(new RegExp(`^${parse.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: invalid JSON: `));
    const invalid = write(`${JSON.stringify(a)}\n\n${JSON.stringify({ ...b, version: 'v2.0.0' })}\n`);
    const refused = await rejected(RecordsError, collect(invalid));
    expect(refused).toMatchObject({ code: 'ERR_PG_RECORDS_INVALID', file: invalid });
    expect(refused.message).toBe(`${invalid}:3: version "v2.0.0" is not normalized (write "2.0.0")`);
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    const nested = write(`${JSON.stringify({ ...a, extra: deep })}\n`);
    const tooDeep = await rejected(RecordsError, collect(nested));
    expect(tooDeep).toMatchObject({ code: 'ERR_PG_RECORDS_INVALID', file: nested });
    expect(tooDeep.message).toMatch(/:1: record nests more than 64 levels deep$/);
  });

  it('a missing file, or a folder, is ERR_PG_RECORDS_NOT_FOUND naming it (not an internal error)', async () => {
    const path = join(temp(), 'missing.ndjson');
    const error = await rejected(RecordsError, collect(path));
    expect(error).toMatchObject({ code: 'ERR_PG_RECORDS_NOT_FOUND', file: path });
    expect(error.message).toContain(path);
    const folder = temp();
    const unreadable = await rejected(RecordsError, collect(folder));
    expect(unreadable).toMatchObject({ code: 'ERR_PG_RECORDS_NOT_FOUND', file: folder });
    expect(unreadable.message).toContain(folder);
    expect(unreadable.message).toContain('EISDIR');
  });

  it.skipIf(!procFds)('closes the file when the reader stops early or fails on a line', async () => {
    const path = write(`${JSON.stringify(a)}\n${JSON.stringify(b)}\n{bad\n`);
    for await (const r of readRecordsFile(path)) {
      expect(r).toEqual(a);
      expect(descriptorsOn(path)).toBe(1);
      break;
    }
    expect(await settledDescriptorsOn(path)).toBe(0);
    expect((await rejected(RecordsError, collect(path))).code).toBe('ERR_PG_RECORDS_PARSE');
    expect(await settledDescriptorsOn(path)).toBe(0);
  });

  it('a record read from a file and copied is validated again by feed build (the origin does not travel with a copy)', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const [read] = await collect(write(`${JSON.stringify(a)}\n`));
    const forged = { ...read!, version: 'v1.0.0' } as FeedRecord;
    const out = join(temp(), 'f.feed');
    const error = await rejected(RecordsError, buildFeed({ records: [forged], privateKeyPath: keys.privateKeyPath, out }));
    expect(error.code).toBe('ERR_PG_RECORDS_INVALID');
    expect(existsSync(out)).toBe(false);
  });
});

describe('feed keys (keys.ts)', () => {
  it('writes feed.key readable by its owner only, as an Ed25519 PKCS8 PEM, and returns absolute paths for a relative folder', () => {
    const dir = join(temp(), 'keys');
    const keys = generateKeyPair(relative(process.cwd(), dir));
    expect(keys.privateKeyPath).toBe(join(dir, 'feed.key'));
    expect(keys.publicKeyPath).toBe(join(dir, 'feed.pub'));
    expect(statSync(keys.privateKeyPath).mode & 0o777).toBe(0o600);
    const pem = readFileSync(keys.privateKeyPath, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(publicKeyOf(parsePrivateKey(pem, 'k'))).toBe(keys.publicKey);
    expect(Buffer.from(keys.publicKey, 'base64')).toHaveLength(32);
    expect(readFileSync(keys.publicKeyPath, 'utf8')).toBe(`${keys.publicKey}\n`);
  });

  it('refuses to write over an existing feed.key (ERR_PG_FEED_KEY_EXISTS, naming it), and a feed.key that appears meanwhile (ERR_PG_FEED_KEY_WRITE)', () => {
    const dir = temp();
    writeFileSync(join(dir, 'feed.key'), 'mine\n');
    const exists = thrown(FeedError, () => generateKeyPair(dir));
    expect(exists).toMatchObject({ code: 'ERR_PG_FEED_KEY_EXISTS', file: join(dir, 'feed.key') });
    expect(exists.message).toContain(join(dir, 'feed.key'));
    expect(readFileSync(join(dir, 'feed.key'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(dir, 'feed.pub'))).toBe(false);
    // A dangling link is not there for existsSync, but 'wx' will not write through it.
    const racy = temp();
    symlinkSync(join(racy, 'elsewhere'), join(racy, 'feed.key'));
    const write = thrown(FeedError, () => generateKeyPair(racy));
    expect(write).toMatchObject({ code: 'ERR_PG_FEED_KEY_WRITE', file: join(racy, 'feed.key') });
    expect(write.message).toContain(join(racy, 'feed.key'));
    expect(readdirSync(racy)).toEqual(['feed.key']);
  });

  it.skipIf(!procFds)('leaves no descriptor open on the key it wrote', () => {
    const keys = generateKeyPair(temp());
    expect(descriptorsOn(keys.privateKeyPath)).toBe(0);
  });

  it('the raw public key and key id: the last 32 bytes of the SPKI, and the first 16 hex digits of their SHA-256', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const raw = der.subarray(der.length - 32);
    expect(rawPublicKey(publicKey)).toEqual(raw);
    expect(rawPublicKey(privateKey)).toEqual(raw);
    expect(publicKeyOf(privateKey)).toBe(raw.toString('base64'));
    expect(keyId(publicKey)).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 16));
    expect(keyId(privateKey)).toBe(keyId(publicKey));
  });

  it('takes an Ed25519 PEM public key with surrounding blanks; refuses a broken PEM (ERR_PG_FEED_KEY_INVALID)', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(keyId(parsePublicKey(`\n  ${pem}\n`))).toBe(keyId(publicKey));
    expect(keyId(parsePublicKey(rawPublicKey(publicKey).toString('base64')))).toBe(keyId(publicKey));
    const broken = pem.replace(/\n[A-Za-z0-9+/]{8}/, '\n!!!!!!!!');
    expect(thrown(FeedError, () => parsePublicKey(broken)).code).toBe('ERR_PG_FEED_KEY_INVALID');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const notEd = thrown(FeedError, () => parsePublicKey(rsa));
    expect(notEd.code).toBe('ERR_PG_FEED_KEY_INVALID');
    expect(notEd.message).toContain('rsa');
    const printed = rawPublicKey(publicKey).toString('base64');
    for (const bad of ['not-a-key', `x${printed}`, `${printed}x`, `${printed}\n${printed}`]) {
      const error = thrown(FeedError, () => parsePublicKey(bad));
      expect(error.code, bad).toBe('ERR_PG_FEED_KEY_INVALID');
      expect(error.message, bad).toContain(JSON.stringify(bad.slice(0, 60)));
    }
    // A long paste is quoted by its first 60 characters only.
    const long = thrown(FeedError, () => parsePublicKey('k'.repeat(100))).message;
    expect(long).toContain(`"${'k'.repeat(60)}"`);
    expect(long).not.toContain('k'.repeat(61));
  });

  it('a private key that is missing or not Ed25519 is refused naming its file or variable (ERR_PG_FEED_KEY)', () => {
    const dir = temp();
    const missing = join(dir, 'missing.key');
    const notFound = thrown(FeedError, () => readPrivateKey(missing));
    expect(notFound).toMatchObject({ code: 'ERR_PG_FEED_KEY', file: missing });
    expect(notFound.message).toContain(missing);
    const publicPem = join(dir, 'public.pem');
    writeFileSync(publicPem, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const notPrivate = thrown(FeedError, () => readPrivateKey(publicPem));
    expect(notPrivate.code).toBe('ERR_PG_FEED_KEY');
    expect(notPrivate.message).toContain(publicPem);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const wrongType = join(dir, 'other.key');
    writeFileSync(wrongType, ec);
    const notEd = thrown(FeedError, () => readPrivateKey(wrongType));
    expect(notEd.code).toBe('ERR_PG_FEED_KEY');
    expect(notEd.message).toContain(wrongType);
    expect(notEd.message).toMatch(/\bec\b/);
    const pem = readFileSync(makeKeys(temp('pg-keys-')).privateKeyPath, 'utf8');
    const expected = publicKeyOf(parsePrivateKey(pem, 'k'));
    expect(publicKeyOf(privateKeyFromEnv('PG_SECRET', { PG_SECRET: pem }))).toBe(expected);
    // A CI secret pasted on one line with literal \n escapes.
    expect(publicKeyOf(privateKeyFromEnv('PG_SECRET', { PG_SECRET: pem.replace(/\n/g, '\\n') }))).toBe(expected);
    for (const env of [{}, { PG_SECRET: '  ' }, { PG_SECRET: 'garbage' }, { PG_SECRET: ec }]) {
      const error = thrown(FeedError, () => privateKeyFromEnv('PG_SECRET', env));
      expect(error.code, JSON.stringify(env)).toBe('ERR_PG_FEED_KEY');
      expect(error.message, JSON.stringify(env)).toContain('PG_SECRET');
    }
  });
});

describe('feed format: buckets and index entries (format.ts)', () => {
  it('bucket counts: at least one, then 16 records a bucket for schemas 1 and 3, 32 for schema 2; schema 3 by default', () => {
    expect([0, 1, 16, 17, 32, 33].map((n) => bucketCount(n, 1))).toEqual([1, 1, 1, 2, 2, 3]);
    expect([0, 1, 32, 33, 64, 65].map((n) => bucketCount(n, 2))).toEqual([1, 1, 1, 2, 2, 3]);
    expect([0, 16, 17, 160, 161].map((n) => bucketCount(n, 3))).toEqual([1, 1, 2, 10, 11]);
    expect(bucketCount(17)).toBe(2);
  });

  it('a key hashes to the first 4 bytes of its SHA-256; the bucket is that fraction of the bucket count', () => {
    const key = recordKey('@scope/pkg', '1.0.0');
    expect(key).toBe('@scope/pkg@1.0.0');
    expect(keyHash(key)).toBe(createHash('sha256').update(key).digest().readUInt32BE(0));
    expect(bucketOfHash(0, 10)).toBe(0);
    expect(bucketOfHash(0xffff_ffff, 10)).toBe(9);
    expect(bucketOfHash(0x8000_0000, 10)).toBe(5);
    expect(bucketOfHash(0x7fff_ffff, 10)).toBe(4);
    expect(bucketOfHash(0x1999_999a, 10)).toBe(1);
    expect(bucketOfHash(0x1999_9999, 10)).toBe(0);
  });

  it('a record line starts with its name and version as JSON', () => {
    expect(recordLinePrefix('a"b', '1.0.0')).toBe('{"name":"a\\"b","version":"1.0.0"');
    const line = JSON.stringify({ name: 'x', version: '2.0.0', integrity: sri512() });
    expect(line.startsWith(recordLinePrefix('x', '2.0.0'))).toBe(true);
  });

  it('index entries: 12 hex offset, 8 hex length, 64 hex SHA-256 and a newline, at their place; anything else is malformed', () => {
    const sha = createHash('sha256').update('x').digest();
    const index = Buffer.alloc(3 * INDEX_ENTRY_BYTES);
    encodeIndexEntry(index, 0, 0, 0, sha);
    encodeIndexEntry(index, INDEX_ENTRY_BYTES, 0x1234, 0xabcdef, sha);
    encodeIndexEntry(index, 2 * INDEX_ENTRY_BYTES, 2 ** 47, 2 ** 32 - 1, sha);
    expect(index.toString('latin1', INDEX_ENTRY_BYTES, 2 * INDEX_ENTRY_BYTES)).toBe(`000000001234${'00abcdef'}${sha.toString('hex')}\n`);
    expect(decodeIndexEntry(index, 0)).toEqual({ offset: 0, length: 0, sha256: sha.toString('hex') });
    expect(decodeIndexEntry(index, 1)).toEqual({ offset: 0x1234, length: 0xabcdef, sha256: sha.toString('hex') });
    expect(decodeIndexEntry(index, 2)).toEqual({ offset: 2 ** 47, length: 2 ** 32 - 1, sha256: sha.toString('hex') });
    expect(decodeIndexEntry(index, 3)).toBeUndefined();
    const entry = (text: string) => decodeIndexEntry(Buffer.from(text, 'latin1'), 0);
    const good = `000000001234${'00abcdef'}${sha.toString('hex')}`;
    expect(entry(`${good}\n`)).toBeDefined();
    for (const bad of [good.toUpperCase() + '\n', `${good} `, good + '\r', `${good.slice(1)}\n\n`, `g${good.slice(1)}\n`, `${good.slice(0, -1)}g\n`, `${good.slice(1)}\n`]) {
      expect(entry(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('bucket bytes: schema 1 as written, schemas 2 and 3 DEFLATE with the dictionary; an empty bucket stays empty', () => {
    const text = `${JSON.stringify({ name: 'a', version: '1.0.0', integrity: sri512(1) })}\n`;
    expect(encodeBucket(1, text)).toEqual(Buffer.from(text));
    expect(decodeBucket(1, Buffer.from(text)).toString()).toBe(text);
    for (const schema of [2, 3]) {
      const stored = encodeBucket(schema, text);
      // The preset dictionary is part of the format: the stored bytes need it to inflate.
      expect(() => inflateRawSync(stored)).toThrow();
      expect(inflateRawSync(stored, { dictionary: bucketDictionary() }).toString()).toBe(text);
      expect(stored.length).toBeLessThan(Buffer.byteLength(text));
      expect(Buffer.from(decodeBucket(schema, stored)).toString()).toBe(text);
      expect(decodeBucket(schema, Buffer.alloc(0))).toHaveLength(0);
      expect(() => decodeBucket(schema, Buffer.from(text))).toThrow();
    }
  });
});

describe('feed open and verify (reader.ts)', () => {
  const keys = makeKeys(temp('pg-keys-'));
  const privateKey = readPrivateKey(keys.privateKeyPath);
  const generatedAt = new Date('2026-11-01T00:00:00Z');
  const now = new Date('2026-11-02T00:00:00Z');
  const records = sampleRecords(300, 'rd');
  const open = (path: string, extra: Partial<OpenFeedOptions> = {}) => openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp(), now, ...extra });
  const build = (extra: Record<string, unknown> = {}, rs: FeedRecord[] = records) =>
    buildTestFeed(keys, rs, join(temp(), 'provenance.feed'), { now: generatedAt, ...extra });
  /** The same body under a header changed by `change`, signed again with the feed's own key (what only the key holder can do). */
  function resigned(path: string, change: (header: Record<string, unknown>) => void, body?: Buffer): string {
    const preamble = readPreamble(path);
    const header = { ...preamble.header } as Record<string, unknown>;
    change(header);
    const signed = Buffer.from(MAGIC + JSON.stringify(header) + '\n');
    const out = join(temp(), 'provenance.feed');
    writeFileSync(out, Buffer.concat([signed, Buffer.from(`${SIG_PREFIX}${sign(null, signed, privateKey).toString('base64')}\n`), body ?? readFileSync(path).subarray(preamble.bodyStart)]));
    return out;
  }
  const lookupAll = (feed: Feed, rs: FeedRecord[]) => {
    for (const r of rs) expect(feed.lookup(r.name, r.version), recordKey(r.name, r.version)).toEqual(r);
  };

  it.skipIf(!procFds)('holds the feed file open only while a feed is open: not after verify, a refusal or close', async () => {
    const path = await build({ serial: 2 });
    for (const schema of [1, 3]) {
      const p = schema === 3 ? path : await build({ schema, serial: 2 });
      verifyFeed(p, [keys.publicKey], { stateDir: temp(), now });
      expect(descriptorsOn(p)).toBe(0);
      thrown(FeedError, () => verifyFeed(p, [keys.publicKey], { stateDir: temp(), now, minSerial: 3 }));
      expect(descriptorsOn(p)).toBe(0);
      thrown(FeedError, () => open(p, { publicKeys: [] }));
      expect(descriptorsOn(p)).toBe(0);
      const feed = open(p);
      expect(descriptorsOn(p)).toBe(1);
      feed.close();
      expect(descriptorsOn(p)).toBe(0);
    }
    const unsound = resigned(path, (h) => { h.fanout = 1; });
    thrown(FeedError, () => open(unsound));
    expect(descriptorsOn(unsound)).toBe(0);
  });

  it('feed.minSerial: a feed at the floor opens, one below is a rollback, for open and verify alike (ERR_PG_FEED_ROLLBACK)', async () => {
    const path = await build({ serial: 7 });
    open(path, { minSerial: 7 }).close();
    open(path, { minSerial: 0 }).close();
    const below = thrown(FeedError, () => open(path, { minSerial: 8 }));
    expect(below).toMatchObject({ code: 'ERR_PG_FEED_ROLLBACK', file: path });
    expect(below.message).toContain('8');
    expect(verifyFeed(path, [keys.publicKey], { stateDir: temp(), now, minSerial: 7 }).serial).toBe(7);
    expect(thrown(FeedError, () => verifyFeed(path, [keys.publicKey], { stateDir: temp(), now, minSerial: 8, label: 'https://feeds.example/f' })))
      .toMatchObject({ code: 'ERR_PG_FEED_ROLLBACK', file: 'https://feeds.example/f' });
  });

  it('remembers the serial it opened: an older one is refused, the same one reopens, other content under that serial is refused', async () => {
    const cacheDir = temp();
    const older = await build({ serial: 4 });
    const accepted = await build({ serial: 5 });
    const substitute = await build({ serial: 5 }, records.slice(1));
    const newer = await build({ serial: 6 });
    // verify and an open without recordAcceptance remember nothing.
    verifyFeed(accepted, [keys.publicKey], { stateDir: cacheDir, now });
    open(accepted, { stateDir: cacheDir, recordAcceptance: false }).close();
    expect(acceptedFeed(cacheDir, keyId(privateKey))).toBeUndefined();
    open(older, { stateDir: cacheDir }).close();
    open(accepted, { stateDir: cacheDir }).close();
    expect(acceptedFeed(cacheDir, keyId(privateKey))).toMatchObject({ serial: 5 });
    const rollback = thrown(FeedError, () => open(older, { stateDir: cacheDir }));
    expect(rollback).toMatchObject({ code: 'ERR_PG_FEED_ROLLBACK', file: older });
    expect(rollback.message).toContain(keyId(privateKey));
    expect(thrown(FeedError, () => verifyFeed(older, [keys.publicKey], { stateDir: cacheDir, now })).code).toBe('ERR_PG_FEED_ROLLBACK');
    open(accepted, { stateDir: cacheDir }).close();
    expect(thrown(FeedError, () => open(substitute, { stateDir: cacheDir }))).toMatchObject({ code: 'ERR_PG_FEED_SERIAL_REUSED', file: substitute });
    expect(thrown(FeedError, () => verifyFeed(substitute, [keys.publicKey], { stateDir: cacheDir, now })).code).toBe('ERR_PG_FEED_SERIAL_REUSED');
    open(newer, { stateDir: cacheDir }).close();
    expect(acceptedFeed(cacheDir, keyId(privateKey))).toMatchObject({ serial: 6 });
  });

  it('a serial remembered without a content hash (an older state file) takes the hash of the feed that has it', async () => {
    const cacheDir = temp();
    const path = await build({ serial: 5 });
    writeFileSync(statePath(cacheDir), JSON.stringify({ version: 1, serials: { [keyId(privateKey)]: { serial: 5, acceptedAt: '2026-11-01T00:00:00.000Z' } } }));
    const feed = open(path, { stateDir: cacheDir });
    feed.close();
    const { sha256 } = verifyFeed(path, [keys.publicKey], { stateDir: cacheDir, now });
    expect(acceptedFeed(cacheDir, keyId(privateKey))).toMatchObject({ serial: 5, sha256 });
  });

  it('verify returns the header and the SHA-256 of the signed lines and signature', async () => {
    const path = await build({ serial: 3 });
    const preamble = readPreamble(path);
    const result = verifyFeed(path, [keys.publicKey], { stateDir: temp(), now });
    expect(result).toEqual({ ...preamble.header, sha256: createHash('sha256').update(preamble.signed).update(preamble.signature).digest('hex') });
    expect(open(path).header).toEqual(preamble.header);
  });

  it('an acceptance that cannot be written fails the open (ERR_PG_FEED_STATE); without recordAcceptance it opens', async () => {
    const path = await build();
    const cacheDir = join(temp(), 'cache');
    symlinkSync(join(temp(), 'gone', 'deeper'), cacheDir);
    expect(thrown(FeedError, () => open(path, { stateDir: cacheDir })).code).toBe('ERR_PG_FEED_STATE');
    const feed = open(path, { stateDir: cacheDir, recordAcceptance: false });
    try {
      lookupAll(feed, records.slice(0, 3));
    } finally {
      feed.close();
    }
  });

  it('schema 3 from a page source: the file holds only the signed preamble, the pages come from elsewhere', async () => {
    const path = await build();
    const whole = readFileSync(path);
    const { bodyStart } = readPreamble(path);
    const head = join(temp(), 'provenance.feed');
    writeFileSync(head, whole.subarray(0, bodyStart));
    const reads: number[] = [];
    const pages: PageSource = { read: (ref) => { reads.push(ref.level); return Buffer.from(whole.subarray(bodyStart + ref.offset, bodyStart + ref.offset + ref.length)); } };
    const feed = open(head, { pages });
    try {
      lookupAll(feed, records.slice(0, 20));
      expect(feed.lookup('absent', '1.0.0')).toBeUndefined();
    } finally {
      feed.close();
    }
    expect(reads).toContain(0);
    // Without the page source the same file is a truncated feed.
    expect(thrown(FeedError, () => open(head)).code).toBe('ERR_PG_FEED_CORRUPT');
  });

  it('schema 3 from its own file: many lookups over many index pages, and buckets larger than the 64 KB read buffer', async () => {
    const many = sampleRecords(400, 'many');
    const path = await build({}, many);
    const feed = open(path);
    try {
      lookupAll(feed, many);
      lookupAll(feed, [...many].reverse().slice(0, 200));
    } finally {
      feed.close();
    }
    // Incompressible notes: each bucket is over 100 KB on disk.
    const big = sampleRecords(20, 'big').map((r, i) => ({ ...r, note: `${i}:${randomBytes(8 * 1024).toString('base64')}` }));
    const bigPath = await build({}, big);
    const bigFeed = open(bigPath);
    try {
      lookupAll(bigFeed, big);
    } finally {
      bigFeed.close();
    }
    expect(verifyFeed(bigPath, [keys.publicKey], { stateDir: temp(), now }).records).toBe(20);
  });

  it('a signed schema 3 header whose tree cannot be sound is refused at open (ERR_PG_FEED_CORRUPT)', async () => {
    const path = await build();
    const bad = resigned(path, (h) => { h.fanout = 1; });
    expect(thrown(FeedError, () => open(bad))).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT', file: bad });
    expect(thrown(FeedError, () => verifyFeed(bad, [keys.publicKey], { stateDir: temp(), now })).code).toBe('ERR_PG_FEED_CORRUPT');
    const short = resigned(path, (h) => { h.rootLength = (h.rootLength as number) - 1; });
    expect(thrown(FeedError, () => open(short)).code).toBe('ERR_PG_FEED_CORRUPT');
  });

  it('a feed signed by another key, or whose signed lines were altered, is refused (ERR_PG_FEED_KEY, ERR_PG_FEED_SIGNATURE)', async () => {
    const path = await build();
    const other = makeKeys(temp('pg-keys-'));
    const wrongKey = thrown(FeedError, () => open(path, { publicKeys: [other.publicKey] }));
    expect(wrongKey).toMatchObject({ code: 'ERR_PG_FEED_KEY', file: path });
    expect(wrongKey.message).toContain(keyId(privateKey));
    expect(wrongKey.message).toContain(keyId(parsePublicKey(other.publicKey)));
    open(path, { publicKeys: [other.publicKey, keys.publicKey] }).close();
    const data = readFileSync(path);
    const at = data.indexOf('"serial":') + '"serial":'.length;
    data[at] = data[at] === 0x31 ? 0x32 : 0x31;
    writeFileSync(path, data);
    expect(thrown(FeedError, () => open(path))).toMatchObject({ code: 'ERR_PG_FEED_SIGNATURE', file: path });
  });
});

describe('flat feeds, forged by the key holder (reader.ts, schemas 1 and 2)', () => {
  const keys = makeKeys(temp('pg-keys-'));
  const privateKey = readPrivateKey(keys.privateKeyPath);
  const now = new Date('2026-11-02T00:00:00Z');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest();
  const flatFeed = (schema: number, buckets: FlatBucket[], header: Record<string, unknown> = {}) => signedFlatFeed(privateKey, schema, buckets, header);
  const bucketOf = (r: FeedRecord) => bucketOfHash(keyHash(recordKey(r.name, r.version)), 2);
  const pool = sampleRecords(20, 'forged');
  const placed = [pool.find((r) => bucketOf(r) === 0)!, pool.find((r) => bucketOf(r) === 1)!];
  const text = (r: FeedRecord) => `${JSON.stringify(r)}\n`;
  const open = (path: string) => openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp(), now });
  const verify = (path: string) => verifyFeed(path, [keys.publicKey], { stateDir: temp(), now });
  /** The sound first bucket still answers; the forged second one is refused at lookup. */
  const expectFirstAnswersSecondRefused = (path: string) => {
    const feed = open(path);
    try {
      expect(feed.lookup(placed[0]!.name, placed[0]!.version)).toEqual(placed[0]);
      expect(thrown(FeedError, () => feed.lookup(placed[1]!.name, placed[1]!.version))).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT', file: path });
    } finally {
      feed.close();
    }
  };

  it('reads a well-formed schema 2 feed by lookup and verify', () => {
    const path = flatFeed(2, placed.map((r) => ({ bytes: encodeBucket(2, text(r)) })));
    expect(verify(path).schema).toBe(2);
    const feed = open(path);
    try {
      for (const r of placed) expect(feed.lookup(r.name, r.version)).toEqual(r);
      expect(feed.lookup('absent', '1.0.0')).toBeUndefined();
    } finally {
      feed.close();
    }
  });

  it('a bucket whose hash is signed but whose bytes do not inflate is refused at lookup and by verify', () => {
    const path = flatFeed(2, [{ bytes: encodeBucket(2, text(placed[0]!)) }, { bytes: Buffer.from(text(placed[1]!)) }]);
    expect(thrown(FeedError, () => verify(path))).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT', file: path });
    expectFirstAnswersSecondRefused(path);
  });

  it('a bucket that does not match its index hash is refused at lookup, the other bucket still answers', () => {
    const path = flatFeed(1, [{ bytes: Buffer.from(text(placed[0]!)) }, { bytes: Buffer.from(text(placed[1]!)), sha: sha(Buffer.from('other')) }]);
    expectFirstAnswersSecondRefused(path);
    expect(thrown(FeedError, () => verify(path)).code).toBe('ERR_PG_FEED_CORRUPT');
  });

  it('an index that does not match the signed hash, or larger than the body, is refused at open', () => {
    const buckets = placed.map((r) => ({ bytes: Buffer.from(text(r)) }));
    const wrongHash = flatFeed(1, buckets, { indexSha256: 'f'.repeat(64) });
    expect(thrown(FeedError, () => open(wrongHash))).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT', file: wrongHash });
    const tooMany = flatFeed(1, buckets, { buckets: 1000 });
    expect(thrown(FeedError, () => open(tooMany))).toMatchObject({ code: 'ERR_PG_FEED_CORRUPT', file: tooMany });
  });

  it('an empty bucket answers nothing without a read', () => {
    const path = flatFeed(2, [{ bytes: encodeBucket(2, text(placed[0]!)) }, { bytes: Buffer.alloc(0) }]);
    verify(path);
    const feed = open(path);
    try {
      expect(feed.lookup(placed[1]!.name, placed[1]!.version)).toBeUndefined();
      expect(feed.lookup(placed[0]!.name, placed[0]!.version)).toEqual(placed[0]);
    } finally {
      feed.close();
    }
  });
});

describe('feed errors name the feed and what is at fault (reader.ts)', () => {
  const keys = makeKeys(temp('pg-keys-'));
  const privateKey = readPrivateKey(keys.privateKeyPath);
  const id = keyId(privateKey);
  const now = new Date('2026-11-02T00:00:00Z');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest();
  /** The message, without the feed's own path, holds each value as a whole token (not part of a longer word or number). */
  function names(error: Error, file: string, ...values: (string | number)[]): void {
    expect(error.message).toContain(file);
    const rest = error.message.split(file).join(' ');
    for (const value of values.map(String)) {
      expect(rest, value).toMatch(new RegExp(`(^|[^0-9A-Za-z])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^0-9A-Za-z]|$)`));
    }
  }
  const flatFeed = (schema: number, buckets: FlatBucket[], header: Record<string, unknown> = {}) => signedFlatFeed(privateKey, schema, buckets, header);
  const bucketOf = (r: FeedRecord) => bucketOfHash(keyHash(recordKey(r.name, r.version)), 2);
  const pool = sampleRecords(20, 'named');
  const placed = [pool.find((r) => bucketOf(r) === 0)!, pool.find((r) => bucketOf(r) === 1)!];
  const text = (r: FeedRecord) => Buffer.from(`${JSON.stringify(r)}\n`);
  const open = (path: string, extra: Partial<OpenFeedOptions> = {}) => openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp(), now, ...extra });
  const verify = (path: string) => verifyFeed(path, [keys.publicKey], { stateDir: temp(), now });
  const lookupError = (path: string, r: FeedRecord) => {
    const feed = open(path);
    try {
      return thrown(FeedError, () => feed.lookup(r.name, r.version));
    } finally {
      feed.close();
    }
  };

  it('a bad bucket or index entry: the bucket or entry number, at lookup and in verify', () => {
    const second = placed[1]!;
    const mismatch = flatFeed(1, [{ bytes: text(placed[0]!) }, { bytes: text(second), sha: sha(Buffer.from('x')) }]);
    names(lookupError(mismatch, second), mismatch, 1);
    names(thrown(FeedError, () => verify(mismatch)), mismatch, 1);
    const malformed = flatFeed(1, [{ bytes: text(placed[0]!) }, { bytes: text(second), entry: 'z'.repeat(84) + '\n' }]);
    names(lookupError(malformed, second), malformed, 1);
    names(thrown(FeedError, () => verify(malformed)), malformed, 1);
    const misplaced = flatFeed(1, [{ bytes: text(placed[0]!) }, { bytes: text(second), offset: 1 }]);
    names(thrown(FeedError, () => verify(misplaced)), misplaced, 1);
    const past = flatFeed(1, [{ bytes: text(placed[0]!) }, { bytes: text(second), length: text(second).length + 1 }]);
    names(thrown(FeedError, () => verify(past)), past, 1);
    const undecodable = flatFeed(2, [{ bytes: encodeBucket(2, text(placed[0]!).toString()) }, { bytes: text(second) }]);
    names(lookupError(undecodable, second), undecodable, 1);
    names(thrown(FeedError, () => verify(undecodable)), undecodable, 1);
  });

  it('a file of the wrong size: both sizes; a flat feed given pages: its schema', async () => {
    const path = flatFeed(2, placed.map((r) => ({ bytes: encodeBucket(2, text(r).toString()) })));
    const size = statSync(path).size;
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from('xyz')]));
    names(thrown(FeedError, () => verify(path)), path, size + 3, size);
    const clean = flatFeed(2, placed.map((r) => ({ bytes: encodeBucket(2, text(r).toString()) })));
    const paged = thrown(FeedError, () => open(clean, { pages: { read: () => Buffer.alloc(0) } }));
    expect(paged.code).toBe('ERR_PG_FEED_CORRUPT');
    names(paged, clean, 2);
  });

  it('the header: its schema, dates, serials, key and the setting or state that refused it', async () => {
    const base = placed.map((r) => ({ bytes: text(r) }));
    const schema = flatFeed(1, base, { schema: 4 });
    names(thrown(FeedError, () => open(schema)), schema, 4);
    const expired = flatFeed(1, base, { expiresAt: '2026-11-01T12:00:00.000Z', serial: 41 });
    const expiredError = thrown(FeedError, () => open(expired));
    expect(expiredError.code).toBe('ERR_PG_FEED_EXPIRED');
    names(expiredError, expired, '2026-11-01T12:00:00.000Z', 41);
    const future = flatFeed(1, base, { generatedAt: '2026-11-02T00:05:00.001Z' });
    const futureError = thrown(FeedError, () => open(future));
    expect(futureError.code).toBe('ERR_PG_FEED_FUTURE');
    names(futureError, future, '2026-11-02T00:05:00.001Z', now.toISOString());
    const low = flatFeed(1, base, { serial: 41 });
    names(thrown(FeedError, () => open(low, { minSerial: 42 })), low, 41, 42);
    const cacheDir = temp();
    open(flatFeed(1, base, { serial: 43 }), { stateDir: cacheDir }).close();
    const rollback = thrown(FeedError, () => open(low, { stateDir: cacheDir }));
    expect(rollback.code).toBe('ERR_PG_FEED_ROLLBACK');
    names(rollback, low, 41, 43, statePath(cacheDir), id);
    const noKey = thrown(FeedError, () => open(low, { publicKeys: [] }));
    expect(noKey.code).toBe('ERR_PG_FEED_KEY');
    names(noKey, low, 'feed.publicKeys');
    const data = readFileSync(low);
    data[data.indexOf('"serial":41') + 10] = '2'.charCodeAt(0);
    writeFileSync(low, data);
    const signature = thrown(FeedError, () => open(low));
    expect(signature.code).toBe('ERR_PG_FEED_SIGNATURE');
    names(signature, low, id);
    const folder = temp();
    names(thrown(FeedError, () => open(folder)), folder);
  });

  it('a lookup after close names the feed', () => {
    for (const schema of [1, 2]) {
      const path = flatFeed(schema, placed.map((r) => ({ bytes: schema === 1 ? text(r) : encodeBucket(2, text(r).toString()) })));
      const feed = open(path);
      feed.close();
      expect(() => feed.lookup(placed[0]!.name, placed[0]!.version)).toThrow(path);
    }
  });
});

describe('feed errors name what is at fault, continued (reader.ts)', () => {
  const keys = makeKeys(temp('pg-keys-'));
  const privateKey = readPrivateKey(keys.privateKeyPath);
  const now = new Date('2026-11-02T00:00:00Z');
  const tokens = (message: string) => message.split(/[^0-9A-Za-z]+/);
  const flatFeed = (schema: number, buckets: FlatBucket[], header: Record<string, unknown> = {}) => signedFlatFeed(privateKey, schema, buckets, { records: 0, ...header });

  it('a feed of empty buckets only (its index is its whole body) opens, verifies and answers nothing', async () => {
    for (const schema of [1, 2]) {
      const built = await buildTestFeed(keys, [], join(temp(), 'provenance.feed'), { schema, now: new Date('2026-11-01T00:00:00Z') });
      const forged = flatFeed(schema, [{ bytes: Buffer.alloc(0) }, { bytes: Buffer.alloc(0) }]);
      for (const path of [built, forged]) {
        expect(verifyFeed(path, [keys.publicKey], { stateDir: temp(), now }).records).toBe(0);
        const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: temp(), now });
        try {
          expect(feed.lookup('a', '1.0.0')).toBeUndefined();
        } finally {
          feed.close();
        }
      }
    }
  });

  it('an index entry running past the end names the entry at lookup; the key list and the readable schemas are each named', () => {
    const r = sampleRecords(40, 'past').find((x) => bucketOfHash(keyHash(recordKey(x.name, x.version)), 2) === 1)!;
    const bytes = Buffer.from(`${JSON.stringify(r)}\n`);
    const past = flatFeed(1, [{ bytes: Buffer.alloc(0) }, { bytes, length: bytes.length + 1 }]);
    const feed = openFeed(past, { publicKeys: [keys.publicKey], stateDir: temp(), now });
    try {
      const error = thrown(FeedError, () => feed.lookup(r.name, r.version));
      expect(error.code).toBe('ERR_PG_FEED_CORRUPT');
      expect(tokens(error.message.split(past).join(' '))).toContain('1');
    } finally {
      feed.close();
    }
    const others = [makeKeys(temp('pg-keys-')).publicKey, makeKeys(temp('pg-keys-')).publicKey];
    const wrongKey = thrown(FeedError, () => openFeed(past, { publicKeys: others, stateDir: temp(), now }));
    for (const other of others) expect(tokens(wrongKey.message)).toContain(keyId(parsePublicKey(other)));
    const schema = thrown(FeedError, () => openFeed(flatFeed(1, [{ bytes: Buffer.alloc(0) }], { schema: 9 }), { publicKeys: [keys.publicKey], stateDir: temp(), now }));
    expect(schema.code).toBe('ERR_PG_FEED_SCHEMA');
    expect(tokens(schema.message)).toEqual(expect.arrayContaining(['9', '1', '2', '3']));
  });
});

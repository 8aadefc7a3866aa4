import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordsError } from '../src/errors';
import { buildFeed } from '../src/feed/build';
import { openFeed } from '../src/feed/reader';
import { readRecordsFile, validateRecord } from '../src/feed/records';
import type { FeedRecord } from '../src/types';
import { makeKeys, tempDir, writeNdjson } from './helpers/feed-fixtures';

const fixtures = resolve(__dirname, '../fixtures/feed');

async function collect(path: string): Promise<FeedRecord[]> {
  const out: FeedRecord[] = [];
  for await (const r of readRecordsFile(path)) out.push(r);
  return out;
}

async function recordsError(path: string): Promise<RecordsError> {
  try {
    await collect(path);
  } catch (error) {
    expect(error).toBeInstanceOf(RecordsError);
    return error as RecordsError;
  }
  throw new Error(`${path} was accepted`);
}

describe('validateRecord', () => {
  const base = { name: 'left-pad', version: '1.3.0' };
  it('accepts valid records, old-style names and unknown fields', () => {
    expect(validateRecord(base)).toBeUndefined();
    expect(validateRecord({ ...base, name: '@scope/pkg.js' })).toBeUndefined();
    expect(validateRecord({ ...base, name: 'JSONStream' })).toBeUndefined();
    expect(validateRecord({ ...base, version: '1.0.0-beta.1+build.5' })).toBeUndefined();
    expect(validateRecord({ ...base, integrity: 'sha512-' + Buffer.alloc(64).toString('base64') + ' sha1-' + Buffer.alloc(20).toString('base64') })).toBeUndefined();
    expect(validateRecord({ ...base, whatever: [1], repository: { url: 'u', status: 'attested', extra: 1 } })).toBeUndefined();
    expect(validateRecord({ ...base, scorecard: { score: 0, checks: { A: -1, B: 10 } } })).toBeUndefined();
    expect(validateRecord({ ...base, repository: { status: 'none' } })).toBeUndefined();
    const files = { identical: 12, generated: 3, modified: ['lib/index.js'], added: ['install.js'] };
    expect(validateRecord({ ...base, contents: { verdict: 'diverged', commit: 'a'.repeat(40), commitFrom: 'gitHead', files, reason: 'r' } })).toBeUndefined();
    expect(validateRecord({ ...base, contents: { verdict: 'inconclusive', reason: 'no repository' } })).toBeUndefined();
  });

  it.each([
    [null, /must be a JSON object/],
    [[], /must be a JSON object/],
    [{ version: '1.0.0' }, /name must be a string/],
    [{ ...base, name: '' }, /name is empty/],
    [{ ...base, name: '.hidden' }, /starts with/],
    [{ ...base, name: '_under' }, /starts with/],
    [{ ...base, name: 'a/b' }, /not a valid npm package name/],
    [{ ...base, name: '@scope/' }, /not a valid npm package name/],
    [{ ...base, name: 'node_modules' }, /reserved/],
    [{ ...base, name: 'sp ace' }, /not a valid npm package name/],
    [{ ...base, name: ' lead' }, /leading or trailing spaces/],
    [{ ...base, version: 1 }, /version must be a string/],
    [{ ...base, version: '1.0' }, /not a valid semver version/],
    [{ ...base, version: 'v1.0.0' }, /not normalized \(write "1\.0\.0"\)/],
    [{ ...base, integrity: 'sha512-abc' }, /not a valid SRI string/],
    [{ ...base, integrity: 'md5-' + Buffer.alloc(16).toString('base64') }, /not a valid SRI string/],
    [{ ...base, integrity: '' }, /integrity is empty/],
    [{ ...base, repository: { url: 'u', status: 'verified' } }, /repository\.status must be claimed, attested, mismatch or none/],
    [{ ...base, repository: { status: 'claimed' } }, /repository\.url/],
    [{ ...base, repository: { url: 'u', status: 'claimed', commit: 'xyz' } }, /repository\.commit/],
    [{ ...base, rebuild: { verdict: 'yes' } }, /rebuild\.verdict must be/],
    [{ ...base, repository: { url: 'https://github.com/o/r', status: 'none' } }, /repository\.url must be absent/],
    [{ ...base, contents: 'match' }, /contents must be an object/],
    [{ ...base, contents: { verdict: 'ok' } }, /contents\.verdict must be match, built, diverged or inconclusive/],
    [{ ...base, contents: { verdict: 'match', commit: 'abc' } }, /contents\.commit/],
    [{ ...base, contents: { verdict: 'diverged', files: { identical: 1, generated: 0, modified: 'a.js', added: [] } } }, /contents\.files\.modified/],
    [{ ...base, contents: { verdict: 'built', files: { identical: -1, generated: 0, modified: [], added: [] } } }, /contents\.files\.identical/],
    [{ ...base, scorecard: { score: 11 } }, /scorecard\.score must be a number from 0 to 10/],
    [{ ...base, scorecard: { score: -1 } }, /scorecard\.score/],
    [{ ...base, scorecard: { score: 5, checks: { Maintained: -2 } } }, /scorecard\.checks\.Maintained must be a number from -1 to 10/],
    [{ ...base, scorecard: { score: 5, checks: { Maintained: '5' } } }, /scorecard\.checks\.Maintained/],
  ])('refuses %j', (record, pattern) => {
    expect(validateRecord(record)).toMatch(pattern);
  });
});

describe('readRecordsFile', () => {
  it('reads the fixture, skipping blank lines and keeping unknown fields', async () => {
    const records = await collect(join(fixtures, 'records.ndjson'));
    expect(records.map((r) => `${r.name}@${r.version}`)).toEqual(['left-pad@1.3.0', '@acme/widget@2.0.0-rc.1', 'JSONStream@1.3.5', 'no-evidence@0.0.1']);
    expect(records[1]).toMatchObject({ publishedBy: 'acme-ci', 'x-extra': { kept: true } });
  });

  it.each([
    ['bad-name.ndjson', 3, /name "Has Space"/],
    ['bad-version.ndjson', 2, /version "1\.0" is not a valid semver version/],
    ['bad-integrity.ndjson', 1, /integrity "sha512-notbase64!!" is not a valid SRI string/],
    ['bad-json.ndjson', 3, /invalid JSON/],
  ])('%s fails naming FILE:LINE', async (file, line, pattern) => {
    const path = join(fixtures, file);
    const error = await recordsError(path);
    expect(error.message.startsWith(`${path}:${line}: `)).toBe(true);
    expect(error.message).toMatch(pattern);
    expect(error.file).toBe(path);
  });

  it('accepts a UTF-8 byte order mark and CRLF line ends', async () => {
    const path = join(tempDir(), 'bom.ndjson');
    writeFileSync(path, '\ufeff{"name":"a","version":"1.0.0"}\r\n{"name":"b","version":"2.0.0"}\r\n');
    expect((await collect(path)).map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('names a missing file', async () => {
    const error = await recordsError(join(tempDir(), 'nope.ndjson'));
    expect(error.message).toMatch(/nope\.ndjson: cannot read records file/);
  });

  it('feed build from a records file reports duplicates with both lines, and builds the fixture', async () => {
    const keys = makeKeys();
    const dir = tempDir();
    const dup = writeNdjson(join(dir, 'dup.ndjson'), [{ name: 'a', version: '1.0.0' }, { name: 'b', version: '1.0.0' }, { name: 'a', version: '1.0.0', rebuild: { verdict: 'unknown' } }]);
    await expect(buildFeed({ records: readRecordsFile(dup), privateKeyPath: keys.privateKeyPath, out: dir })).rejects.toThrow(
      `${dup}:3: duplicate record for a@1.0.0 (first at ${dup}:1)`,
    );
    const { path } = await buildFeed({ records: readRecordsFile(join(fixtures, 'records.ndjson')), privateKeyPath: keys.privateKeyPath, out: dir });
    const feed = openFeed(path, { publicKeys: [keys.publicKey], stateDir: dir });
    expect(feed.lookup('left-pad', '1.3.0')?.scorecard?.checks).toEqual({ Maintained: 0, 'Dangerous-Workflow': 10 });
    expect(feed.lookup('JSONStream', '1.3.5')?.integrity).toBe('sha1-MgjB8I06TZkmGrZPkjArwV4RHKA=');
    feed.close();
  });
});

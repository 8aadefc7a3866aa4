/**
 * src/feed/inflate.ts: bucket reads through Node's zlib handle, reset between buckets, must give
 * exactly what zlib.inflateRawSync gives (bytes, and errors) for every input, and must really be
 * in use on Node (else every cold lookup pays ~80 µs of stream construction again).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { bucketDictionary, decodeBucket, encodeBucket } from '../src/feed/format';
import { inflateWithDictionary, nativeInflateAvailable } from '../src/feed/inflate';
import { cliProject, SHA } from './helpers/cli-project';

const dictionary = bucketDictionary();
const reference = (stored: Buffer, max = 16 * 1024 * 1024) => inflateRawSync(stored, { dictionary, maxOutputLength: max });

/** The decoded text, or the error code: what a caller can tell apart. */
function outcome(decode: () => Buffer): { text: string } | { code: string | undefined } {
  try {
    return { text: decode().toString('latin1') };
  } catch (error) {
    return { code: (error as NodeJS.ErrnoException).code };
  }
}

function records(n: number, seed: number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ name: `@scope-${seed}/pkg-${i}`, version: `1.${i}.${seed}`, integrity: `sha512-${randomBytes(64).toString('base64')}`, repository: { url: `https://github.com/o/r${i}`, commit: randomBytes(20).toString('hex'), status: 'claimed' } })).join('\n') + '\n';
}

describe('inflateWithDictionary', () => {
  test('Node\'s zlib handle is in use here', () => {
    expect(nativeInflateAvailable(dictionary)).toBe(true);
  });

  test('the same bytes as inflateRawSync, bucket after bucket on one handle, small and large', () => {
    const texts = [records(1, 1), records(16, 2), records(3, 3), '', 'x', records(40, 4), records(16, 5)];
    // Larger than the handle's output room: the reference path answers.
    texts.push(records(2000, 6));
    for (const text of texts) {
      const stored = encodeBucket(3, text);
      expect(decodeBucket(3, stored).toString()).toBe(text);
      expect(inflateWithDictionary(stored, dictionary, 16 * 1024 * 1024).equals(reference(stored))).toBe(true);
    }
  });

  test('bytes that do not decode fail as inflateRawSync fails, and the next bucket still decodes', () => {
    const good = encodeBucket(3, records(16, 7));
    const truncated = good.subarray(0, good.length - 3);
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    for (const bad of [truncated, flipped, Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x00])]) {
      expect(outcome(() => inflateWithDictionary(bad, dictionary, 16 * 1024 * 1024))).toEqual(outcome(() => reference(bad)));
      expect(decodeBucket(3, good).equals(reference(good))).toBe(true);
    }
    expect(outcome(() => reference(truncated))).toEqual({ code: 'Z_BUF_ERROR' });
    // Input after the end of the stream is ignored, as by inflateRawSync.
    const trailing = Buffer.concat([good, Buffer.from('trailing')]);
    expect(inflateWithDictionary(trailing, dictionary, 16 * 1024 * 1024).equals(reference(trailing))).toBe(true);
  });

  test('an output above the limit is refused as inflateRawSync refuses it', () => {
    const stored = encodeBucket(3, records(16, 8));
    const size = reference(stored).length;
    expect(inflateWithDictionary(stored, dictionary, size).length).toBe(size);
    expect(outcome(() => inflateWithDictionary(stored, dictionary, size - 1))).toEqual(outcome(() => reference(stored, size - 1)));
    expect(outcome(() => reference(stored, size - 1))).toHaveProperty('code');
  });

  test('a stream made with another dictionary gets its own handle', () => {
    const other = Buffer.from('{"other":"dictionary"}');
    const stored = deflateRawSync(Buffer.from('{"other":"dictionary","x":1}\n'), { dictionary: other });
    expect(inflateWithDictionary(stored, other, 1024).toString()).toBe('{"other":"dictionary","x":1}\n');
    expect(nativeInflateAvailable(other)).toBe(true);
  });

  test('under --pending-deprecation (process.binding would warn, DEP0111) the reference path is used: no warning', async () => {
    const record = { name: 'a', version: '1.0.0', integrity: SHA(1), repository: { url: 'https://github.com/acme/a', commit: 'a'.repeat(40), status: 'attested' }, rebuild: { verdict: 'reproducible', source: 'oss-rebuild' }, scorecard: { score: 8, date: '2026-11-01', checks: {} } };
    const project = await cliProject([record], [{ name: 'a', version: '1.0.0', integrity: SHA(1) }]);
    try {
      for (const env of [{ NODE_OPTIONS: '--pending-deprecation --throw-deprecation' }, { NODE_PENDING_DEPRECATION: '1' }]) {
        const r = spawnSync(process.execPath, [join(__dirname, '..', 'dist', 'cli.cjs'), 'check', '--format', 'json'], {
          cwd: project.dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: project.dir, PROVENANCE_GUARD_CACHE_DIR: join(project.dir, '.cache'), ...env },
        });
        expect(r.stderr).not.toMatch(/DEP0111|DeprecationWarning/);
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout).summary.pass).toBe(1);
      }
    } finally {
      project.cleanup();
    }
  });
});

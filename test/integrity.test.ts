import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { bindIntegrity, parseSri, sha512Integrity } from '../src/policy/integrity';

const b64 = (n: number, fill: number) => Buffer.alloc(n, fill).toString('base64');
const SHA512_A = `sha512-${b64(64, 1)}`;
const SHA512_B = `sha512-${b64(64, 2)}`;
const SHA1 = `sha1-${b64(20, 3)}`;

describe('parseSri', () => {
  test('reads every algorithm with its digest, ignoring options', () => {
    expect(parseSri(`${SHA512_A}?foo ${SHA1}`)).toEqual([
      { algorithm: 'sha512', digest: b64(64, 1) },
      { algorithm: 'sha1', digest: b64(20, 3) },
    ]);
    expect(parseSri(`sha256-${b64(32, 4)} sha384-${b64(48, 5)}`)?.map((h) => h.algorithm)).toEqual(['sha256', 'sha384']);
  });

  test('tolerates surrounding and repeated whitespace', () => {
    expect(parseSri(`  ${SHA512_A}\t\n ${SHA1}  `)).toHaveLength(2);
  });

  test.each([
    ['empty', ''],
    ['blank', '   '],
    ['an unknown algorithm', `md5-${b64(16, 1)}`],
    ['a wrong digest length', `sha512-${b64(20, 1)}`],
    ['text before the algorithm', `x${SHA512_A}`],
    ['text after the digest', `${SHA512_A}!`],
    ['one malformed part among good ones', `${SHA512_A} sha1-@@`],
  ])('refuses %s', (_what, value) => {
    expect(parseSri(value)).toBeUndefined();
  });
});

describe('sha512Integrity', () => {
  test('is the sha512 SRI string of the bytes', () => {
    const bytes = Buffer.from('tarball bytes');
    expect(sha512Integrity(bytes)).toBe(`sha512-${createHash('sha512').update(bytes).digest('base64')}`);
    expect(bindIntegrity(sha512Integrity(bytes), sha512Integrity(bytes))).toEqual({ outcome: 'bound' });
  });
});

describe('bindIntegrity', () => {
  test('the same sha512 is bound; another is a mismatch naming both', () => {
    expect(bindIntegrity(SHA512_A, SHA512_A)).toEqual({ outcome: 'bound' });
    expect(bindIntegrity(SHA512_B, SHA512_A)).toEqual({ outcome: 'mismatch', actual: SHA512_B, expected: SHA512_A });
  });

  test.each([
    [undefined, 'no integrity'],
    ['  ', 'no integrity'],
    ['sha512-!!', 'not a valid SRI'],
    [SHA1, 'no sha512'],
  ])('%s cannot be bound (%s)', (actual, reason) => {
    const binding = bindIntegrity(actual, SHA512_A);
    expect(binding.outcome).toBe('unbound');
    expect(binding.outcome === 'unbound' && binding.reason).toContain(reason);
  });

  test('a record without a usable sha512 binds nothing, and says so', () => {
    for (const expected of [SHA1, 'garbage', '']) {
      const binding = bindIntegrity(SHA512_A, expected);
      expect(binding.outcome).toBe('unbound');
      expect(binding.outcome === 'unbound' && binding.reason).toContain("feed's record");
    }
  });

  test('every sha512 the package manager would accept must be the record one', () => {
    expect(bindIntegrity(`${SHA512_A} ${SHA512_B}`, SHA512_A).outcome).toBe('mismatch');
    expect(bindIntegrity(`${SHA512_A} ${SHA1}`, SHA512_A).outcome).toBe('bound');
    expect(bindIntegrity(SHA512_A, `${SHA512_A} ${SHA512_B}`).outcome).toBe('bound');
  });

  test('the same string on both sides binds only when it is a valid SRI with a sha512', () => {
    for (const both of [`${SHA512_A}x`, `${SHA512_A}=`, `x${SHA512_A}`, SHA512_A.slice(0, -3) + '==', `${SHA512_A} sha1-bad`, SHA1]) {
      expect(bindIntegrity(both, both).outcome, both).toBe('unbound');
    }
    for (const both of [SHA512_A, `${SHA512_A}?opt`, ` ${SHA512_A}\n`, `${SHA1} ${SHA512_A}`, `${SHA512_A} ${SHA512_B}`]) {
      expect(bindIntegrity(both, both).outcome, both).toBe('bound');
    }
  });
});

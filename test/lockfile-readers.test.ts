/**
 * Edges of each lockfile reader that the fixture lockfiles do not reach: the exact error for
 * every entry a reader refuses, and the fields (name, alias, version, integrity, source) it
 * reads from the less common entry shapes.
 */
import { describe, expect, test } from 'vitest';
import { LockfileError } from '../src/errors';
import { packagesFromBunLock, parseBunLockText, stripJsonc } from '../src/lockfile/bun';
import type { Registries } from '../src/lockfile/source';

const SHA = 'sha512-' + Buffer.alloc(64, 3).toString('base64');
const REG: Registries = { default: 'https://registry.npmjs.org/', scopes: {} };

function thrown(fn: () => unknown): LockfileError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LockfileError);
    return e as LockfileError;
  }
  throw new Error('expected a LockfileError');
}

describe('bun.lock', () => {
  const bun = (packages: unknown, lockfileVersion: unknown = 1) => packagesFromBunLock({ lockfileVersion, packages }, '/p', 'bun.lock', { registries: REG });
  const refused = (packages: unknown, lockfileVersion: unknown = 1) => {
    const e = thrown(() => bun(packages, lockfileVersion));
    return [e.message, e.code];
  };

  test('stripJsonc: block comments keep their line breaks, an unterminated one runs to the end, a comma before a closing bracket goes', () => {
    expect(stripJsonc('[1, /* a\nb */ 2]')).toBe('[1,     \n     2]');
    expect(stripJsonc('[1] /* open')).toBe('[1]        ');
    expect(stripJsonc('{"a": 1,\n\t }')).toBe('{"a": 1 \n\t }');
    expect(stripJsonc('[1,\n2]')).toBe('[1,\n2]');
    expect(stripJsonc('[1,')).toBe('[1,');
    expect(stripJsonc('["a\\\\", // c\n1]')).toBe('["a\\\\",     \n1]');
    expect(stripJsonc('"unterminated')).toBe('"unterminated');
  });

  test('a parse error is located by JSON.parse\'s position or, without one, by the YAML parser', () => {
    const e = thrown(() => parseBunLockText('{\n  "a": 1,\n  "b": [ }\n}', 'bun.lock'));
    expect(e.code).toBe('ERR_PG_LOCKFILE_PARSE');
    expect(e.message).toMatch(/^bun\.lock: invalid JSONC at line 3, column \d+: [^\n]+$/);
    expect(e.message).not.toContain('position');
    expect(thrown(() => parseBunLockText('', 'bun.lock')).message).toMatch(/^bun\.lock: invalid JSONC: Unexpected end of JSON input$/);
    expect(parseBunLockText('{"a": [1,], /* x */ "b": 2,\n}')).toEqual({ a: [1], b: 2 });
  });

  test('versions 0, 1 and 2 are read; anything else is unsupported', () => {
    for (const v of [0, 1, 2]) expect(bun({}, v)).toEqual([]);
    for (const v of [-1, 3, '1', null]) {
      expect(refused({}, v)).toEqual([`bun.lock: unsupported bun.lock lockfileVersion ${JSON.stringify(v)} (supported: 0, 1, 2)`, 'ERR_PG_LOCKFILE_UNSUPPORTED']);
    }
    expect(thrown(() => packagesFromBunLock({}, '/p')).message).toBe('lockfile: unsupported bun.lock lockfileVersion undefined (supported: 0, 1, 2)');
    expect(packagesFromBunLock({ lockfileVersion: 1 }, '/p')).toEqual([]);
  });

  test('each malformed entry is refused with the path it is at', () => {
    expect(refused([])).toEqual(['bun.lock: "packages" must be an object', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused('x')).toEqual(['bun.lock: "packages" must be an object', 'ERR_PG_LOCKFILE_INVALID']);
    expect(thrown(() => packagesFromBunLock([], '/p', 'bun.lock')).message).toBe('bun.lock: expected a JSON object at the top level');
    expect(refused({ a: 'a@1.0.0' })).toEqual(['bun.lock: package "a" must be an array starting with "name@resolution"', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ a: [1] })).toEqual(['bun.lock: package "a" must be an array starting with "name@resolution"', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ a: ['a@'] })).toEqual(['bun.lock: package "a" has no name@resolution ("a@")', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ a: ['@s/a'] })).toEqual(['bun.lock: package "a" has no name@resolution ("@s/a")', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ a: ['a@1.0.0', 7, {}, SHA] })).toEqual(['bun.lock: package "a": the tarball URL must be a string', 'ERR_PG_LOCKFILE_INVALID']);
  });

  test('registry entries: default registry when the URL is empty or absent, integrity from the fourth element', () => {
    expect(bun({ a: ['a@1.0.0', '', {}, SHA] })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry', integrity: SHA }]);
    expect(bun({ a: ['a@1.0.0'] })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry' }]);
    expect(bun({ a: ['a@1.0.0', 'https://registry.npmjs.org/a/-/a-1.0.0.tgz', {}, ''] })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry' }]);
    expect(bun({ a: ['a@1.0.0', 'https://mirror.example/a/-/a-1.0.0.tgz', {}, SHA] })).toEqual([
      { name: 'a', version: '1.0.0', source: 'tarball', integrity: SHA, resolved: 'https://mirror.example/a/-/a-1.0.0.tgz' },
    ]);
  });

  test('non-registry entries: version from their metadata (else 0.0.0), never an integrity', () => {
    expect(bun({ g: ['g@github:o/g#abc', { dependencies: {} }, { version: '2.1.0' }, SHA] })).toEqual([{ name: 'g', version: '2.1.0', source: 'git', resolved: 'github:o/g#abc' }]);
    expect(bun({ g: ['g@github:o/g#abc', { version: 3 }, 'tag'] })).toEqual([{ name: 'g', version: '0.0.0', source: 'git', resolved: 'github:o/g#abc' }]);
    expect(bun({ t: ['t@https://files.example/t.tgz', SHA] })).toEqual([{ name: 't', version: '0.0.0', source: 'tarball', resolved: 'https://files.example/t.tgz' }]);
  });

  test('the installed-as name is the last path segment (with its scope); it is an alias only when it differs', () => {
    const alias = (path: string, spec: string) => bun({ [path]: [spec, '', {}, SHA] })[0]!.alias;
    expect(alias('x', 'a@1.0.0')).toBe('x');
    expect(alias('a', 'a@1.0.0')).toBeUndefined();
    expect(alias('parent/a', 'a@1.0.0')).toBeUndefined();
    expect(alias('@s/a', '@s/a@1.0.0')).toBeUndefined();
    expect(alias('@s/p/@s/a', '@s/a@1.0.0')).toBeUndefined();
    expect(alias('@s/p/@t/x', '@s/a@1.0.0')).toBe('@t/x');
    expect(alias('@s/x', '@s/a@1.0.0')).toBe('@s/x');
  });
});

/**
 * Edges of each lockfile reader that the fixture lockfiles do not reach: the exact error for
 * every entry a reader refuses, and the fields (name, alias, version, integrity, source) it
 * reads from the less common entry shapes.
 */
import { describe, expect, test } from 'vitest';
import { LockfileError } from '../src/errors';
import { packagesFromBunLock, parseBunLockText, stripJsonc } from '../src/lockfile/bun';
import { packagesFromPackageLock } from '../src/lockfile/npm';
import { packagesFromPnpmLockfile, parseDepPath, refTarget } from '../src/lockfile/pnpm';
import { npmLocatorVersion, packageFromYarnResolution, packagesFromYarnLock } from '../src/lockfile/yarn';
import type { Registries } from '../src/lockfile/source';
import { thrown as thrownAs } from './helpers/errors';

const SHA = 'sha512-' + Buffer.alloc(64, 3).toString('base64');
const REG: Registries = { default: 'https://registry.npmjs.org/', scopes: {} };

const thrown = (fn: () => unknown): LockfileError => thrownAs(LockfileError, fn);

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
    expect(stripJsonc('[1] // last line')).toBe('[1]             ');
    expect(stripJsonc('[1*2, 3/4]')).toBe('[1*2, 3/4]');
    expect(stripJsonc('[1 /*/ x */]')).toBe('[1         ]');
  });

  test('a parse error is located by JSON.parse\'s position or, without one, by the YAML parser', () => {
    const e = thrown(() => parseBunLockText('{\n  "a": 1,\n  "b": [ }\n}', 'bun.lock'));
    expect(e.code).toBe('ERR_PG_LOCKFILE_PARSE');
    expect(e.message).toMatch(/^bun\.lock: invalid JSONC at line 3, column \d+: [^\n]+$/);
    expect(e.message).not.toContain('position');
    expect(thrown(() => parseBunLockText('', 'bun.lock')).message).toMatch(/^bun\.lock: invalid JSONC: Unexpected end of JSON input$/);
    expect(parseBunLockText('{"a": [1,], /* x */ "b": 2,\n}')).toEqual({ a: [1], b: 2 });
    // Errors JSON.parse gives with a position: one digit and several.
    expect(thrown(() => parseBunLockText('{"a" 1}', 'bun.lock')).message).toBe("bun.lock: invalid JSONC at line 1, column 6: Expected ':' after property name");
    expect(thrown(() => parseBunLockText('{\n  "a": 1\n  "b": 2\n}', 'bun.lock')).message).toBe("bun.lock: invalid JSONC at line 3, column 3: Expected ',' or '}' after property value");
  });

  test('a key written twice in one object is refused, wherever it hides (Bun reads the first or refuses the file, JSON the last)', () => {
    const twice = (text: string) => {
      const e = thrown(() => parseBunLockText(text, 'bun.lock'));
      expect(e.code).toBe('ERR_PG_LOCKFILE_PARSE');
      return e.message.replace(/: Bun reads the first.*$/, '');
    };
    expect(twice('{"a": 1, "a": 2}')).toBe('bun.lock: key "a" written twice in one object (line 1, column 10)');
    // Two `packages` objects: Bun 1.4.4 installs from the first, JSON.parse keeps the last.
    expect(twice('{\n  "packages": {"x": ["x@1.0.0", "https://evil.example/x.tgz", {}, "sha512-a"]},\n  "packages": {"x": ["x@1.0.0", "", {}, "sha512-b"]},\n}')).toBe('bun.lock: key "packages" written twice in one object (line 3, column 3)');
    // One install path twice: Bun refuses the file ("Duplicate package path") and resolves anew.
    expect(twice('{"packages": {\n "x": ["x@1.0.0", "", {}, "sha512-a"],\n "x": ["x@1.0.0", "", {}, "sha512-b"],\n}}')).toBe('bun.lock: key "x" written twice in one object (line 3, column 2)');
    // Comments between a key and its colon, an escape that spells the same key, a nested object.
    expect(twice('{"a" /* c */ : 1, "a"\n// x\n: 2}')).toBe('bun.lock: key "a" written twice in one object (line 1, column 19)');
    expect(twice('{"a": 1, "\\u0061": 2}')).toBe('bun.lock: key "a" written twice in one object (line 1, column 10)');
    expect(twice('{"p": {"x": {"d": 1, "d": 2}}}')).toBe('bun.lock: key "d" written twice in one object (line 1, column 22)');
    expect(twice('[{"a": 1}, {"b": {"a": 1}, "b": 2}]')).toBe('bun.lock: key "b" written twice in one object (line 1, column 28)');
    // Not twice: the same key in two objects, equal values in an array, keys inside strings and comments.
    expect(parseBunLockText('{"a": {"b": 1}, "c": {"b": 2}, "l": ["x", "x"], "s": "a\\": 1, \\"a\\": 2", // "s": 3\n "t": /* "a": */ 3}')).toEqual({ a: { b: 1 }, c: { b: 2 }, l: ['x', 'x'], s: 'a": 1, "a": 2', t: 3 });
    expect(parseBunLockText('{"a": {"a": {"a": 1}}}')).toEqual({ a: { a: { a: 1 } } });
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
    expect(bun({ a: ['a@1.0.0', '', {}, SHA] })).toStrictEqual([{ name: 'a', version: '1.0.0', source: 'registry', integrity: SHA }]);
    expect(bun({ a: ['a@1.0.0'] })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry' }]);
    expect(bun({ a: ['a@1.0.0', 'https://registry.npmjs.org/a/-/a-1.0.0.tgz', {}, ''] })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry' }]);
    expect(bun({ a: ['a@1.0.0', 'https://mirror.example/a/-/a-1.0.0.tgz', {}, SHA] })).toEqual([
      { name: 'a', version: '1.0.0', source: 'tarball', integrity: SHA, resolved: 'https://mirror.example/a/-/a-1.0.0.tgz' },
    ]);
  });

  test('non-registry entries: version from their metadata (else 0.0.0), never an integrity', () => {
    expect(bun({ g: ['g@github:o/g#abc', { dependencies: {} }, { version: '2.1.0' }, SHA] })).toEqual([{ name: 'g', version: '2.1.0', source: 'git', resolved: 'github:o/g#abc' }]);
    expect(bun({ g: ['g@github:o/g#abc', { version: 3 }, 'tag'] })).toEqual([{ name: 'g', version: '0.0.0', source: 'git', resolved: 'github:o/g#abc' }]);
    expect(packagesFromBunLock({ lockfileVersion: 1, packages: { v: ['v@file:/p/vendor/v', { version: '1.0.0' }] } }, '/p', 'bun.lock', { registries: REG })).toEqual([
      { name: 'v', version: '1.0.0', source: 'file', resolved: 'vendor/v' },
    ]);
    expect(bun({ t: ['t@https://files.example/t.tgz', SHA] })).toEqual([{ name: 't', version: '0.0.0', source: 'tarball', resolved: 'https://files.example/t.tgz' }]);
  });

  test('a URL dependency that is the registry tarball of a package is a tarball named by that package (what Bun installs)', () => {
    expect(bun({ a: ['a@https://registry.npmjs.org/@s/b/-/b-2.0.0.tgz', {}] })).toEqual([{ name: '@s/b', version: '2.0.0', source: 'tarball', resolved: 'https://registry.npmjs.org/@s/b/-/b-2.0.0.tgz', alias: 'a' }]);
    expect(bun({ a: ['a@https://files.example/b-2.0.0.tgz', { version: '9.0.0' }] })).toEqual([{ name: 'a', version: '9.0.0', source: 'tarball', resolved: 'https://files.example/b-2.0.0.tgz' }]);
  });

  test('link:<name> is a package registered with `bun link` (a folder outside the project), never a path in it', () => {
    expect(bun({ l: ['l@link:l', { hasInstallScript: true }] })).toEqual([{ name: 'l', version: '0.0.0', source: 'link', resolved: 'link:l' }]);
    expect(bun({ '@s/l': ['@s/l@link:@s/l', {}] })).toEqual([{ name: '@s/l', version: '0.0.0', source: 'link', resolved: 'link:@s/l' }]);
  });

  test('a registry URL of another name@version than the resolution is that registry package (Bun downloads the URL: bun-agreement.test.ts)', () => {
    const lock = { lockfileVersion: 1, packages: { x: ['x@1.0.0', 'https://registry.npmjs.org/@s/b/-/b-2.0.0.tgz', {}, SHA], y: ['y@1.0.0', 'https://mirror.example/b/-/b-2.0.0.tgz', {}, SHA] } };
    expect(packagesFromBunLock(lock, '/p', 'bun.lock', { registries: REG })).toEqual([
      { name: '@s/b', version: '2.0.0', source: 'registry', integrity: SHA, alias: 'x' },
      { name: 'y', version: '1.0.0', source: 'tarball', integrity: SHA, resolved: 'https://mirror.example/b/-/b-2.0.0.tgz' },
    ]);
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

describe('package-lock.json', () => {
  const npm = (packages: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    packagesFromPackageLock({ lockfileVersion: 3, packages: { '': {}, ...packages }, ...extra }, '/p', 'package-lock.json', { registries: REG });
  const refused = (lockfile: unknown) => {
    const e = thrown(() => packagesFromPackageLock(lockfile, '/p', 'package-lock.json', { registries: REG }));
    return [e.message, e.code];
  };

  test('every refused shape, with its exact message and code', () => {
    expect(refused([])).toEqual(['package-lock.json: expected a JSON object at the top level', 'ERR_PG_LOCKFILE_INVALID']);
    const v1 = 'package-lock.json: lockfileVersion 1 (npm 6 and older) is not supported; run `npm install --package-lock-only` with npm 7+ to upgrade it to version 3';
    expect(refused({ lockfileVersion: 1, packages: {} })).toEqual([v1, 'ERR_PG_LOCKFILE_UNSUPPORTED']);
    expect(refused({ dependencies: {} })).toEqual([v1, 'ERR_PG_LOCKFILE_UNSUPPORTED']);
    expect(refused({ packages: {} })).toEqual(['package-lock.json: unsupported package-lock lockfileVersion undefined (supported: 2, 3)', 'ERR_PG_LOCKFILE_UNSUPPORTED']);
    expect(refused({ lockfileVersion: '3', packages: {} })).toEqual(['package-lock.json: unsupported package-lock lockfileVersion "3" (supported: 2, 3)', 'ERR_PG_LOCKFILE_UNSUPPORTED']);
    expect(refused({ lockfileVersion: 2 })).toEqual(['package-lock.json: lockfileVersion 2 without a "packages" map', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ lockfileVersion: 3, packages: { '': {}, 'node_modules/a': 'x' } })).toEqual(['package-lock.json: package "node_modules/a" must be an object', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ lockfileVersion: 3, packages: { '': {}, 'packages/a': {} } })).toEqual(['package-lock.json: package "packages/a" has no name', 'ERR_PG_LOCKFILE_INVALID']);
  });

  test('a missing resolved is the registry; a non-URL resolved keeps npm\'s spelling', () => {
    expect(npm({ 'node_modules/a': { version: '1.0.0', integrity: SHA } })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry', integrity: SHA }]);
    expect(npm({ 'node_modules/a': { version: '1.0.0', resolved: 'file:vendor/a-1.0.0.tgz' } })).toEqual([{ name: 'a', version: '1.0.0', source: 'file', resolved: 'file:vendor/a-1.0.0.tgz' }]);
    expect(npm({ 'node_modules/a': { version: '1.0.0', resolved: 'git+ssh://git@github.com/o/a.git#0123abc' } })).toEqual([
      { name: 'a', version: '1.0.0', source: 'git', resolved: 'git+ssh://git@github.com/o/a.git#0123abc' },
    ]);
    expect(npm({ 'node_modules/a': { version: '1.0.0', resolved: '1.0.0' } })).toEqual([{ name: 'a', version: '1.0.0', source: 'file', resolved: '1.0.0' }]);
    expect(npm({ 'node_modules/a': { version: '1.0.0', resolved: 'HTTPS://mirror.example/a.tgz' } })[0]!.source).toBe('tarball');
  });

  test('an inBundle entry is read like any other (arborist reify fetches a bundled dep its parent\'s tarball lacks, by name@version or resolved)', () => {
    const bundled = npm({
      'node_modules/p': { version: '1.0.0', integrity: SHA, bundleDependencies: ['c'] },
      'node_modules/p/node_modules/c': { version: '2.0.0', inBundle: true },
      'node_modules/p/node_modules/d': { version: '3.0.0', inBundle: true, name: 'e' },
    });
    expect(bundled).toEqual([
      { name: 'p', version: '1.0.0', source: 'registry', integrity: SHA },
      { name: 'c', version: '2.0.0', source: 'registry' },
      { name: 'e', version: '3.0.0', source: 'registry', alias: 'd' },
    ]);
  });

  test('a declared URL that is the registry tarball of another package stays a tarball, named by that package (what npm installs)', () => {
    const url = 'https://registry.npmjs.org/@s/b/-/b-2.0.0.tgz';
    const lock = { lockfileVersion: 3, packages: { '': { dependencies: { a: url } }, 'node_modules/a': { version: '2.0.0', resolved: url, integrity: SHA } } };
    expect(packagesFromPackageLock(lock, '/p', 'package-lock.json', { registries: REG })).toEqual([{ name: '@s/b', version: '2.0.0', source: 'tarball', resolved: url, integrity: SHA, alias: 'a' }]);
  });

  test('a URL a package declares as its spec stays a tarball even at the registry\'s path', () => {
    const url = 'https://registry.npmjs.org/a/-/a-1.0.0.tgz';
    expect(npm({ 'node_modules/a': { version: '1.0.0', resolved: url } })[0]!.source).toBe('registry');
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
      const lock = { lockfileVersion: 3, packages: { '': { [field]: { a: url, b: 1 } }, 'node_modules/a': { version: '1.0.0', resolved: url } } };
      expect(packagesFromPackageLock(lock, '/p', 'package-lock.json', { registries: REG })).toEqual([{ name: 'a', version: '1.0.0', source: 'tarball', resolved: url }]);
    }
  });

  test('a name field is an alias only when declared as npm:<name>, or when no resolved makes npm fetch it by that name', () => {
    const entry = { version: '1.0.0', name: 'real', resolved: 'https://mirror.example/real-1.0.0.tgz' };
    expect(npm({ 'node_modules/x': entry })[0]).toEqual({ name: 'x', version: '1.0.0', source: 'tarball', resolved: entry.resolved });
    // npm 11 fetches `<name field>@<version>` for an entry without resolved (npm-gate.test.ts): that is what is installed.
    expect(npm({ 'node_modules/x': { version: '1.0.0', name: 'real', integrity: SHA } })[0]).toEqual({ name: 'real', version: '1.0.0', source: 'registry', integrity: SHA, alias: 'x' });
    expect(npm({ 'node_modules/@acme/x': { version: '1.0.0', name: '@s/real' } })[0]).toEqual({ name: '@s/real', version: '1.0.0', source: 'registry', alias: '@acme/x' });
    expect(thrown(() => npm({ 'node_modules/x': { version: '1.0.0', name: 'Bad Name' } })).code).toBe('ERR_PG_LOCKFILE_ENTRY');
    // A git resolved is fetched as `<path name>@<resolved>` (arborist reify): the name field stays free text.
    const git = 'git+ssh://git@github.com/o/evil.git#0123abc';
    expect(npm({ 'node_modules/x': { version: '1.0.0', name: '@acme/internal', resolved: git } })[0]).toEqual({ name: 'x', version: '1.0.0', source: 'git', resolved: git });
    const declared = (spec: string, e: Record<string, unknown> = entry) =>
      packagesFromPackageLock({ lockfileVersion: 3, packages: { '': { dependencies: { x: spec } }, 'node_modules/x': e } }, '/p', 'f', { registries: REG })[0];
    expect(declared('npm:real@^1')).toEqual({ name: 'real', version: '1.0.0', source: 'tarball', resolved: entry.resolved, alias: 'x' });
    expect(declared('npm:real')).toEqual({ name: 'real', version: '1.0.0', source: 'tarball', resolved: entry.resolved, alias: 'x' });
    expect(declared('npm:other@^1')).toEqual({ name: 'x', version: '1.0.0', source: 'tarball', resolved: entry.resolved });
    // A registry URL names the package it is, declared or not (npm fetches the URL).
    const atRegistry = { ...entry, resolved: 'https://registry.npmjs.org/real/-/real-1.0.0.tgz' };
    expect(declared('npm:real@^1', atRegistry)).toEqual({ name: 'real', version: '1.0.0', source: 'registry', alias: 'x' });
    expect(declared('npm:other@^1', atRegistry)).toEqual({ name: 'real', version: '1.0.0', source: 'registry', alias: 'x' });
    expect(npm({ 'node_modules/x': { version: '1.0.0', name: 'x' } })[0]).toEqual({ name: 'x', version: '1.0.0', source: 'registry' });
  });

  test('folders: a workspace by the root globs, else a file folder inside, a link outside; each link entry names its target, whatever the target\'s name field says', () => {
    const ws = (workspaces: unknown, path: string, entry: Record<string, unknown> = { name: 'w', version: '1.0.0' }) =>
      packagesFromPackageLock({ lockfileVersion: 3, packages: { '': { workspaces }, [path]: entry } }, '/p', 'f', { registries: REG })[0];
    expect(ws(['packages/*'], 'packages/a')).toEqual({ name: 'w', version: '1.0.0', source: 'workspace', resolved: 'packages/a' });
    expect(ws(['packages/*'], 'packages/a/b')!.source).toBe('file');
    expect(ws(['./packages/*/'], 'packages/a')!.source).toBe('workspace');
    expect(ws(['packages/**'], 'packages/a/b')!.source).toBe('workspace');
    expect(ws(['packages/a?'], 'packages/ab')!.source).toBe('workspace');
    expect(ws(['packages/a?'], 'packages/a/')!.source).toBe('file');
    expect(ws(['packages/a.b'], 'packages/axb')!.source).toBe('file');
    expect(ws(['packages/a+'], 'packages/aa')!.source).toBe('file');
    // npm's glob forms: braces, a nested *, extglobs; negations (an odd number of !); * skips dot folders.
    expect(ws(['packages/{a,b}'], 'packages/b')!.source).toBe('workspace');
    expect(ws(['packages/{a,b}'], 'packages/c')!.source).toBe('file');
    expect(ws(['apps/*/pkg'], 'apps/web/pkg')!.source).toBe('workspace');
    expect(ws(['packages/@(a|b)'], 'packages/b')!.source).toBe('workspace');
    expect(ws(['packages/**', '!packages/skip'], 'packages/skip')!.source).toBe('file');
    expect(ws(['packages/**', '!packages/skip'], 'packages/skip/inner')!.source).toBe('workspace');
    expect(ws(['packages/**', '!packages/skip/**'], 'packages/skip/inner')!.source).toBe('file');
    expect(ws(['packages/**', '!packages/skip', 'packages/skip'], 'packages/skip')!.source).toBe('workspace');
    expect(ws(['!!packages/a'], 'packages/a')!.source).toBe('workspace');
    expect(ws(['*/h'], '.hidden/h')!.source).toBe('file');
    expect(ws({ packages: ['libs/*', 7] }, 'libs/x')!.source).toBe('workspace');
    expect(ws({ nohoist: [] }, 'libs/x')!.source).toBe('file');
    expect(ws(['*'], '../outside')).toEqual({ name: 'w', version: '1.0.0', source: 'link', resolved: '../outside' });
    expect(ws([], 'vendor/a', { name: 'v' })).toEqual({ name: 'v', version: '0.0.0', source: 'file', resolved: 'vendor/a' });
    const linked = packagesFromPackageLock(
      { lockfileVersion: 3, packages: { '': {}, 'node_modules/lib': { link: true, resolved: '../lib' }, 'node_modules/other': { link: true, resolved: '../lib' }, '../lib': { version: '2.0.0' } } },
      '/p',
      'f',
      { registries: REG },
    );
    // npm links the folder at both paths: one package under each name it is installed as.
    expect(linked).toEqual([
      { name: 'lib', version: '2.0.0', source: 'link', resolved: '../lib' },
      { name: 'other', version: '2.0.0', source: 'link', resolved: '../lib' },
    ]);
    // The target entry's name field is free text: the link path names it (npm-gate.test.ts).
    const lying = packagesFromPackageLock(
      { lockfileVersion: 3, packages: { '': {}, 'node_modules/lib': { link: true, resolved: '../lib' }, '../lib': { name: '@acme/internal', version: '2.0.0' }, 'vendor/v': { name: '@acme/v' }, 'node_modules/v': { link: true, resolved: 'vendor/v' } } },
      '/p',
      'f',
      { registries: REG },
    );
    expect(lying).toEqual([
      { name: 'lib', version: '2.0.0', source: 'link', resolved: '../lib' },
      { name: 'v', version: '0.0.0', source: 'file', resolved: 'vendor/v' },
    ]);
  });
});

describe('pnpm lockfile', () => {
  const pnpm = (packages: Record<string, unknown>, importers: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    packagesFromPnpmLockfile({ lockfileVersion: '9.0', importers, packages, ...extra }, '/p', 'pnpm-lock.yaml', { registries: REG });
  const refused = (lockfile: unknown) => {
    const e = thrown(() => packagesFromPnpmLockfile(lockfile, '/p', 'pnpm-lock.yaml', { registries: REG }));
    return [e.message, e.code];
  };

  test('dependency paths and refs', () => {
    expect(parseDepPath('/a@1.0.0(p@1.0.0)(q@2.0.0)')).toEqual({ name: 'a', version: '1.0.0' });
    expect(parseDepPath('@s/a@1.0.0')).toEqual({ name: '@s/a', version: '1.0.0' });
    expect(parseDepPath('a@')).toBeUndefined();
    expect(parseDepPath('a')).toBeUndefined();
    expect(refTarget('a', '1.0.0(p@1.0.0)')).toEqual({ name: 'a', version: '1.0.0' });
    expect(refTarget('alias', 'real@1.0.0(p@1.0.0)')).toEqual({ name: 'real', version: '1.0.0' });
    expect(refTarget('alias', '@s/real@1.0.0')).toEqual({ name: '@s/real', version: '1.0.0' });
    expect(refTarget('a', 'link:../x@1')).toEqual({ name: 'a', version: 'link:../x@1' });
    expect(refTarget('a', 'git+https:x@y')).toEqual({ name: 'a', version: 'git+https:x@y' });
    expect(refTarget('a', '@')).toEqual({ name: 'a', version: '@' });
  });

  test('lockfile versions 6.x and 9.x only', () => {
    for (const v of ['6.0', '6.1', '9.0', 6, 9]) expect(packagesFromPnpmLockfile({ lockfileVersion: v }, '/p', 'f', { registries: REG })).toEqual([]);
    for (const v of ['5.4', '10.0', '96', '6.0.1', 'x9.0', '9.']) {
      expect(refused({ lockfileVersion: v })).toEqual([`pnpm-lock.yaml: unsupported pnpm lockfileVersion ${v} (supported: 6.0, 6.1, 9.0)`, 'ERR_PG_LOCKFILE_UNSUPPORTED']);
    }
    expect(refused({ importers: {} })).toEqual(['pnpm-lock.yaml: missing lockfileVersion (is this a pnpm-lock.yaml?)', 'ERR_PG_LOCKFILE_UNSUPPORTED']);
  });

  test('every refused shape, with its exact message', () => {
    const v = { lockfileVersion: '9.0' };
    expect(refused('x')).toEqual(['pnpm-lock.yaml: expected a YAML mapping at the top level', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ ...v, packages: [] })).toEqual(['pnpm-lock.yaml: "packages" must be a mapping', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ ...v, importers: 'x' })).toEqual(['pnpm-lock.yaml: "importers" must be a mapping', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ ...v, packages: { 'a@1.0.0': 'x' } })).toEqual(['pnpm-lock.yaml: package "a@1.0.0" must be a mapping', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ ...v, packages: { 'a@1.0.0': { resolution: 'x' } } })).toEqual(['pnpm-lock.yaml: package "a@1.0.0" has no resolution', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ ...v, packages: { weird: { resolution: {} } } })).toEqual(['pnpm-lock.yaml: cannot read a package name from "weird"', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused({ ...v, packages: { 'a@1.0.0': { resolution: { type: 'git', repo: 'https://x/a.git' } } } })).toEqual([
      'pnpm-lock.yaml: git package "a@1.0.0" needs resolution.repo and resolution.commit',
      'ERR_PG_LOCKFILE_INVALID',
    ]);
    expect(refused({ ...v, packages: { 'a@1.0.0': { resolution: { type: 'git', commit: 'abc' } } } })[0]).toContain('needs resolution.repo');
    expect(refused({ ...v, packages: { 'a@1.0.0': { resolution: { type: 'directory' } } } })).toEqual(['pnpm-lock.yaml: package "a@1.0.0" needs resolution.directory', 'ERR_PG_LOCKFILE_INVALID']);
  });

  test('resolutions: git, directory, runtime binaries, unknown types, file: and relative tarballs', () => {
    expect(pnpm({ 'a@1.0.0': { resolution: { type: 'git', repo: 'https://x/a.git', commit: 'abc' } } })).toEqual([{ name: 'a', version: '1.0.0', source: 'git', resolved: 'https://x/a.git#abc' }]);
    expect(pnpm({ 'a@file:vendor/a': { resolution: { type: 'directory', directory: 'vendor/a' }, version: '1.2.0' } })).toEqual([
      { name: 'a', version: '1.2.0', source: 'file', resolved: 'vendor/a' },
    ]);
    expect(pnpm({ 'node@runtime:1': { resolution: { type: 'binary', url: 'https://n.example/node.tgz' } } })).toEqual([
      { name: 'node', version: 'runtime:1', source: 'tarball', resolved: 'https://n.example/node.tgz' },
    ]);
    expect(pnpm({ 'node@runtime:1': { resolution: { type: 'variations', variants: [] } } })).toEqual([{ name: 'node', version: 'runtime:1', source: 'tarball', resolved: 'runtime:1' }]);
    expect(pnpm({ 'node@runtime:1': { resolution: { type: 'variations', variants: [{ resolution: 'x' }] } } })[0]!.resolved).toBe('runtime:1');
    expect(pnpm({ 'a@1.0.0': { resolution: { type: 'custom:x' } } })).toEqual([{ name: 'a', version: '1.0.0', source: 'file', resolved: 'custom:x' }]);
    expect(pnpm({ 'a@1.0.0': { resolution: { tarball: 'file:a-1.0.0.tgz', integrity: SHA } } })).toEqual([
      { name: 'a', version: '1.0.0', source: 'file', integrity: SHA, resolved: 'file:a-1.0.0.tgz' },
    ]);
    expect(pnpm({ 'a@1.0.0': { resolution: { tarball: 'a/-/a-1.0.0.tgz' } } })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry' }]);
    expect(pnpm({ 'a@1.0.0': { resolution: { tarball: 'b/-/b-1.0.0.tgz' } } })).toEqual([{ name: 'a', version: '1.0.0', source: 'tarball', resolved: 'b/-/b-1.0.0.tgz' }]);
    expect(pnpm({ 'a@1.0.0': { resolution: { tarball: 'http://[bad' } } })).toEqual([{ name: 'a', version: '1.0.0', source: 'tarball', resolved: 'http://[bad' }]);
  });

  test('a key without a name takes the entry\'s name field; the entry\'s version wins over the key\'s', () => {
    expect(pnpm({ 'file:vendor/x': { name: 'x', version: '3.0.0', resolution: { type: 'directory', directory: 'vendor/x' } } })).toEqual([
      { name: 'x', version: '3.0.0', source: 'file', resolved: 'vendor/x' },
    ]);
    expect(pnpm({ '/a@1.0.0': { name: 'evil', resolution: { integrity: SHA } } })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry', integrity: SHA }]);
  });

  test('a package locked with an integrity only is the registry\'s name@version whatever URL a project declared (pnpm fetches it from the registry); aliases come from importers and packages', () => {
    // pnpm locks a dependency declared by the registry's own URL so, and installs exactly this from the registry on a frozen install.
    const url = 'https://files.example/a-1.0.0.tgz';
    expect(pnpm({ 'a@1.0.0': { resolution: { integrity: SHA } } }, { '.': { dependencies: { b: { specifier: url, version: 'a@1.0.0' } } } })).toEqual([
      { name: 'a', version: '1.0.0', source: 'registry', integrity: SHA, alias: 'b' },
    ]);
    // pnpm's in-memory importers: versions by name, specifiers beside them.
    expect(pnpm({ 'a@1.0.0': { resolution: { integrity: SHA } } }, { '.': { optionalDependencies: { a: '1.0.0' }, specifiers: { a: url } } })[0]!.source).toBe('registry');
    // Locked with that URL as its tarball (not the registry's for a@1.0.0): a tarball under its key.
    expect(pnpm({ [`a@${url}`]: { resolution: { integrity: SHA, tarball: url }, version: '1.0.0' } }, { '.': { dependencies: { b: { specifier: url, version: `a@${url}` } } } })).toEqual([
      { name: 'b', version: '1.0.0', source: 'tarball', integrity: SHA, resolved: url },
    ]);
    expect(pnpm({ 'a@1.0.0': { resolution: { integrity: SHA } } }, { '.': { devDependencies: { a: { specifier: '^1', version: '1.0.0' } } } })[0]!.source).toBe('registry');
    const aliased = pnpm(
      { 'p@1.0.0': { resolution: { integrity: SHA }, dependencies: { inner: 'real@2.0.0' } }, 'real@2.0.0': { resolution: { integrity: SHA } }, 'opt@1.0.0': { resolution: { integrity: SHA } } },
      { '.': { dependencies: { p: { specifier: '^1', version: '1.0.0' } } }, skipped: 'x' },
      { snapshots: { 'q@1.0.0': { optionalDependencies: { o: 'opt@1.0.0' } }, bad: 1 } },
    );
    expect(aliased.find((p) => p.name === 'real')).toEqual({ name: 'real', version: '2.0.0', source: 'registry', integrity: SHA, alias: 'inner' });
    expect(aliased.find((p) => p.name === 'opt')?.alias).toBe('o');
  });

  test('a tarball, git or file: package is named by the dependency keys it is installed under, never by its package.json (as pnpm 10/12 lock them)', () => {
    const url = 'http://files.example/x.tgz';
    const tgz = `pnpm-plugin-provenance-guard@${url}`;
    const git = 'pnpm-plugin-provenance-guard@git+https://git.example/r.git#' + 'a'.repeat(40);
    const packages = {
      [tgz]: { resolution: { integrity: SHA, tarball: url }, version: '9.9.9' },
      [git]: { resolution: { type: 'git', repo: 'https://git.example/r.git', commit: 'a'.repeat(40) }, version: '9.9.8' },
      'vendored@file:vendored': { resolution: { directory: 'vendored', type: 'directory' }, version: '1.0.0' },
      'carrier@1.0.0': { resolution: { integrity: SHA } },
      'pnpm-plugin-provenance-guard@1.0.0': { resolution: { integrity: SHA } },
    };
    const importers = {
      '.': {
        dependencies: {
          evil: { specifier: url, version: tgz },
          evil2: { specifier: url, version: tgz },
          gx: { specifier: 'git+https://git.example/r.git', version: git },
          vend: { specifier: 'file:vendored', version: 'vendored@file:vendored' },
          carrier: { specifier: '1.0.0', version: '1.0.0' },
          // A registry package under an npm: alias keeps its real name.
          innocent: { specifier: 'npm:pnpm-plugin-provenance-guard@1.0.0', version: 'pnpm-plugin-provenance-guard@1.0.0' },
        },
      },
    };
    const snapshots = { [tgz]: {}, [git]: {}, 'carrier@1.0.0': { dependencies: { sneaky: tgz } } };
    expect(pnpm(packages, importers, { snapshots }).map((p) => `${p.name}@${p.version}:${p.source}${p.alias ? `<${p.alias}` : ''}`)).toEqual([
      'evil@9.9.9:tarball',
      'evil2@9.9.9:tarball',
      'sneaky@9.9.9:tarball',
      'gx@9.9.8:git',
      'vend@1.0.0:file',
      'carrier@1.0.0:registry',
      'pnpm-plugin-provenance-guard@1.0.0:registry<innocent',
    ]);
    // Declared under its own name: that name; referred to by nothing: the key's.
    expect(pnpm({ [tgz]: packages[tgz] }, { '.': { dependencies: { 'pnpm-plugin-provenance-guard': { specifier: url, version: tgz } } } }).map((p) => p.name)).toEqual(['pnpm-plugin-provenance-guard']);
    expect(pnpm({ [tgz]: packages[tgz] }).map((p) => p.name)).toEqual(['pnpm-plugin-provenance-guard']);
  });

  test('link: dependencies: into the project a workspace, outside a link package named by its key (pnpm-agreement.test.ts: whatever its package.json says)', () => {
    const importers = { '.': { dependencies: { out: { specifier: 'link:../elsewhere', version: 'link:../elsewhere' }, lib: 'link:packages/lib' } }, 'packages/app': {} };
    expect(pnpm({}, importers)).toEqual([
      { name: 'out', version: 'link:../elsewhere', source: 'link', resolved: '../elsewhere' },
      { name: 'app', version: '0.0.0', source: 'workspace', resolved: 'packages/app' },
      { name: 'lib', version: '0.0.0', source: 'workspace', resolved: 'packages/lib' },
    ].map((p) => (p.name === 'app' ? { ...p, name: 'packages/app' } : p)));
  });

  test('a v6 lockfile without importers: the root dependencies are the importer', () => {
    const lock = { lockfileVersion: '6.0', dependencies: { b: { specifier: 'npm:a@1', version: '/a@1.0.0' } }, packages: { '/a@1.0.0': { resolution: { integrity: SHA } } } };
    expect(packagesFromPnpmLockfile(lock, '/p', 'f', { registries: REG })[0]!.alias).toBe('b');
    const dev = { lockfileVersion: '6.0', devDependencies: { b: { specifier: 'npm:a@1', version: '/a@1.0.0' } }, packages: { '/a@1.0.0': { resolution: { integrity: SHA } } } };
    expect(packagesFromPnpmLockfile(dev, '/p', 'f', { registries: REG })[0]!.alias).toBe('b');
  });
});

describe('yarn.lock', () => {
  const lock = (...entries: string[]) => ['__metadata:', '  version: 8', '', ...entries, ''].join('\n');
  const refused = (text: string) => {
    const e = thrown(() => packagesFromYarnLock(text, '/p', 'yarn.lock', { registries: REG }));
    return [e.message, e.code];
  };

  test('npmLocatorVersion: the version an npm: locator fetches, through patches', () => {
    expect(npmLocatorVersion('npm:1.2.0')).toBe('1.2.0');
    expect(npmLocatorVersion('npm:1.2.0::__archiveUrl=x')).toBe('1.2.0');
    expect(npmLocatorVersion('patch:a@npm%3A1.2.0#./p.patch::version=1.2.0')).toBe('1.2.0');
    expect(npmLocatorVersion('patch:a@patch%3Aa%40npm%253A1.2.0%23.%2Fp.patch#./q.patch')).toBe('1.2.0');
    expect(npmLocatorVersion('patch:a@npm%3A1.2.0')).toBe('1.2.0');
    expect(npmLocatorVersion('patch:nonsense#x')).toBeUndefined();
    expect(npmLocatorVersion('workspace:.')).toBeUndefined();
  });

  test('Yarn 1 and non-Berry lockfiles are refused with their reason', () => {
    const classic = 'this is a Yarn 1 (classic) lockfile; only Yarn Berry (2+) lockfiles are supported — run it through Yarn 2+ or use its pnpm/npm lockfile';
    expect(refused('# yarn lockfile v1\n\na@^1:\n  version "1.0.0"\n')).toEqual([`yarn.lock: ${classic}`, 'ERR_PG_LOCKFILE_UNSUPPORTED']);
    expect(refused('# THIS IS AN AUTOGENERATED FILE.\r\n# yarn lockfile v1\r\n')).toEqual([`yarn.lock: ${classic}`, 'ERR_PG_LOCKFILE_UNSUPPORTED']);
    expect(refused('"a@npm:^1":\n  version: 1.0.0\n')).toEqual(['yarn.lock: no __metadata section: not a Yarn Berry lockfile (Yarn 1 lockfiles are not supported)', 'ERR_PG_LOCKFILE_UNSUPPORTED']);
    expect(packagesFromYarnLock('', '/p', 'yarn.lock', { registries: REG })).toEqual([]);
    expect(packagesFromYarnLock('# only a comment\n', '/p', 'yarn.lock', { registries: REG })).toEqual([]);
  });

  test('every refused entry, with its exact message', () => {
    expect(refused(lock('"a@npm:^1": 1'))).toEqual(['yarn.lock: entry "a@npm:^1" must be a mapping', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused(lock('"a@npm:^1":', '  resolution: "a@npm:1.0.0"'))).toEqual(['yarn.lock: entry "a@npm:^1" has no version', 'ERR_PG_LOCKFILE_INVALID']);
    expect(refused(lock('"a@npm:^1":', '  version: 1.0.0', '  resolution: "nonsense"'))).toEqual(['yarn.lock: entry "a@npm:^1" has an unreadable resolution "nonsense"', 'ERR_PG_LOCKFILE_INVALID']);
    const e = thrown(() => packagesFromYarnLock('__metadata:\n  version: 8\n"a": [\n', '/p', 'yarn.lock'));
    expect(e.code).toBe('ERR_PG_LOCKFILE_PARSE');
    expect(e.message).toMatch(/^yarn\.lock: invalid yarn\.lock syntax: [^\n]*[^:\s]$/);
  });

  test('the locator decides name and version; local packages read their folder\'s manifest', () => {
    expect(packagesFromYarnLock(lock('"a@npm:^1":', '  version: 9.9.9', '  resolution: "a@npm:1.0.0"'), '/p', 'yarn.lock', { registries: REG })).toEqual([
      { name: 'a', version: '1.0.0', source: 'registry' },
    ]);
    expect(packagesFromYarnLock(lock('"w@workspace:packages/none":', '  version: 0.0.0-use.local', '  resolution: "w@workspace:packages/none"'), '/p', 'yarn.lock', { registries: REG })).toEqual([
      { name: 'w', version: '0.0.0-use.local', source: 'workspace', resolved: 'packages/none' },
    ]);
    expect(packageFromYarnResolution('x@https://h.example/x.tgz', '0.0.0-use.local', '/p', [], { registries: REG })).toEqual({
      name: 'x',
      version: '0.0.0-use.local',
      source: 'tarball',
      resolved: 'https://h.example/x.tgz',
    });
  });

  test('an npm: locator fetched from an archive URL is the registry only at the registry\'s path', () => {
    const at = (url: string) => packageFromYarnResolution(`a@npm:1.0.0::__archiveUrl=${encodeURIComponent(url)}`, '1.0.0', '/p', [], { registries: REG });
    expect(at('https://registry.npmjs.org/a/-/a-1.0.0.tgz')).toEqual({ name: 'a', version: '1.0.0', source: 'registry' });
    expect(at('https://evil.example/a-1.0.0.tgz')).toEqual({ name: 'a', version: '1.0.0', source: 'tarball', resolved: 'https://evil.example/a-1.0.0.tgz' });
  });

  test('the alias is the first descriptor naming another package', () => {
    expect(packageFromYarnResolution('a@npm:1.0.0', '1.0.0', '/p', ['a@npm:^1', ' x@npm:a@^1', 'y@npm:a@^1'], { registries: REG })?.alias).toBe('x');
    expect(packageFromYarnResolution('a@npm:1.0.0', '1.0.0', '/p', ['a@npm:^1', 'nonsense'], { registries: REG })?.alias).toBeUndefined();
  });
});

describe('yarn.lock: what decides version, source and registry', () => {
  const mirror: Registries = { default: 'https://mirror.example/npm/', scopes: {} };
  const archive = (url: string) => `a@npm:1.0.0::__archiveUrl=${encodeURIComponent(url)}`;

  test('a locator without a reference is unreadable; a syntax error keeps the parser\'s words', () => {
    expect(packageFromYarnResolution('a@', '1.0.0', '/p', [], { registries: REG })).toBeNull();
    const e = thrown(() => packagesFromYarnLock('__metadata:\n  version: 8\n\n"a@npm:^1":\n  version: 1.0.0\n resolution: "a@npm:1.0.0"\n', '/p', 'yarn.lock', { registries: REG }));
    expect(e.message).toBe('yarn.lock: invalid yarn.lock syntax: bad indentation of a mapping entry at line 6, column 2');
  });

  test('the archive URL is judged for the version the locator names, with the registries given', () => {
    expect(packageFromYarnResolution(archive('https://mirror.example/npm/a/-/a-1.0.0.tgz'), '9.9.9', '/p', [], { registries: mirror })).toEqual({ name: 'a', version: '1.0.0', source: 'registry' });
    const text = ['__metadata:', '  version: 8', '', '"a@npm:^1":', '  version: 1.0.0', `  resolution: "${archive('https://mirror.example/npm/a/-/a-1.0.0.tgz')}"`, ''].join('\n');
    expect(packagesFromYarnLock(text, '/p', 'yarn.lock', { registries: mirror })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry' }]);
  });

  test('nesting too deep for the parser is a parse error, not a crash', () => {
    const e = thrown(() => packagesFromYarnLock(`__metadata:\n  version: 8\na: ${'['.repeat(100_000)}`, '/p', 'yarn.lock', { registries: REG }));
    expect([e.message, e.code]).toEqual(['yarn.lock: invalid yarn.lock syntax: nests more than 64 levels deep', 'ERR_PG_LOCKFILE_PARSE']);
  });

  test('an absolute file: locator inside the project is reported relative to it', () => {
    expect(packageFromYarnResolution('x@file:/p/vendor/x', '1.0.0', '/p', [], { registries: REG })).toEqual({ name: 'x', version: '1.0.0', source: 'file', resolved: 'vendor/x' });
  });

  test('an entry with a bad name is refused naming the file and the resolution', () => {
    const text = ['__metadata:', '  version: 8', '', '"Bad Name@npm:^1":', '  version: 1.0.0', '  resolution: "Bad Name@npm:1.0.0"', ''].join('\n');
    const e = thrown(() => packagesFromYarnLock(text, '/p', 'yarn.lock', { registries: REG }));
    expect([e.code, e.file]).toEqual(['ERR_PG_LOCKFILE_ENTRY', 'yarn.lock']);
    expect(e.message).toBe('yarn.lock: entry "Bad Name@npm:1.0.0": name "Bad Name" is not a valid npm package name');
  });
});

describe('package-lock.json: more shapes', () => {
  const read = (packages: Record<string, unknown>, registries: Registries = REG) => packagesFromPackageLock({ lockfileVersion: 3, packages }, '/p', 'package-lock.json', { registries });

  test('workspace globs match literally (a dot is a dot); non-string globs are ignored; no root entry is no workspaces', () => {
    expect(read({ '': { workspaces: ['packages/a.b', 7] }, 'packages/a.b': { name: 'w' } })[0]!.source).toBe('workspace');
    expect(read({ 'packages/a': { name: 'w' } })[0]!.source).toBe('file');
  });

  test('an http: URL declared as a spec stays a tarball too', () => {
    const url = 'http://registry.npmjs.org/a/-/a-1.0.0.tgz';
    expect(read({ '': { dependencies: { a: url } }, 'node_modules/a': { version: '1.0.0', resolved: url } })).toEqual([{ name: 'a', version: '1.0.0', source: 'tarball', resolved: url }]);
  });

  test('npm fetches registry.npmjs.org URLs from the configured registry (replace-registry-host)', () => {
    const mirror: Registries = { default: 'https://mirror.example/', scopes: {} };
    expect(read({ 'node_modules/a': { version: '1.0.0', resolved: 'https://registry.npmjs.org/a/-/a-1.0.0.tgz' } }, mirror)).toEqual([{ name: 'a', version: '1.0.0', source: 'registry' }]);
  });

  test('only a link entry names the folder it points at', () => {
    const e = thrown(() => read({ 'node_modules/a': { version: '1.0.0', resolved: 'vendor/a' }, 'vendor/a': {} }));
    expect(e.message).toBe('package-lock.json: package "vendor/a" has no name');
  });

  test('bad entries are refused naming the file and the entry path', () => {
    const folder = thrown(() => read({ 'vendor/a': { name: 'Bad Name' } }));
    expect([folder.message, folder.file]).toEqual(['package-lock.json: entry "vendor/a": name "Bad Name" is not a valid npm package name', 'package-lock.json']);
    const installed = thrown(() => read({ 'node_modules/a': { version: '1.0' } }));
    expect([installed.message, installed.file]).toEqual(['package-lock.json: entry "node_modules/a": version "1.0" is not a semver version', 'package-lock.json']);
  });
});

describe('pnpm lockfile: refs, versions, links and entry errors', () => {
  const pnpm = (lockfile: Record<string, unknown>) => packagesFromPnpmLockfile({ lockfileVersion: '9.0', ...lockfile }, '/p', 'pnpm-lock.yaml', { registries: REG });
  test('a ref naming another package may carry a URL version; a later minor lockfile version is read', () => {
    expect(refTarget('alias', 'real@https:x')).toEqual({ name: 'real', version: 'https:x' });
    expect(packagesFromPnpmLockfile({ lockfileVersion: '9.10' }, '/p', 'f', { registries: REG })).toEqual([]);
  });
  test('entries with a bad name are refused naming the file and the key or the importer and dependency', () => {
    const key = thrown(() => pnpm({ packages: { 'Bad Name@1.0.0': { resolution: { integrity: SHA } } } }));
    expect([key.message, key.file]).toEqual(['pnpm-lock.yaml: entry "Bad Name@1.0.0": name "Bad Name" is not a valid npm package name', 'pnpm-lock.yaml']);
    const link = thrown(() => pnpm({ importers: { '.': { dependencies: { 'Bad Name': 'link:../out' } } } }));
    expect([link.message, link.file]).toEqual(['pnpm-lock.yaml: entry ".: Bad Name": name "Bad Name" is not a valid npm package name', 'pnpm-lock.yaml']);
  });
  test('links resolve from the importer that declares them; a workspace folder keeps the first name that links it; a dependency without version is skipped', () => {
    const importers = {
      '.': { dependencies: { a: 'link:packages/x', nover: { specifier: '^1' } } },
      'packages/app': { dependencies: { b: 'link:../x', lib: 'link:../lib' } },
    };
    expect(pnpm({ importers })).toEqual([
      { name: 'packages/app', version: '0.0.0', source: 'workspace', resolved: 'packages/app' },
      { name: 'a', version: '0.0.0', source: 'workspace', resolved: 'packages/x' },
      { name: 'lib', version: '0.0.0', source: 'workspace', resolved: 'packages/lib' },
    ]);
  });
});

import { InstallScope } from '../plugins/pnpm/selection';
import { expect, test } from 'vitest';
import { UNVERSIONED, classify, DeclaredSpecs, specKind } from '../plugins/pnpm/classify';
import { reachablePackageKeys } from '../plugins/pnpm/reachable';

test('specKind tells registry ranges from other sources', () => {
  expect(specKind('^1.0.0')).toBeUndefined();
  expect(specKind('latest')).toBeUndefined();
  expect(specKind('npm:left-pad@1.3.0')).toBeUndefined();
  expect(specKind('workspace:*')).toBe('workspace');
  expect(specKind('link:../x')).toBe('link');
  expect(specKind('file:../x.tgz')).toBe('file');
  expect(specKind('git+file:///tmp/repo')).toBe('git');
  expect(specKind('github:user/repo')).toBe('git');
  expect(specKind('user/repo#v1')).toBe('git');
  expect(specKind('https://github.com/user/repo')).toBe('git');
  expect(specKind('https://example.com/x-1.0.0.tgz')).toBe('tarball');
});

test('classify: registry, tarball URL, alias, and dist-less packages', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', version: '1.0.0', dependencies: { tarb: 'http://r/t/-/t-1.0.0.tgz', innocent: 'npm:@x/bad@1.0.0', gitdep: 'git+file:///tmp/repo', '@x/local': 'file:./local' } });
  const registries = { default: 'http://r/', scopes: {} };
  expect(classify({ name: '@x/good', version: '1.0.0', dist: { integrity: 'sha512-a', tarball: 'http://r/@x/good/-/good-1.0.0.tgz' } }, declared, registries))
    .toEqual({ name: '@x/good', version: '1.0.0', source: 'registry', integrity: 'sha512-a' });
  expect(classify({ name: '@x/t', version: '1.0.0', dist: { integrity: 'sha512-b', tarball: 'http://r/t/-/t-1.0.0.tgz' } }, declared))
    .toEqual({ name: '@x/t', version: '1.0.0', source: 'tarball', integrity: 'sha512-b', resolved: 'http://r/t/-/t-1.0.0.tgz' });
  // The registry's own URL declared under another key: that registry package, under an alias (as check reads it locked).
  declared.note({ name: 'root', version: '1.0.0', dependencies: { mine: 'http://r/@x/good/-/good-1.0.0.tgz' } });
  expect(classify({ name: '@x/good', version: '1.0.0', dist: { integrity: 'sha512-a', tarball: 'http://r/@x/good/-/good-1.0.0.tgz' } }, declared, registries))
    .toEqual({ name: '@x/good', version: '1.0.0', source: 'registry', integrity: 'sha512-a', alias: 'mine' });
  expect(classify({ name: '@x/bad', version: '1.0.0', dist: { integrity: 'sha512-c' } }, declared))
    .toEqual({ name: '@x/bad', version: '1.0.0', source: 'registry', integrity: 'sha512-c', alias: 'innocent' });
  expect(classify({ name: '@x/local', version: '2.0.0' }, declared)).toEqual({ name: '@x/local', version: '2.0.0', source: 'file', resolved: 'file:./local' });
  // Declared under another key, and specifiers of two kinds pending: still not registry.
  expect(classify({ name: '@x/gitdep', version: '1.2.3' }, declared)!.source).not.toBe('registry');
  // No version (a git, tarball or folder package may have none): still checked, by its source.
  expect(classify({ name: '@x/local' }, declared)).toEqual({ name: '@x/local', version: UNVERSIONED, source: 'file', resolved: 'file:./local' });
  expect(classify({ name: 'unknown-folder' }, declared)).toMatchObject({ name: 'unknown-folder', version: UNVERSIONED, source: 'file' });
  expect(classify({ version: '1.0.0' }, declared)).toBeUndefined();
});

test('reachablePackageKeys follows declared dependencies through the in-memory and v9 lockfile shapes', () => {
  const lockfile = {
    lockfileVersion: '9.0',
    importers: { '.': { specifiers: {}, dependencies: { a: '1.0.0', gone: '1.0.0', al: '@x/real@2.0.0', ws: 'link:packages/ws' } } },
    packages: {
      'a@1.0.0': { dependencies: { b: '1.0.0(peer@1.0.0)' } },
      'b@1.0.0(peer@1.0.0)': {},
      'gone@1.0.0': { dependencies: { c: '1.0.0' } },
      'c@1.0.0': {},
      '@x/real@2.0.0': {},
    },
  };
  expect(reachablePackageKeys(lockfile, new Set(['a', 'al', 'ws']))).toEqual(new Set(['a@1.0.0', 'b@1.0.0(peer@1.0.0)', '@x/real@2.0.0']));
  expect(reachablePackageKeys(lockfile, new Set())).toBeUndefined();
  const v9 = { importers: { '.': { dependencies: { a: { specifier: '^1', version: '1.0.0' } } } }, packages: { 'a@1.0.0': {} }, snapshots: { 'a@1.0.0': { dependencies: { c: '1.0.0' } } } };
  expect(reachablePackageKeys(v9, new Set(['a']))).toEqual(new Set(['a@1.0.0', 'c@1.0.0']));
});

test('every alias declared for a package is remembered (two projects may alias it under different keys)', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'a', version: '1.0.0', dependencies: { x: 'npm:@x/bad@1.0.0' } });
  declared.note({ name: 'b', version: '1.0.0', dependencies: { y: 'npm:@x/bad@1.0.0' } });
  expect(declared.aliasesOf('@x/bad')).toEqual(['x', 'y']);
  expect(declared.aliasOf('@x/bad')).toBe('x');
  const scope = new InstallScope(new Set(['a']), new Map([['a', { name: 'a', dependencies: { x: 'npm:@x/bad@1.0.0' } }], ['b', { name: 'b', dependencies: { y: 'npm:@x/bad@1.0.0' } }]]));
  expect(scope.includes('@x/bad', '1.0.0', declared.aliasesOf('@x/bad'))).toBe(true);
  expect(scope.includes('@x/bad', '1.0.0', ['y'])).toBe(false);
});

/**
 * What the pnpm hook remembers of the specifiers parents declared (plugins/pnpm/classify.ts
 * DeclaredSpecs), which decides the names a git, tarball, `file:` or `link:` package is checked
 * under: the dependency keys pnpm installs it under (node_modules/<key>), never only the name its
 * own package.json claims. A package checked under no name, or under the wrong one, would let an
 * `exclude` or `overrides` entry for a harmless name cover it.
 */
import { expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classify, DeclaredSpecs, registriesFromPnpm } from '../plugins/pnpm/classify';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-pnpm-registries-');

const none = (): boolean => false;
const URL = 'https://host.example/x-1.0.0.tgz';

test('nothing declared: a package is checked under its own name, never under none', () => {
  expect(new DeclaredSpecs().installNames('x', undefined, none)).toEqual(['x']);
  expect(new DeclaredSpecs().installNames('x', URL, none)).toEqual(['x']);
});

test('a key declared from git, a folder, a tarball or a link: the arriving package is checked under each key not arrived yet, sorted, not under its claimed name', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', dependencies: { zeta: 'github:acme/plugin', alpha: 'file:../alpha', linked: 'link:../outside', left: '^1.0.0', aliased: 'npm:left-pad@1.3.0' } });
  expect(declared.installNames('pnpm-plugin-x', undefined, none)).toEqual(['alpha', 'linked', 'zeta']);
  // Once every key's package has arrived, the name is its own.
  expect(declared.installNames('pnpm-plugin-x', undefined, () => true)).toEqual(['pnpm-plugin-x']);
  expect(declared.installNames('pnpm-plugin-x', undefined, (key) => key !== 'zeta')).toEqual(['zeta']);
  // A package that is itself one of the keys: its own name, and the others still pending, each once.
  expect(declared.installNames('zeta', undefined, none)).toEqual(['zeta', 'alpha', 'linked']);
});

test('a specifier with no key yet (`pnpm add <spec>`): the arriving package keeps its own name beside the pending keys', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', dependencies: { evil: 'github:acme/evil' } });
  declared.noteUnnamed('github:acme/other');
  expect(declared.installNames('other', undefined, none)).toEqual(['other', 'evil']);
});

test('a declared tarball URL: the keys that declared it, sorted; with `pnpm add <url>` also its own name', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', dependencies: { zeta: URL, alpha: URL } });
  expect(declared.installNames('x', URL, none)).toEqual(['alpha', 'zeta']);
  expect(declared.isDeclaredUrl(URL)).toBe(true);
  declared.noteUnnamed(URL);
  expect(declared.installNames('x', URL, none)).toEqual(['alpha', 'x', 'zeta']);
  // From another URL: not that package; its own name (a `pnpm add` is pending) and the keys whose packages have not arrived.
  expect(declared.installNames('x', 'https://host.example/other.tgz', none)).toEqual(['x', 'alpha', 'zeta']);
});

test('installedAs: under its own name the package as classified; under another key that key, with the source it declared when it has no dist', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', dependencies: { evil: 'github:acme/evil', both: 'link:../both', bothgit: 'github:acme/both' } });
  const pkg = { name: 'pnpm-plugin-x', version: '1.0.0', source: 'git' as const, resolved: 'github:acme/evil', alias: 'a' };
  expect(declared.installedAs(pkg, 'pnpm-plugin-x', false)).toBe(pkg);
  expect(declared.installedAs(pkg, 'evil', true)).toEqual({ name: 'evil', version: '1.0.0', source: 'git', resolved: 'github:acme/evil' });
  // With a dist, what it was downloaded from decides, not what the key declared.
  expect(declared.installedAs({ ...pkg, source: 'tarball', resolved: URL }, 'evil', true)).toEqual({ name: 'evil', version: '1.0.0', source: 'tarball', resolved: URL });
  expect(declared.installedAs({ ...pkg, source: 'file', resolved: 'x' }, 'evil', false)).toEqual({ name: 'evil', version: '1.0.0', source: 'git', resolved: 'github:acme/evil' });
  // Not from the key's `link:` specifier: the one from elsewhere decides.
  declared.note({ name: 'other', dependencies: { both: 'github:acme/both' } });
  expect(declared.installedAs({ ...pkg, source: 'file', resolved: 'x' }, 'both', false)).toEqual({ name: 'both', version: '1.0.0', source: 'git', resolved: 'github:acme/both' });
  expect(declared.installedAs({ ...pkg, source: 'file', resolved: 'x' }, 'undeclared', false)).toEqual({ name: 'undeclared', version: '1.0.0', source: 'file', resolved: 'x' });
});

test('linkKeys: every `link:` key with its folder as declared; isNonRegistry: a key declared from anything but a link', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', dependencies: { ext: 'link:../outside', git: 'github:acme/g', reg: '^1.0.0' } });
  declared.note({ name: 'other', dependencies: { ext2: 'link:/abs/folder' } });
  expect(declared.linkKeys()).toEqual([['ext', '../outside'], ['ext2', '/abs/folder']]);
  expect(declared.isNonRegistry('git')).toBe(true);
  expect(declared.isNonRegistry('ext')).toBe(false);
  expect(declared.isNonRegistry('reg')).toBe(false);
  expect(declared.isNonRegistry('nobody')).toBe(false);
});

test('classify: a package without dist named like a workspace project is still checked, by the source declared for it', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', dependencies: { lib: 'workspace:*', evil: 'github:acme/lib' } });
  const registries = { default: 'https://registry.npmjs.org/', scopes: {} };
  expect(classify({ name: 'lib', version: '1.0.0' }, declared, registries)).toEqual({ name: 'lib', version: '1.0.0', source: 'git', resolved: 'github:acme/lib' });
  // A dist with neither integrity nor tarball is no download: not a registry package.
  expect(classify({ name: 'lib', version: '1.0.0', dist: {} }, declared, registries)).toEqual({ name: 'lib', version: '1.0.0', source: 'git', resolved: 'github:acme/lib' });
  // An empty version is no version.
  expect(classify({ name: 'lib', version: '' }, declared, registries)).toMatchObject({ version: '0.0.0-unversioned', source: 'git' });
  expect(classify({ name: '', version: '1.0.0' }, declared, registries)).toBeUndefined();
});

test('npm: aliases: the real name, with or without a range, scoped or not, maps to every key that aliases it', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', dependencies: { plain: 'npm:real', ranged: 'npm:real@^1.0.0', scoped: 'npm:@acme/real@1.0.0', self: 'npm:self@1.0.0' } });
  declared.note({ name: 'other', devDependencies: { again: 'npm:real@2' } });
  expect(declared.aliasesOf('real').sort()).toEqual(['again', 'plain', 'ranged']);
  expect(declared.aliasesOf('@acme/real')).toEqual(['scoped']);
  expect(declared.aliasesOf('rea')).toEqual([]);
  // A key aliasing its own name is no alias.
  expect(declared.aliasesOf('self')).toEqual([]);
});

test('registry ranges, tags and workspace: specifiers are not remembered as another source', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', dependencies: { tagged: 'latest', ranged: '>=1 <3', ws: 'workspace:*', wsRange: 'workspace:^1.0.0' } });
  for (const key of ['tagged', 'ranged', 'ws', 'wsRange']) expect(declared.isNonRegistry(key)).toBe(false);
  expect(declared.specFor('anything')).toBeUndefined();
  declared.noteUnnamed('latest');
  expect(declared.specFor('anything')).toBeUndefined();
  declared.noteUnnamed('workspace:*');
  expect(declared.specFor('anything')).toBeUndefined();
  expect(declared.installNames('anything', undefined, none)).toEqual(['anything']);
  // A specifier of another source with no key yet is remembered (`pnpm add github:user/repo`).
  declared.noteUnnamed('github:u/r');
  expect(declared.specFor('anything')).toBe('github:u/r');
});

test('one key declared differently by two projects keeps both specifiers', () => {
  const declared = new DeclaredSpecs();
  declared.note({ name: 'a', dependencies: { x: 'link:../outside-x' } });
  declared.note({ name: 'b', dependencies: { x: 'github:acme/x' } });
  expect(declared.linkKeys()).toEqual([['x', '../outside-x']]);
  expect(declared.isNonRegistry('x')).toBe(true);
});

test('specFor: the specifier declared under the name, else the one kind every declared key agrees on', () => {
  const declared = new DeclaredSpecs();
  expect(declared.specFor('r')).toBeUndefined();
  declared.note({ name: 'root', dependencies: { 'my-fork': 'github:u/r' } });
  expect(declared.specFor('my-fork')).toBe('github:u/r');
  expect(declared.specFor('r')).toBe('github:u/r');
  declared.note({ name: 'root2', dependencies: { folder: 'file:../f' } });
  expect(declared.specFor('r')).toBeUndefined();
  expect(declared.specFor('folder')).toBe('file:../f');
});

test('registriesFromPnpm: the registries pnpm hands the hooks, scopes only from @-keys; without them, the project\'s .npmrc', () => {
  expect(registriesFromPnpm({ default: 'https://r.example', '@acme': 'https://s.example/acme', 'not-a-scope': 'https://n.example/' })).toEqual({
    default: 'https://r.example/',
    scopes: { '@acme': 'https://s.example/acme/' },
  });
  const dir = temp();
  writeFileSync(join(dir, '.npmrc'), 'registry=https://mirror.example/npm\n@corp:registry=https://corp.example/\n');
  expect(registriesFromPnpm(undefined, dir)).toMatchObject({ default: 'https://mirror.example/npm/', scopes: { '@corp': 'https://corp.example/' } });
  expect(registriesFromPnpm({ '@corp': 'https://elsewhere.example/' }, dir)).toMatchObject({ default: 'https://mirror.example/npm/' });
  const registries = registriesFromPnpm({ default: 'https://r.example/', '@acme': 'https://s.example/acme/' });
  // A scope's package from its own registry is a registry package; from the default registry it is a tarball.
  const declared = new DeclaredSpecs();
  expect(classify({ name: '@acme/x', version: '1.0.0', dist: { integrity: 'sha512-x', tarball: 'https://s.example/acme/@acme/x/-/x-1.0.0.tgz' } }, declared, registries)).toMatchObject({ source: 'registry' });
  expect(classify({ name: '@acme/x', version: '1.0.0', dist: { integrity: 'sha512-x', tarball: 'https://r.example/@acme/x/-/x-1.0.0.tgz' } }, declared, registries)).toMatchObject({ source: 'tarball' });
});

/**
 * The one source classifier (src/lockfile/source.ts): its forms, registry identity, and the
 * promise that `provenance-guard check` (the lockfile readers) and both plugins' classifiers
 * give every source form the same kind.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { structUtils, type Descriptor, type DescriptorHash, type LocatorHash, type Package } from '@yarnpkg/core';
import { afterAll, describe, expect, test } from 'vitest';
import { classify, DeclaredSpecs, specKind, type PnpmManifest } from '../plugins/pnpm/classify';
import { classifyReference, resolvedPackages } from '../plugins/yarn/locators';
import { packagesFromPackageLock, packagesFromPnpmLockfile, packagesFromYarnLock } from '../src/lockfile/index';
import { npmRegistries, yarnRegistriesFor } from '../src/lockfile/registries';
import { classifySpec, isRegistryTarball, npmFetchUrl, registryTarballPackage, urlPackage, urlSource, type Registries } from '../src/lockfile/source';
import type { SourceKind } from '../src/types';

const tmp = mkdtempSync(join(tmpdir(), 'pg-source-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const REG: Registries = { default: 'https://registry.npmjs.org/', scopes: { '@corp': 'https://npm.corp.example/repo/' } };
const SHA = 'sha512-' + 'A'.repeat(86) + '==';

describe('classifySpec', () => {
  test.each([
    ['^1.0.0', 'registry'],
    ['1.2.3', 'registry'],
    ['latest', 'registry'],
    ['npm:real@^1', 'registry'],
    ['npm:1.0.0::__archiveUrl=x', 'registry'],
    ['jsr:1.0.0', 'registry'],
    ['workspace:*', 'workspace'],
    ['workspace:packages/a', 'workspace'],
    ['github:u/r', 'git'],
    ['u/r#v1', 'git'],
    ['git+ssh://git@github.com/u/r.git#abc', 'git'],
    ['https://github.com/u/r.git#commit=abc', 'git'],
    ['git@github.com:u/r.git', 'git'],
    ['https://codeload.github.com/u/r/tar.gz/abc', 'git'],
    ['https://files.example/x-1.0.0.tgz', 'tarball'],
    ['file:../x.tgz', 'file'],
    ['./vendor/x', 'file'],
    ['link:./libs/x', 'workspace'],
    ['portal:libs/x', 'workspace'],
    ['link:../outside', 'link'],
    ['portal:/abs/outside', 'link'],
    ['exec:./gen.js', 'file'],
    ['@pg-fixture/other@1.0.0', 'registry'],
    ['left-pad@1.3.0', 'registry'],
    ['@s/x@github:u/r', 'git'],
    ['patch:x@npm%3A1.0.0#./p.patch::locator=root%40workspace%3A.', 'registry'],
    ['patch:x@link%3A..%2Fout#./p.patch', 'link'],
  ] as const)('%s → %s', (spec, kind) => {
    expect(classifySpec(spec).source).toBe(kind);
  });

  test('a link is inside or outside relative to the workspace that declares it', () => {
    expect(classifySpec('link:../b::locator=a%40workspace%3Apackages%2Fa')).toEqual({ source: 'workspace', resolved: 'packages/b' });
    expect(classifySpec('link:../../../x::locator=a%40workspace%3Apackages%2Fa')).toEqual({ source: 'link', resolved: '../x' });
    expect(classifySpec(`link:${join(tmp, 'inner')}`, { projectDir: tmp })).toEqual({ source: 'workspace', resolved: 'inner' });
    expect(classifySpec(`link:${join(tmp, 'inner')}`).source).toBe('link');
  });
});

describe('registry identity', () => {
  test('registryTarballPackage: the name@version a configured registry serves at a URL, under the registry configured for that name', () => {
    expect(registryTarballPackage('https://registry.npmjs.org/b/-/b-2.0.0.tgz', REG)).toEqual({ name: 'b', version: '2.0.0' });
    expect(registryTarballPackage('https://registry.yarnpkg.com/@s/b/-/b-1.0.0-rc.1.tgz', REG)).toEqual({ name: '@s/b', version: '1.0.0-rc.1' });
    expect(registryTarballPackage('https://registry.npmjs.org/@s%2fb/-/b-1.0.0.tgz', REG)).toEqual({ name: '@s/b', version: '1.0.0' });
    expect(registryTarballPackage('https://npm.corp.example/repo/@corp/x/-/x-3.0.0.tgz', REG)).toEqual({ name: '@corp/x', version: '3.0.0' });
    // Not a registry package: another host, a scope's package on the default registry, no semver, a query, a name mismatch in the file.
    for (const url of [
      'https://mirror.example/b/-/b-2.0.0.tgz',
      'https://registry.npmjs.org/@corp/x/-/x-3.0.0.tgz',
      'https://npm.corp.example/repo/b/-/b-2.0.0.tgz',
      'https://registry.npmjs.org/b/-/b-2.0.tgz',
      'https://registry.npmjs.org/b/-/b-2.0.0.tgz?x=1',
      'https://registry.npmjs.org/b/-/c-2.0.0.tgz',
      'https://registry.npmjs.org/b/-/b-2.0.0.tar',
      'not a url',
    ]) expect(registryTarballPackage(url, REG), url).toBeUndefined();
  });

  test('urlPackage: a registry tarball of another name@version than the key is that package; anything else as urlSource', () => {
    expect(urlPackage('https://registry.npmjs.org/b/-/b-2.0.0.tgz', 'a', '1.0.0', REG)).toEqual({ source: 'registry', name: 'b', version: '2.0.0' });
    expect(urlPackage('https://registry.npmjs.org/a/-/a-1.0.0.tgz', 'a', '1.0.0', REG)).toEqual({ source: 'registry', name: 'a', version: '1.0.0' });
    expect(urlPackage('https://mirror.example/b/-/b-2.0.0.tgz', 'a', '1.0.0', REG)).toEqual({ source: 'tarball', resolved: 'https://mirror.example/b/-/b-2.0.0.tgz', name: 'a', version: '1.0.0' });
    // npm's replace-registry-host first: a registry.npmjs.org URL is fetched from the configured registry.
    const mirror: Registries = { default: 'https://mirror.example/', scopes: {} };
    expect(urlPackage('https://registry.npmjs.org/b/-/b-2.0.0.tgz', 'a', '1.0.0', mirror, { npm: true })).toMatchObject({ source: 'registry', name: 'b' });
    expect(urlPackage('https://registry.npmjs.org/b/-/b-2.0.0.tgz', 'a', '1.0.0', mirror)).toMatchObject({ source: 'tarball', name: 'a' });
  });

  test('only the configured registry for the name, at name@version\'s path', () => {
    expect(isRegistryTarball('https://registry.npmjs.org/good-pkg/-/good-pkg-1.0.0.tgz', 'good-pkg', '1.0.0', REG)).toBe(true);
    expect(isRegistryTarball('http://other-host/good-pkg/-/good-pkg-1.0.0.tgz', 'good-pkg', '1.0.0', REG)).toBe(false);
    expect(isRegistryTarball('https://registry.npmjs.org/evil/-/evil-1.0.0.tgz', 'good-pkg', '1.0.0', REG)).toBe(false);
    expect(isRegistryTarball('https://registry.npmjs.org/good-pkg/-/good-pkg-1.0.1.tgz', 'good-pkg', '1.0.0', REG)).toBe(false);
    expect(isRegistryTarball('https://registry.npmjs.org/good-pkg/-/good-pkg-1.0.0.tgz?x=1', 'good-pkg', '1.0.0', REG)).toBe(false);
    expect(isRegistryTarball('https://npm.corp.example/repo/@corp/a/-/a-2.0.0.tgz', '@corp/a', '2.0.0', REG)).toBe(true);
    expect(isRegistryTarball('https://npm.corp.example/repo/@corp%2fa/-/a-2.0.0.tgz', '@corp/a', '2.0.0', REG)).toBe(true);
    // A scoped package from the default registry instead of its scope's: not where npm would fetch it.
    expect(isRegistryTarball('https://registry.npmjs.org/@corp/a/-/a-2.0.0.tgz', '@corp/a', '2.0.0', REG)).toBe(false);
    expect(isRegistryTarball('https://npm.corp.example/@corp/a/-/a-2.0.0.tgz', '@corp/a', '2.0.0', REG)).toBe(false);
    // Yarn's default registry is the public one under another name.
    expect(isRegistryTarball('https://registry.yarnpkg.com/good-pkg/-/good-pkg-1.0.0.tgz', 'good-pkg', '1.0.0', REG)).toBe(true);
    expect(isRegistryTarball('https://registry.npmjs.org/good-pkg/-/good-pkg-1.0.0.tgz', 'good-pkg', '1.0.0', { default: 'https://registry.yarnpkg.com/', scopes: {} })).toBe(true);
  });

  test("npm's replace-registry-host: registry.npmjs.org URLs are fetched from the configured registry", () => {
    const mirror: Registries = { default: 'http://mirror.example/npm/', scopes: {} };
    const url = 'https://registry.npmjs.org/good-pkg/-/good-pkg-1.0.0.tgz';
    expect(npmFetchUrl(url, mirror)).toBe('http://mirror.example/good-pkg/-/good-pkg-1.0.0.tgz');
    expect(urlSource(url, 'good-pkg', '1.0.0', { default: 'http://mirror.example/', scopes: {} }, { npm: true })).toEqual({ source: 'registry' });
    // pnpm and Yarn fetch a recorded URL as it is.
    expect(urlSource(url, 'good-pkg', '1.0.0', { default: 'http://mirror.example/', scopes: {} }).source).toBe('tarball');
    expect(urlSource(url, 'good-pkg', '1.0.0', { default: 'http://mirror.example/', scopes: {}, replaceHost: 'never' }, { npm: true }).source).toBe('tarball');
    expect(npmFetchUrl('http://other-host/good-pkg/-/good-pkg-1.0.0.tgz', mirror)).toBe('http://other-host/good-pkg/-/good-pkg-1.0.0.tgz');
    expect(npmFetchUrl('http://other-host/good-pkg/-/good-pkg-1.0.0.tgz', { ...mirror, replaceHost: 'always' })).toBe('http://mirror.example/good-pkg/-/good-pkg-1.0.0.tgz');
  });

  test('registries come from .npmrc and .yarnrc.yml', () => {
    expect(npmRegistries({ registry: 'http://r.example/', settings: { '@corp:registry': 'http://corp.example', 'replace-registry-host': 'never' }, files: [] }))
      .toEqual({ default: 'http://r.example/', scopes: { '@corp': 'http://corp.example/' }, replaceHost: 'never' });
    const dir = join(tmp, 'yarnrc');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.yarnrc.yml'), 'npmRegistryServer: "http://y.example"\nnpmScopes:\n  corp:\n    npmRegistryServer: "http://corp.example/x"\n');
    expect(yarnRegistriesFor(dir, { HOME: tmp })).toEqual({ default: 'http://y.example/', scopes: { '@corp': 'http://corp.example/x/' } });
    expect(yarnRegistriesFor(join(tmp, 'none'), { HOME: tmp }).default).toBe('https://registry.yarnpkg.com/');
  });
});

/** Every source form, as each front end meets it. */
interface Form {
  name: string;
  kind: SourceKind;
  /** yarn.lock resolution (and descriptor) → `check`, and Yarn's Project → the plugin. */
  yarn?: { descriptor: string; resolution: string };
  /** Yarn's reduceDependency sees the descriptor's range. */
  yarnRange?: string;
  /** pnpm-lock.yaml: an importer dependency and (when it has one) its packages entry. */
  pnpm?: { dep: { specifier: string; version: string }; key?: string; entry?: Record<string, unknown> };
  /** What pnpm's readPackage receives, and the spec the parent declared. */
  pnpmHook?: { manifest: PnpmManifest; declared: string } | { spec: string };
  /** package-lock.json entries. */
  npm?: Record<string, Record<string, unknown>>;
}

const ROOT = 'root%40workspace%3A.';
const GIT = 'git+ssh://git@github.com/u/r.git';
const TGZ = 'https://files.example/x-1.0.0.tgz';

const FORMS: Form[] = [
  {
    name: 'registry',
    kind: 'registry',
    yarn: { descriptor: 'x@npm:^1.0.0', resolution: 'x@npm:1.0.0' },
    yarnRange: 'npm:^1.0.0',
    pnpm: { dep: { specifier: '^1.0.0', version: '1.0.0' }, key: 'x@1.0.0', entry: { resolution: { integrity: SHA } } },
    pnpmHook: { manifest: { name: 'x', version: '1.0.0', dist: { integrity: SHA, tarball: 'https://registry.npmjs.org/x/-/x-1.0.0.tgz' } }, declared: '^1.0.0' },
    npm: { 'node_modules/x': { version: '1.0.0', resolved: 'https://registry.npmjs.org/x/-/x-1.0.0.tgz', integrity: SHA } },
  },
  {
    name: 'npm: alias',
    kind: 'registry',
    yarn: { descriptor: 'x@npm:real@^1', resolution: 'real@npm:1.0.0' },
    yarnRange: 'npm:real@^1',
    pnpm: { dep: { specifier: 'npm:real@^1', version: 'real@1.0.0' }, key: 'real@1.0.0', entry: { resolution: { integrity: SHA } } },
    pnpmHook: { manifest: { name: 'real', version: '1.0.0', dist: { integrity: SHA } }, declared: 'npm:real@^1' },
    npm: { 'node_modules/x': { name: 'real', version: '1.0.0', resolved: 'https://registry.npmjs.org/real/-/real-1.0.0.tgz', integrity: SHA } },
  },
  {
    name: 'git',
    kind: 'git',
    yarn: { descriptor: `x@${GIT}`, resolution: `x@${GIT}#commit=0123abc` },
    yarnRange: GIT,
    pnpm: { dep: { specifier: GIT, version: `git+ssh://git@github.com/u/r.git#0123abc` }, key: `x@${GIT}#0123abc`, entry: { version: '1.0.0', resolution: { type: 'git', repo: GIT, commit: '0123abc' } } },
    pnpmHook: { manifest: { name: 'x', version: '1.0.0' }, declared: GIT },
    npm: { 'node_modules/x': { version: '1.0.0', resolved: `${GIT}#0123abc` } },
  },
  {
    name: 'github shorthand',
    kind: 'git',
    yarnRange: 'u/r#v1',
    pnpmHook: { manifest: { name: 'x', version: '1.0.0' }, declared: 'github:u/r' },
    npm: { 'node_modules/x': { version: '1.0.0', resolved: 'github:u/r#abc' } },
  },
  {
    name: 'tarball URL',
    kind: 'tarball',
    yarn: { descriptor: `x@${TGZ}`, resolution: `x@${TGZ}` },
    yarnRange: TGZ,
    pnpm: { dep: { specifier: TGZ, version: TGZ }, key: `x@${TGZ}`, entry: { version: '1.0.0', resolution: { tarball: TGZ, integrity: SHA } } },
    pnpmHook: { manifest: { name: 'x', version: '1.0.0', dist: { integrity: SHA, tarball: TGZ } }, declared: TGZ },
    npm: { 'node_modules/x': { version: '1.0.0', resolved: TGZ, integrity: SHA } },
  },
  {
    name: 'registry-shaped URL on another host',
    kind: 'tarball',
    yarn: { descriptor: 'x@npm:^1.0.0', resolution: 'x@npm:1.0.0::__archiveUrl=http%3A%2F%2Fother-host%2Fx%2F-%2Fx-1.0.0.tgz' },
    pnpm: { dep: { specifier: '^1.0.0', version: '1.0.0' }, key: 'x@1.0.0', entry: { resolution: { integrity: SHA, tarball: 'http://other-host/x/-/x-1.0.0.tgz' } } },
    pnpmHook: { manifest: { name: 'x', version: '1.0.0', dist: { integrity: SHA, tarball: 'http://other-host/x/-/x-1.0.0.tgz' } }, declared: '^1.0.0' },
    npm: { 'node_modules/x': { version: '1.0.0', resolved: 'http://other-host/x/-/x-1.0.0.tgz', integrity: SHA } },
  },
  {
    name: 'file:',
    kind: 'file',
    yarn: { descriptor: 'x@file:./vendor/x.tgz', resolution: `x@file:./vendor/x.tgz::locator=${ROOT}` },
    yarnRange: 'file:./vendor/x.tgz',
    pnpm: { dep: { specifier: 'file:vendor/x.tgz', version: 'file:vendor/x.tgz' }, key: 'x@file:vendor/x.tgz', entry: { version: '1.0.0', resolution: { tarball: 'file:vendor/x.tgz', integrity: SHA } } },
    pnpmHook: { manifest: { name: 'x', version: '1.0.0' }, declared: 'file:./vendor/x.tgz' },
    npm: { 'node_modules/x': { version: '1.0.0', resolved: 'file:vendor/x.tgz', integrity: SHA } },
  },
  {
    name: 'link: inside the project',
    kind: 'workspace',
    yarn: { descriptor: 'x@link:./libs/x', resolution: `x@link:./libs/x::locator=${ROOT}` },
    yarnRange: 'link:./libs/x',
    pnpm: { dep: { specifier: 'link:./libs/x', version: 'link:libs/x' } },
    pnpmHook: { manifest: { name: 'x', version: '1.0.0' }, declared: 'link:./libs/x' },
  },
  {
    name: 'portal: inside the project',
    kind: 'workspace',
    yarn: { descriptor: 'x@portal:./libs/x', resolution: `x@portal:./libs/x::locator=${ROOT}` },
    yarnRange: 'portal:./libs/x',
  },
  {
    name: 'link: outside the project',
    kind: 'link',
    yarn: { descriptor: 'x@link:../outside', resolution: `x@link:../outside::locator=${ROOT}` },
    yarnRange: 'link:../outside',
    pnpm: { dep: { specifier: 'link:../outside', version: 'link:../outside' } },
    pnpmHook: { manifest: { name: 'x', version: '1.0.0' }, declared: 'link:../outside' },
    npm: { '../outside': { name: 'x', version: '1.0.0' }, 'node_modules/x': { resolved: '../outside', link: true } },
  },
  {
    name: 'portal: outside the project',
    kind: 'link',
    yarn: { descriptor: 'x@portal:../outside', resolution: `x@portal:../outside::locator=${ROOT}` },
    yarnRange: 'portal:../outside',
  },
  {
    name: 'workspace:',
    kind: 'workspace',
    yarn: { descriptor: 'x@workspace:packages/x', resolution: 'x@workspace:packages/x' },
    yarnRange: 'workspace:*',
    pnpm: { dep: { specifier: 'workspace:*', version: 'link:packages/x' } },
    pnpmHook: { spec: 'workspace:*' },
    npm: { 'packages/x': { name: 'x', version: '1.0.0' }, 'node_modules/x': { resolved: 'packages/x', link: true } },
  },
];

const kindOf = (packages: { name: string; source: SourceKind }[], name: string) => packages.find((p) => p.name === name)?.source;

function yarnLockKind(form: Form): SourceKind | undefined {
  const { descriptor, resolution } = form.yarn!;
  const text = `__metadata:\n  version: 8\n  cacheKey: 10\n\n"${descriptor}":\n  version: 1.0.0\n  resolution: "${resolution}"\n`;
  const packages = packagesFromYarnLock(text, tmp, 'yarn.lock', { registries: REG });
  return packages[0]?.source;
}

function yarnPluginKind(form: Form): SourceKind {
  const locator = structUtils.parseLocator(form.yarn!.resolution, true);
  const pkg = { ...locator, version: '1.0.0', languageName: 'node', linkType: 'HARD', conditions: null, dependencies: new Map(), peerDependencies: new Map(), dependenciesMeta: new Map(), peerDependenciesMeta: new Map(), bin: new Map() } as unknown as Package;
  const descriptor = structUtils.parseDescriptor(form.yarn!.descriptor, true);
  const descriptors = new Map<DescriptorHash, Descriptor>([[descriptor.descriptorHash, descriptor]]);
  const resolutions = new Map<DescriptorHash, LocatorHash>([[descriptor.descriptorHash, pkg.locatorHash]]);
  const out = resolvedPackages({ packages: [pkg], descriptors, resolutions, projectDir: tmp, registries: REG });
  return out[0]?.source ?? 'workspace'; // the plugin drops workspace packages: they are never checked
}

function pnpmLockKind(form: Form): SourceKind | undefined {
  const { dep, key, entry } = form.pnpm!;
  const importers: Record<string, unknown> = { '.': { dependencies: { x: dep } } };
  if (dep.version.startsWith('link:packages/')) importers['packages/x'] = {};
  const lockfile = { lockfileVersion: '9.0', importers, packages: key ? { [key]: entry } : {} };
  const packages = packagesFromPnpmLockfile(lockfile, tmp, 'pnpm-lock.yaml', { registries: REG });
  return kindOf(packages, key?.startsWith('real@') ? 'real' : 'x') ?? packages[0]?.source;
}

function pnpmHookKind(form: Form): SourceKind {
  const hook = form.pnpmHook!;
  if ('spec' in hook) return specKind(hook.spec) ?? 'registry';
  const declared = new DeclaredSpecs();
  declared.note({ name: 'root', version: '1.0.0', dependencies: { x: hook.declared } });
  return classify(hook.manifest, declared, REG)?.source ?? 'workspace'; // undefined: a workspace folder, never checked
}

function npmKind(form: Form): SourceKind | undefined {
  const root = { name: 'root', dependencies: { x: form.name === 'npm: alias' ? 'npm:real@^1' : '*' }, workspaces: ['packages/*'] };
  const packages = packagesFromPackageLock({ lockfileVersion: 3, packages: { '': root, ...form.npm } }, join(tmp, 'npm-project'), 'package-lock.json', { registries: REG });
  return packages.find((p) => p.name === 'x' || p.name === 'real')?.source;
}

test("the Yarn plugin takes an npm: locator's version from the locator, not a lockfile's version field", () => {
  const locator = structUtils.parseLocator('weak@npm:2.0.0', true);
  const pkg = { ...locator, version: '1.0.0', languageName: 'node', linkType: 'HARD', conditions: null, dependencies: new Map(), peerDependencies: new Map(), dependenciesMeta: new Map(), peerDependenciesMeta: new Map(), bin: new Map() } as unknown as Package;
  expect(resolvedPackages({ packages: [pkg], descriptors: new Map(), resolutions: new Map(), projectDir: tmp, registries: REG })).toEqual([{ name: 'weak', version: '2.0.0', source: 'registry' }]);
});

describe('check and both plugins agree on every source form', () => {
  test.each(FORMS.map((f) => [f.name, f] as const))('%s', (_, form) => {
    const seen: Record<string, SourceKind | undefined> = {};
    if (form.yarn) {
      seen['check (yarn.lock)'] = yarnLockKind(form);
      seen['yarn plugin (locators)'] = yarnPluginKind(form);
    }
    if (form.yarnRange) {
      const kind = classifyReference(form.yarnRange, tmp).source;
      seen['yarn plugin (reduceDependency)'] = kind === 'skip' ? undefined : kind;
    }
    if (form.pnpm) seen['check (pnpm-lock.yaml)'] = pnpmLockKind(form);
    if (form.pnpmHook) seen['pnpm hook (readPackage)'] = pnpmHookKind(form);
    if (form.npm) seen['check (package-lock.json)'] = npmKind(form);
    expect(Object.keys(seen).length).toBeGreaterThan(1);
    for (const [where, kind] of Object.entries(seen)) expect({ where, kind }).toEqual({ where, kind: form.kind });
  });
});

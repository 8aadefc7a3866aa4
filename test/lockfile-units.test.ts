/**
 * The lockfile readers' small parts, each pinned down exactly: which versions count as a
 * registry's, how duplicate entries merge, the errors users read (text, code, file), pnpm's
 * two-document lockfile, and the registries each package manager is configured with.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LockfileError } from '../src/errors';
import { dedupe, fail, failEntry, isSemver, lineColumn, make, readLocalManifest, str } from '../src/lockfile/common';
import { configuredRegistries, detectLockfiles, lockfileKindOf, readLockfile } from '../src/lockfile/index';
import { bunfigInstall, bunRegistriesFor, bunRegistryUrl, npmRegistries, yarnRegistriesFor } from '../src/lockfile/registries';
import { classifySpec, isRegistryTarball, npmFetchUrl, type Registries } from '../src/lockfile/source';
import type { ResolvedPackage } from '../src/types';
import { thrown as thrownAs } from './helpers/errors';

const tmp = mkdtempSync(join(tmpdir(), 'pg-lockfile-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SHA_A = 'sha512-' + Buffer.alloc(64, 1).toString('base64');
const SHA_B = 'sha512-' + Buffer.alloc(64, 2).toString('base64');
const REG = { default: 'https://registry.npmjs.org/', scopes: {} };

function dir(name: string, files: Record<string, string> = {}): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(d, file, '..'), { recursive: true });
    writeFileSync(join(d, file), text);
  }
  return d;
}

const thrown = (fn: () => unknown): LockfileError => thrownAs(LockfileError, fn);

describe('isSemver: only a plain version a registry publishes', () => {
  test.each(['0.0.0', '1.2.3', '10.20.30', '1.0.0-rc.1', '1.0.0-x-y.0', '1.0.0+build.7', '1.0.0-beta.2+exp.sha.5114f85'])('%s is', (v) => {
    expect(isSemver(v)).toBe(true);
  });
  test.each(['01.0.0', '1.01.0', '1.0.01', '1.0', '1.0.0.0', 'v1.0.0', ' 1.0.0', '1.0.0 ', '1.0.0-', '1.0.0-a..b', '1.0.0+', '1.0.0+a..b', 'x1.0.0', '1.0.0x', '^1.0.0', 'a.b.c'])(
    '%j is not',
    (v) => {
      expect(isSemver(v)).toBe(false);
    },
  );
});

describe('common helpers', () => {
  test('str keeps non-empty strings only', () => {
    expect(str('a')).toBe('a');
    expect(str('')).toBeUndefined();
    expect(str(1)).toBeUndefined();
  });
  test('lineColumn is 1-based and counts newlines before the offset only', () => {
    expect(lineColumn('ab\ncd\nef', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd\nef', 2)).toEqual({ line: 1, column: 3 });
    expect(lineColumn('ab\ncd\nef', 3)).toEqual({ line: 2, column: 1 });
    expect(lineColumn('ab\ncd\nef', 7)).toEqual({ line: 3, column: 2 });
    expect(lineColumn('ab\n', 99)).toEqual({ line: 2, column: 97 });
  });
  test('readLocalManifest: name and version when they are non-empty strings, else nothing', () => {
    expect(readLocalManifest(dir('m1', { 'package.json': '{"name":"a","version":"1.0.0"}' }))).toEqual({ name: 'a', version: '1.0.0' });
    expect(readLocalManifest(dir('m2', { 'package.json': '{"name":"","version":2}' }))).toStrictEqual({});
    expect(readLocalManifest(dir('m3', { 'package.json': '{"version":"2.0.0"}' }))).toStrictEqual({ version: '2.0.0' });
    expect(readLocalManifest(dir('m6', { 'package.json': '{"name":"n"}' }))).toStrictEqual({ name: 'n' });
    expect(readLocalManifest(dir('m4', { 'package.json': '["a"]' }))).toEqual({});
    expect(readLocalManifest(dir('m5', { 'package.json': '{' }))).toEqual({});
    expect(readLocalManifest(join(tmp, 'absent'))).toEqual({});
  });
  test('dedupe keeps the first of a name@version@source@resolved@integrity and fills a missing alias from later ones; never an integrity', () => {
    const a: ResolvedPackage = { name: 'a', version: '1.0.0', source: 'registry' };
    const merged = dedupe([{ ...a, integrity: SHA_A }, { ...a, alias: 'x', integrity: SHA_A }, { ...a, alias: 'y', integrity: SHA_A }]);
    expect(merged).toEqual([{ ...a, alias: 'x', integrity: SHA_A }]);
    // An entry without an integrity (or with another) is its own package: it borrows nothing.
    expect(dedupe([{ ...a }, { ...a, alias: 'x', integrity: SHA_A }, { ...a, integrity: SHA_B }])).toEqual([{ ...a }, { ...a, alias: 'x', integrity: SHA_A }, { ...a, integrity: SHA_B }]);
    expect(dedupe([{ ...a }, { ...a }])).toStrictEqual([a]);
    const distinct = dedupe([{ ...a }, { ...a, source: 'tarball', resolved: 'https://x/a.tgz' }, { ...a, source: 'tarball', resolved: 'https://y/a.tgz' }, { ...a, version: '1.0.1' }]);
    expect(distinct).toHaveLength(4);
  });
  test('make copies the known fields only and drops an alias equal to the name', () => {
    const full = { name: 'a', version: '1.0.0', source: 'tarball', integrity: SHA_A, resolved: 'https://x/a.tgz', alias: 'b', extra: 1 } as ResolvedPackage;
    expect(make(full)).toStrictEqual({ name: 'a', version: '1.0.0', source: 'tarball', integrity: SHA_A, resolved: 'https://x/a.tgz', alias: 'b' });
    expect(make({ name: 'a', version: '1.0.0', source: 'registry', alias: 'a' })).toStrictEqual({ name: 'a', version: '1.0.0', source: 'registry' });
    expect(make({ name: 'a', version: '1.0.0', source: 'registry' })).toStrictEqual({ name: 'a', version: '1.0.0', source: 'registry' });
  });
  test('make checks an entry only when told where it is from; workspace entries are never checked', () => {
    expect(make({ name: 'Bad Name', version: 'x', source: 'registry' }).name).toBe('Bad Name');
    expect(make({ name: 'Bad Name', version: 'x', source: 'workspace' }, { file: 'f', entry: 'e' }).name).toBe('Bad Name');
  });
  test.each([
    [{ name: 'a', version: '1.0', source: 'registry' }, 'version "1.0" is not a semver version'],
    [{ name: 'a', version: '1.0.0', source: 'registry', alias: 'Bad Alias' }, 'alias "Bad Alias" is not a valid npm package name'],
    [{ name: '.a', version: '1.0.0', source: 'git' }, 'name'],
  ] as const)('make refuses %j with ERR_PG_LOCKFILE_ENTRY naming file, entry and problem', (pkg, problem) => {
    const e = thrown(() => make(pkg as ResolvedPackage, { file: '/p/lock', entry: 'node_modules/a' }));
    expect(e.code).toBe('ERR_PG_LOCKFILE_ENTRY');
    expect(e.file).toBe('/p/lock');
    expect(e.message.startsWith('/p/lock: entry "node_modules/a": ')).toBe(true);
    expect(e.message).toContain(problem);
  });
  test('a non-registry entry may carry any version', () => {
    expect(make({ name: 'a', version: 'github.com/a/b#abc', source: 'git' }, { file: 'f', entry: 'e' }).version).toBe('github.com/a/b#abc');
  });
  test('fail and failEntry: file named (or "lockfile"), control characters escaped, codes', () => {
    const e = thrown(() => fail('/p/lock', 'bad \u001b[31mkey'));
    expect(e.message).toBe('/p/lock: bad \\e[31mkey');
    expect([e.code, e.file]).toEqual(['ERR_PG_LOCKFILE_INVALID', '/p/lock']);
    const noFile = thrown(() => fail(undefined, 'bad', 'ERR_PG_LOCKFILE_PARSE'));
    expect([noFile.message, noFile.code, noFile.file]).toEqual(['lockfile: bad', 'ERR_PG_LOCKFILE_PARSE', undefined]);
    const entry = thrown(() => failEntry(undefined, 'a\u0007', 'why\u0007'));
    expect([entry.message, entry.code, entry.file]).toEqual(['lockfile: entry "a\\u0007": why\\x07', 'ERR_PG_LOCKFILE_ENTRY', undefined]);
  });
});

describe('lockfile kinds and detection', () => {
  test('every lockfile of a directory, in LOCKFILE_NAMES order, with its kind', () => {
    const d = dir('detect-all', { 'bun.lock': '', 'package-lock.json': '', 'npm-shrinkwrap.json': '', 'yarn.lock': '', 'pnpm-lock.yaml': '' });
    expect(detectLockfiles(d)).toEqual([
      { path: join(d, 'pnpm-lock.yaml'), kind: 'pnpm' },
      { path: join(d, 'yarn.lock'), kind: 'yarn' },
      { path: join(d, 'npm-shrinkwrap.json'), kind: 'npm' },
      { path: join(d, 'package-lock.json'), kind: 'npm' },
      { path: join(d, 'bun.lock'), kind: 'bun' },
    ]);
    expect(lockfileKindOf('/x/bun.lock')).toBe('bun');
    expect(lockfileKindOf('/x/bun.lockb')).toBeUndefined();
  });
  test('each kind reads its own package manager\'s registry settings', () => {
    const d = dir('kinds-registries', { '.npmrc': 'registry=http://npm.example/\n', '.yarnrc.yml': 'npmRegistryServer: "http://yarn.example"\n', 'bunfig.toml': '[install]\nregistry = "http://bun.example"\n' });
    const env = { HOME: join(tmp, 'no-home') };
    expect(configuredRegistries('npm', d, env).default).toBe('http://npm.example/');
    expect(configuredRegistries('pnpm', d, env).default).toBe('http://npm.example/');
    expect(configuredRegistries('yarn', d, env).default).toBe('http://yarn.example/');
    expect(configuredRegistries('bun', d, env).default).toBe('http://bun.example/');
  });
  test('readLockfile: an unreadable path is ERR_PG_LOCKFILE_UNREADABLE, a missing one ERR_PG_LOCKFILE_NOT_FOUND, an unknown name ERR_PG_LOCKFILE_UNSUPPORTED', () => {
    const d = dir('unreadable');
    mkdirSync(join(d, 'yarn.lock'));
    const unreadable = thrown(() => readLockfile(join(d, 'yarn.lock')));
    expect([unreadable.message, unreadable.code]).toEqual([`${join(d, 'yarn.lock')}: cannot be read (EISDIR)`, 'ERR_PG_LOCKFILE_UNREADABLE']);
    const missing = thrown(() => readLockfile(join(d, 'pnpm-lock.yaml')));
    expect([missing.message, missing.code]).toEqual([`${join(d, 'pnpm-lock.yaml')}: no such file`, 'ERR_PG_LOCKFILE_NOT_FOUND']);
    const unknown = thrown(() => readLockfile(join(d, 'deps.lock')));
    expect([unknown.message, unknown.code]).toEqual([
      `${join(d, 'deps.lock')}: cannot tell the lockfile kind from its name (expected one of pnpm-lock.yaml, yarn.lock, npm-shrinkwrap.json, package-lock.json, bun.lock)`,
      'ERR_PG_LOCKFILE_UNSUPPORTED',
    ]);
  });
  test('an explicit kind wins over the file name; explicit registries win over the settings', () => {
    const d = dir('explicit-kind', { 'deps.lock': JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/a': { version: '1.0.0', resolved: 'http://mine.example/a/-/a-1.0.0.tgz' } } }) });
    expect(readLockfile(join(d, 'deps.lock'), 'npm', { registries: { default: 'http://mine.example/', scopes: {} } })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry' }]);
    expect(readLockfile(join(d, 'deps.lock'), 'npm', { env: { HOME: join(tmp, 'no-home') } })[0]!.source).toBe('tarball');
  });
});

describe('pnpm-lock.yaml text', () => {
  const lock = (name: string, text: string) => join(dir(name, { 'pnpm-lock.yaml': text }), 'pnpm-lock.yaml');
  test('an empty file (or only document markers) is ERR_PG_LOCKFILE_PARSE', () => {
    for (const text of ['', '---\n', '\n---\n---\n']) {
      const path = lock(`pnpm-empty-${text.length}`, text);
      const e = thrown(() => readLockfile(path, undefined, { registries: REG }));
      expect([e.message, e.code]).toEqual([`${path}: empty file`, 'ERR_PG_LOCKFILE_PARSE']);
    }
  });
  test('pnpm 11+ two documents: the project graph is the last; of the env document only its config dependencies', () => {
    const path = lock(
      'pnpm-two-docs',
      [
        '---',
        "lockfileVersion: '9.0'",
        'importers:',
        '  .:',
        '    configDependencies:',
        "      '@acme/pnpm-plugin':",
        '        specifier: 1.0.0',
        `        version: 1.0.0+${SHA_A}`,
        "      'bare-plugin': 2.0.0",
        'packages:',
        "  '@acme/pnpm-plugin@1.0.0':",
        `    resolution: {integrity: ${SHA_A}}`,
        "  'bare-plugin@2.0.0':",
        `    resolution: {integrity: ${SHA_B}}`,
        "  'pnpm@11.0.0':",
        `    resolution: {integrity: ${SHA_B}}`,
        '---',
        "lockfileVersion: '9.0'",
        'importers:',
        '  .:',
        '    dependencies:',
        '      a:',
        '        specifier: ^1.0.0',
        '        version: 1.0.0',
        'packages:',
        '  a@1.0.0:',
        `    resolution: {integrity: ${SHA_A}}`,
        'snapshots:',
        '  a@1.0.0: {}',
        '',
      ].join('\n'),
    );
    expect(readLockfile(path, undefined, { registries: REG })).toEqual([
      { name: 'a', version: '1.0.0', source: 'registry', integrity: SHA_A },
      { name: '@acme/pnpm-plugin', version: '1.0.0', source: 'registry', integrity: SHA_A },
      { name: 'bare-plugin', version: '2.0.0', source: 'registry', integrity: SHA_B },
    ]);
  });
  test('an env document without config dependencies adds nothing', () => {
    const env = ["lockfileVersion: '9.0'", 'importers:', '  .:', '    configDependencies: {}', 'packages:', "  'pnpm@11.0.0':", `    resolution: {integrity: ${SHA_B}}`].join('\n');
    const project = ["lockfileVersion: '9.0'", 'importers:', '  .: {}', ''].join('\n');
    expect(readLockfile(lock('pnpm-env-empty', `---\n${env}\n---\n${project}`), undefined, { registries: REG })).toEqual([]);
    expect(readLockfile(lock('pnpm-env-noimporters', `---\nlockfileVersion: '9.0'\n---\n${project}`), undefined, { registries: REG })).toEqual([]);
    expect(readLockfile(lock('pnpm-env-scalar', `--- 7\n---\n${project}`), undefined, { registries: REG })).toEqual([]);
  });
  test('YAML only the reference parser reads (an anchor) still reads; a YAML error names its line and column', () => {
    const anchored = ["lockfileVersion: '9.0'", 'packages:', '  a@1.0.0:', `    resolution: &r {integrity: ${SHA_A}}`, '  b@1.0.0:', '    resolution: *r', ''].join('\n');
    expect(readLockfile(lock('pnpm-anchor', anchored), undefined, { registries: REG }).map((p) => p.name)).toEqual(['a', 'b']);
    const path = lock('pnpm-bad', "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {resolution: [}\n");
    const e = thrown(() => readLockfile(path, undefined, { registries: REG }));
    expect(e.code).toBe('ERR_PG_LOCKFILE_PARSE');
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}: invalid YAML at line 3, column \\d+: [^\\n]+$`));
    expect(e.message).not.toMatch(/at line \d+, column \d+:?$/);
  });
});

describe('package-lock.json text', () => {
  test('a JSON error names line and column and keeps the parser\'s words without its position', () => {
    const path = join(dir('npm-bad-json', { 'package-lock.json': '{\n  "lockfileVersion": 3,\n  "packages": {\n    "": {}\n    "x": 1\n  }\n}\n' }), 'package-lock.json');
    const e = thrown(() => readLockfile(path, undefined, { registries: REG }));
    expect(e.code).toBe('ERR_PG_LOCKFILE_PARSE');
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}: invalid JSON at line 5, column 5: [^\\n]+$`));
    expect(e.message).not.toContain('position');
  });
});

describe('registries', () => {
  test('bunRegistryUrl: an http(s) URL string or {url, token}; anything else is none', () => {
    expect(bunRegistryUrl('https://r.example')).toEqual({ url: 'https://r.example/' });
    expect(bunRegistryUrl('http://r.example/x/')).toEqual({ url: 'http://r.example/x/' });
    expect(bunRegistryUrl({ url: 'https://r.example', token: 't' })).toEqual({ url: 'https://r.example/', token: 't' });
    expect(bunRegistryUrl({ url: 'https://r.example', token: 1 })).toEqual({ url: 'https://r.example/' });
    for (const bad of ['ftp://r.example', 'r.example/https://x', { url: 'file:///x' }, { url: 1 }, 1, undefined]) expect(bunRegistryUrl(bad)).toBeUndefined();
  });
  test('bunfigInstall outside Bun: the registry key of [install], nothing else', () => {
    expect(bunfigInstall(dir('bunfig-none'))).toEqual({});
    expect(bunfigInstall(dir('bunfig-reg', { 'bunfig.toml': '[install]\n  registry = "https://r.example/"\n' }))).toEqual({ registry: 'https://r.example/' });
    expect(bunfigInstall(dir('bunfig-other', { 'bunfig.toml': '[install]\nfrozenLockfile = true\n' }))).toEqual({});
  });
  test('bunRegistriesFor: bunfig over .npmrc, scopes from both', () => {
    const env = { HOME: join(tmp, 'no-home') };
    const d = dir('bun-regs', { '.npmrc': 'registry=http://npm.example/\n@corp:registry=http://corp.example/\n' });
    expect(bunRegistriesFor(d, env)).toEqual({ default: 'http://npm.example/', scopes: { '@corp': 'http://corp.example/' } });
    writeFileSync(join(d, 'bunfig.toml'), '[install]\nregistry = "http://bun.example"\n');
    expect(bunRegistriesFor(d, env).default).toBe('http://bun.example/');
  });
  test('yarnRegistriesFor: home, then each folder down to the project (nearest wins), then YARN_NPM_REGISTRY_SERVER; YARN_RC_FILENAME renames the file', () => {
    const home = dir('yarn-home', { '.yarnrc.yml': 'npmRegistryServer: "http://home.example"\nnpmScopes:\n  "@a":\n    npmRegistryServer: "http://a-home.example"\n' });
    const project = dir('yarn-home/work/project', { '.yarnrc.yml': 'npmScopes:\n  b:\n    npmRegistryServer: "http://b.example"\n  c: 1\n' });
    dir('yarn-home/work', { '.yarnrc.yml': 'npmRegistryServer: "http://work.example"\n' });
    expect(yarnRegistriesFor(project, { HOME: home })).toEqual({ default: 'http://work.example/', scopes: { '@a': 'http://a-home.example/', '@b': 'http://b.example/' } });
    expect(yarnRegistriesFor(project, { HOME: home, YARN_NPM_REGISTRY_SERVER: 'http://env.example' }).default).toBe('http://env.example/');
    dir('yarn-home/work/project', { 'custom.yml': 'npmRegistryServer: "http://custom.example"\n' });
    expect(yarnRegistriesFor(project, { HOME: home, YARN_RC_FILENAME: 'custom.yml' }).default).toBe('http://custom.example/');
    dir('yarn-home/work/project', { '.yarnrc.yml': 'npmRegistryServer: [\n' });
    expect(yarnRegistriesFor(project, { HOME: home }).default).toBe('http://work.example/');
  });
});

describe('registries: the less common settings', () => {
  test('npmRegistries: only `@scope:registry` keys are scope registries', () => {
    const config = { registry: 'https://r.example/', settings: { 'x@corp:registry': 'http://a.example', '@corp:registry-old': 'http://b.example', '@ok:registry': 'http://ok.example' }, files: [] };
    expect(npmRegistries(config)).toEqual({ default: 'https://r.example/', scopes: { '@ok': 'http://ok.example/' } });
  });
  test('bunfig outside Bun: registry = "…" with or without spaces, at the start of a line only', () => {
    expect(bunfigInstall(dir('bunfig-tight', { 'bunfig.toml': '[install]\nregistry="https://r.example/"\n' }))).toEqual({ registry: 'https://r.example/' });
    expect(bunfigInstall(dir('bunfig-prefixed', { 'bunfig.toml': '[install]\nmyregistry = "https://r.example/"\n' }))).toEqual({});
  });
  test('bunRegistryUrl objects: http or https at the start of the url', () => {
    expect(bunRegistryUrl({ url: 'http://r.example' })).toEqual({ url: 'http://r.example/' });
    expect(bunRegistryUrl({ url: 'see https://r.example' })).toBeUndefined();
  });
  test('inside Bun: bunfig.toml is read with Bun.TOML, scopes included', () => {
    const d = dir('bunfig-bun', { 'bunfig.toml': '# parsed by the stub\n' });
    const bun = globalThis as { Bun?: unknown };
    const install = { registry: 'https://bun.example', scopes: { corp: 'https://corp.example', '@other': { url: 'https://o.example', token: 't' }, bad: 'ftp://x' } };
    try {
      bun.Bun = { TOML: { parse: () => ({ install }) } };
      expect(bunfigInstall(d)).toBe(install);
      expect(bunRegistriesFor(d, { HOME: join(tmp, 'no-home') })).toEqual({ default: 'https://bun.example/', scopes: { '@corp': 'https://corp.example/', '@other': 'https://o.example/' } });
      bun.Bun = { TOML: { parse: () => ({}) } };
      expect(bunfigInstall(d)).toEqual({});
    } finally {
      delete bun.Bun;
    }
  });
  test('.yarnrc.yml: a registry that is not a string is ignored; HOME decides the home file', () => {
    const home = dir('yarn-home2', { '.yarnrc.yml': 'npmScopes:\n  h:\n    npmRegistryServer: "http://h.example"\n' });
    const project = dir('yarn-odd', {
      '.yarnrc.yml': 'npmRegistryServer:\n  nested: x\nnpmScopes:\n  c:\n    npmRegistryServer:\n      x: 1\n  d:\n    npmAuthToken: t\n',
    });
    expect(yarnRegistriesFor(project, { HOME: home })).toEqual({ default: 'https://registry.yarnpkg.com/', scopes: { '@h': 'http://h.example/' } });
  });
});

describe('readLockfile hands the registries to every reader; JSON and YAML errors in full', () => {
  const mirror = { default: 'https://mirror.example/', scopes: {} };
  const at = (name: string) => `https://mirror.example/${name}/-/${name}-1.0.0.tgz`;
  test('yarn.lock and pnpm-lock.yaml (both documents) are read with the registries given', () => {
    const yarn = join(dir('rl-yarn', { 'yarn.lock': ['__metadata:', '  version: 8', '', '"a@npm:^1":', '  version: 1.0.0', `  resolution: "a@npm:1.0.0::__archiveUrl=${encodeURIComponent(at('a'))}"`, ''].join('\n') }), 'yarn.lock');
    expect(readLockfile(yarn, undefined, { registries: mirror })).toEqual([{ name: 'a', version: '1.0.0', source: 'registry' }]);
    const env = ["lockfileVersion: '9.0'", 'importers:', '  .:', '    configDependencies:', '      c:', '        specifier: 1.0.0', '        version: 1.0.0', '      noversion:', '        specifier: 1.0.0', 'packages:', '  c@1.0.0:', `    resolution: {tarball: '${at('c')}'}`, '  noversion@1.0.0:', `    resolution: {tarball: '${at('noversion')}'}`].join('\n');
    const project = ["lockfileVersion: '9.0' # not a document marker ---", 'packages:', '  b@1.0.0:', `    resolution: {tarball: '${at('b')}'}`, ''].join('\n');
    const pnpm = join(dir('rl-pnpm', { 'pnpm-lock.yaml': `---\n${env}\n---\n${project}` }), 'pnpm-lock.yaml');
    expect(readLockfile(pnpm, undefined, { registries: mirror })).toEqual([
      { name: 'b', version: '1.0.0', source: 'registry' },
      { name: 'c', version: '1.0.0', source: 'registry' },
    ]);
  });
  test('package-lock.json: an error without a position has no line; with one, line and column and no position', () => {
    const empty = join(dir('rl-json-empty', { 'package-lock.json': '' }), 'package-lock.json');
    expect(thrown(() => readLockfile(empty, undefined, { registries: REG })).message).toBe(`${empty}: invalid JSON: Unexpected end of JSON input`);
    const bad = join(dir('rl-json-bad', { 'package-lock.json': '{"a" 1}' }), 'package-lock.json');
    expect(thrown(() => readLockfile(bad, undefined, { registries: REG })).message).toBe(`${bad}: invalid JSON at line 1, column 6: Expected ':' after property name`);
  });
});


describe('source classifier: exact classes and registry identity edges', () => {
  test.each([
    ['./vendor/x', { source: 'file', resolved: 'vendor/x' }],
    ['file:../x.tgz', { source: 'file', resolved: '../x.tgz' }],
    ['exec:./gen.js', { source: 'file', resolved: 'exec:./gen.js' }],
    ['workspace:packages/a', { source: 'workspace', resolved: 'packages/a' }],
    ['workspace:.', { source: 'workspace', resolved: '.' }],
    ['workspace:./a', { source: 'workspace', resolved: 'a' }],
    ['workspace:^1.0.0', { source: 'workspace' }],
    ['link:..', { source: 'link', resolved: '..' }],
    ['link:.', { source: 'workspace', resolved: '.' }],
    ['virtual:0123abcd#npm:1.0.0', { source: 'registry' }],
    ['catalog:', { source: 'registry' }],
    ['npm:@x/y@^1.0.0', { source: 'registry' }],
    ['npm:1.0.0', { source: 'registry' }],
    ['npm:x@git+https://h.example/r.git', { source: 'git', resolved: 'git+https://h.example/r.git' }],
    ['npm:@x/y@https://h.example/y.tgz', { source: 'tarball', resolved: 'https://h.example/y.tgz' }],
    ['  ^1.0.0  ', { source: 'registry' }],
    ['patch:x@npm%3A1.0.0', { source: 'registry' }],
    ['https://github.com/u/r', { source: 'git', resolved: 'https://github.com/u/r' }],
    ['http://github.com/u/r.tgz/x/y', { source: 'tarball', resolved: 'http://github.com/u/r.tgz/x/y' }],
    ['https://example.org/github.com/u/r', { source: 'tarball', resolved: 'https://example.org/github.com/u/r' }],
  ] as const)('%j → %j', (spec, expected) => {
    expect(classifySpec(spec)).toStrictEqual(expected);
  });
  const REG2: Registries = { default: 'https://r.example/npm', scopes: { '@corp': 'https://corp.example/' } };
  test('a registry tarball URL carries no hash, user or password, and lies under the registry path', () => {
    const ok = 'https://registry.npmjs.org/a/-/a-1.0.0.tgz';
    expect(isRegistryTarball(ok, 'a', '1.0.0', REG)).toBe(true);
    for (const bad of [`${ok}#x`, 'https://u@registry.npmjs.org/a/-/a-1.0.0.tgz', 'https://:p@registry.npmjs.org/a/-/a-1.0.0.tgz']) expect(isRegistryTarball(bad, 'a', '1.0.0', REG)).toBe(false);
    expect(isRegistryTarball('https://r.example/npm/a/-/a-1.0.0.tgz', 'a', '1.0.0', REG2)).toBe(true);
    expect(isRegistryTarball('https://r.example/npma/-/a-1.0.0.tgz', 'a', '1.0.0', REG2)).toBe(false);
    expect(isRegistryTarball('https://r.example/abc/a/-/a-1.0.0.tgz', 'a', '1.0.0', { default: 'https://r.example/npm/', scopes: {} })).toBe(false);
    // A scope without its own registry uses the default one.
    expect(isRegistryTarball('https://r.example/npm/@other/x/-/x-1.0.0.tgz', '@other/x', '1.0.0', REG2)).toBe(true);
  });
  test('replace-registry-host names the host whose URLs npm fetches from the configured registry', () => {
    const regs: Registries = { default: 'https://mirror.example/', scopes: {}, replaceHost: 'old.example' };
    expect(npmFetchUrl('https://old.example/a/-/a-1.0.0.tgz', regs)).toBe('https://mirror.example/a/-/a-1.0.0.tgz');
    expect(npmFetchUrl('https://registry.npmjs.org/a/-/a-1.0.0.tgz', regs)).toBe('https://registry.npmjs.org/a/-/a-1.0.0.tgz');
    expect(npmFetchUrl('not a url', { ...regs, replaceHost: 'always' })).toBe('not a url');
  });
});

describe('classifySpec and isRegistryTarball: the inputs no other test reached', () => {
  test('a Yarn locator= binding that is not a workspace leaves the path relative to the importer', () => {
    expect(classifySpec('file:./x.tgz::locator=app%40npm%3A1.0.0', { from: 'packages/a' })).toEqual({ source: 'file', resolved: 'packages/a/x.tgz' });
    expect(classifySpec('file:./x.tgz::locator=app%40workspace%3Apackages%2Fb', { from: 'packages/a' })).toEqual({ source: 'file', resolved: 'packages/b/x.tgz' });
    expect(classifySpec('file:./x.tgz::locator=app%40workspace%3A', { from: 'packages/a' })).toEqual({ source: 'file', resolved: 'x.tgz' });
  });
  test('an absolute link or portal with no project folder is outside, with its path', () => {
    expect(classifySpec('link:/opt/shared/x')).toEqual({ source: 'link', resolved: '/opt/shared/x' });
    expect(classifySpec('portal:/opt/shared/x')).toEqual({ source: 'link', resolved: '/opt/shared/x' });
  });
  test('a patch: spec whose inner part names no package is not unwrapped (and does not crash)', () => {
    expect(classifySpec('patch:nonsense#p.patch')).toEqual({ source: 'file', resolved: 'patch:nonsense#p.patch' });
  });
  test('name@ with an empty spec is unreadable for npm-package-arg, so never the registry', () => {
    expect(classifySpec('foo@')).toEqual({ source: 'file', resolved: 'foo@' });
    expect(classifySpec('@scope/foo@')).toEqual({ source: 'file', resolved: '@scope/foo@' });
  });
  test('a named catalog is the registry', () => {
    expect(classifySpec('catalog:default')).toEqual({ source: 'registry' });
    expect(classifySpec('catalog:react18')).toEqual({ source: 'registry' });
  });
  test('a bare relative tarball path is a file relative to the importer', () => {
    expect(classifySpec('./x.tgz', { from: 'packages/a' })).toEqual({ source: 'file', resolved: 'packages/a/x.tgz' });
    expect(classifySpec('../x.tgz', { from: 'packages/a' })).toEqual({ source: 'file', resolved: 'packages/x.tgz' });
  });
  test('an unparsable tarball or registry URL is not the registry', () => {
    expect(isRegistryTarball('not a url', 'a', '1.0.0', REG)).toBe(false);
    expect(isRegistryTarball('https://registry.npmjs.org/a/-/a-1.0.0.tgz', 'a', '1.0.0', { default: 'not a url', scopes: {} })).toBe(false);
  });
  test('a tarball path with a broken %-escape is not the registry', () => {
    expect(isRegistryTarball('https://registry.npmjs.org/a/-/a-1.0.0%E0%A4%A.tgz', 'a', '1.0.0', REG)).toBe(false);
    expect(isRegistryTarball('https://registry.npmjs.org/a/-/a-1.0.0%2Etgz', 'a', '1.0.0', REG)).toBe(true);
  });
  test('registry.yarnpkg.com is npmjs only at the start of a URL, with or without a path', () => {
    expect(isRegistryTarball('https://registry.npmjs.org/a/-/a-1.0.0.tgz', 'a', '1.0.0', { default: 'https://registry.yarnpkg.com', scopes: {} })).toBe(true);
    const mirror = { default: 'https://mirror.example/https://registry.npmjs.org/', scopes: {} };
    expect(isRegistryTarball('https://mirror.example/https://registry.npmjs.org/a/-/a-1.0.0.tgz', 'a', '1.0.0', mirror)).toBe(true);
    expect(isRegistryTarball('https://mirror.example/https://registry.yarnpkg.com/a/-/a-1.0.0.tgz', 'a', '1.0.0', mirror)).toBe(false);
  });
});

describe('pnpm-lock.yaml nested past the stack: a parse error naming the file', () => {
  const DEEP = 100_000;
  test.each([
    ['unclosed', `lockfileVersion: '9.0'\nx: ${'['.repeat(DEEP)}\n`],
    ['closed', `lockfileVersion: '9.0'\nx: ${'['.repeat(DEEP)}${']'.repeat(DEEP)}\n`],
  ])('%s brackets', (_name, text) => {
    const d = dir(`deep-pnpm-${_name}`, { 'pnpm-lock.yaml': text });
    const error = thrown(() => readLockfile(join(d, 'pnpm-lock.yaml')));
    expect([error.message, error.code]).toEqual([`${join(d, 'pnpm-lock.yaml')}: invalid YAML: nests more than 64 levels deep`, 'ERR_PG_LOCKFILE_PARSE']);
  });
});

test('a pnpm-lock.yaml alias bomb that js-yaml refuses (an !!int tag) is a parse error naming the file, not a ReferenceError', () => {
  let text = `lockfileVersion: !!int 9\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n`;
  for (let i = 1; i < 8; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  const d = dir('alias-bomb', { 'pnpm-lock.yaml': text });
  const error = thrown(() => readLockfile(join(d, 'pnpm-lock.yaml')));
  expect([error.message, error.code]).toEqual([
    `${join(d, 'pnpm-lock.yaml')}: invalid YAML: Excessive alias count indicates a resource exhaustion attack`,
    'ERR_PG_LOCKFILE_PARSE',
  ]);
});

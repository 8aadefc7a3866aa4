import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LockfileError } from '../src/errors';
import { detectLockfile, LOCKFILE_NAMES, packageFromYarnResolution, packagesFromPackageLock, packagesFromPnpmLockfile, packagesFromYarnLock, readLockfile } from '../src/lockfile';
import type { ResolvedPackage } from '../src/types';
import { thrown } from './helpers/errors';

const FIXTURES = join(__dirname, '..', 'fixtures', 'lockfiles');
const tmp = mkdtempSync(join(tmpdir(), 'pg-lockfile-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sorted(packages: ResolvedPackage[]): ResolvedPackage[] {
  return [...packages].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** The SRI integrity of a fixture package, read from the npm lockfile (the same tarballs everywhere). */
const npmLock = JSON.parse(readFileSync(join(FIXTURES, 'npm-v3', 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { name?: string; version?: string; integrity?: string }>;
};
function integrityOf(name: string, version: string): string {
  for (const [path, entry] of Object.entries(npmLock.packages)) {
    if ((entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 13)) === name && entry.version === version && entry.integrity) return entry.integrity;
  }
  throw new Error(`no integrity for ${name}@${version} in the npm fixture`);
}
const I = {
  direct: integrityOf('@pg-fixture/direct', '1.0.0'),
  t100: integrityOf('@pg-fixture/transitive', '1.0.0'),
  t110: integrityOf('@pg-fixture/transitive', '1.1.0'),
  real: integrityOf('@pg-fixture/real', '1.2.0'),
  peer: integrityOf('@pg-fixture/with-peer', '1.0.0'),
  tarballed: integrityOf('@pg-fixture/tarballed', '1.0.0'),
  remote: integrityOf('@pg-fixture/remote-tgz', '1.0.0'),
  localTgz: integrityOf('@pg-fixture/local-tgz', '1.0.0'),
};
const SRI = /^sha512-[A-Za-z0-9+/]{86}==$/;
const LOCAL = 'http://127\\.0\\.0\\.1:\\d+';
const url = (path: string) => expect.stringMatching(new RegExp(`^${LOCAL}${path.replace(/[.]/g, '\\.')}$`));
const COMMIT = '[0-9a-f]{40}';

/**
 * The fixture project as pnpm 10 and npm 11 lock it: the same packages; the git URL's form
 * (`gitResolved`) differs, and so does the dependency declared by the registry's own tarball URL:
 * npm records the URL (a host no configured registry serves here: a tarball); pnpm locks it as
 * the registry package (integrity only) and installs it from the configured registry.
 */
function fixtureProject(gitResolved: string, pm: 'pnpm' | 'npm'): ResolvedPackage[] {
  const tarballed: ResolvedPackage = pm === 'pnpm'
    ? { name: '@pg-fixture/tarballed', version: '1.0.0', source: 'registry', integrity: I.tarballed }
    : { name: '@pg-fixture/tarballed', version: '1.0.0', source: 'tarball', integrity: I.tarballed, resolved: url('/@pg-fixture/tarballed/-/tarballed-1.0.0.tgz') };
  return [
    { name: '@pg-fixture/direct', version: '1.0.0', source: 'registry', integrity: I.direct },
    { name: '@pg-fixture/from-git', version: '1.0.0', source: 'git', resolved: expect.stringMatching(new RegExp(gitResolved)) },
    { name: '@pg-fixture/local-dir', version: '1.0.0', source: 'file', resolved: 'vendor/local-dir' },
    { name: '@pg-fixture/local-tgz', version: '1.0.0', source: 'file', integrity: I.localTgz, resolved: 'file:vendor/local-tgz-1.0.0.tgz' },
    { name: '@pg-fixture/outside', version: '1.0.0', source: 'link', resolved: '../outside' },
    { name: '@pg-fixture/real', version: '1.2.0', source: 'registry', integrity: I.real, alias: 'aliased' },
    { name: '@pg-fixture/remote-tgz', version: '1.0.0', source: 'tarball', integrity: I.remote, resolved: url('/pg-fixture-remote-tgz-1.0.0.tgz') },
    tarballed,
    { name: '@pg-fixture/transitive', version: '1.0.0', source: 'registry', integrity: I.t100 },
    { name: '@pg-fixture/transitive', version: '1.1.0', source: 'registry', integrity: I.t110 },
    { name: '@pg-fixture/with-peer', version: '1.0.0', source: 'registry', integrity: I.peer },
    { name: '@pg-fixture/ws-a', version: '1.0.0', source: 'workspace', resolved: 'packages/ws-a' },
  ];
}

test('fixture integrities are real sha512 SRI strings, distinct per tarball', () => {
  for (const value of Object.values(I)) expect(value).toMatch(SRI);
  expect(new Set(Object.values(I)).size).toBe(Object.keys(I).length);
});

describe('pnpm-lock.yaml v9 (written by pnpm 10)', () => {
  const packages = () => readLockfile(join(FIXTURES, 'pnpm-v9', 'pnpm-lock.yaml'));
  test('exact package set', () => {
    expect(sorted(packages())).toEqual(fixtureProject(`^${LOCAL}/from-git\\.git#${COMMIT}$`, 'pnpm'));
  });
  test('never reports the root project', () => {
    expect(packages().some((p) => p.name === 'lockfile-fixture')).toBe(false);
  });
  test('the fixture really has peer and patch suffixes, reported once without them', () => {
    const text = readFileSync(join(FIXTURES, 'pnpm-v9', 'pnpm-lock.yaml'), 'utf8');
    expect(text).toMatch(/'@pg-fixture\/direct@1\.0\.0\(patch_hash=[0-9a-f]+\)':/);
    expect(text).toContain("'@pg-fixture/with-peer@1.0.0(@pg-fixture/transitive@1.0.0)':");
    expect(packages().filter((p) => p.name === '@pg-fixture/direct' || p.name === '@pg-fixture/with-peer').map((p) => p.version)).toEqual(['1.0.0', '1.0.0']);
  });
});

test('pnpm-lock.yaml is read as YAML, as pnpm reads it, even when it starts with "# yarn lockfile v1"', () => {
  // Yarn's parseSyml would read this file with Yarn's v1 grammar: `integrity "sha512-…"` a key and
  // its value, `evil 1.0.0` a dependency. In YAML (pnpm) both are plain strings.
  const body = [
    'lockfileVersion: "9.0"', '', 'importers:', '  .:', '    dependencies:', '      left-pad:', '        specifier: 1.3.0', '        version: 1.3.0', '',
    'packages:', '  left-pad@1.3.0:', '    resolution:', `      integrity "${I.direct}"`, '',
    'snapshots:', '  left-pad@1.3.0:', '    dependencies:', '      evil 1.0.0', '',
  ].join('\n');
  const read = (name: string, text: string) => {
    const dir = join(tmp, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'pnpm-lock.yaml'), text);
    try {
      return readLockfile(join(dir, 'pnpm-lock.yaml'));
    } catch (error) {
      return (error as Error).message.replace(dir, '<dir>');
    }
  };
  const plain = read('yarn-header-plain', body);
  expect(read('yarn-header', `# yarn lockfile v1\n${body}`)).toEqual(plain);
  expect(JSON.stringify(plain)).not.toContain(I.direct);
  expect(JSON.stringify(plain)).not.toContain('evil');
});

test('pnpm-lock.yaml: a key written twice is an error, as for pnpm; a document of comments only is an empty lockfile', () => {
  const dir = join(tmp, 'pnpm-twice');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'pnpm-lock.yaml');
  const lock = (packages: string) => `lockfileVersion: '9.0'\nimporters:\n  .: {}\npackages:\n${packages}snapshots: {}\n`;
  writeFileSync(file, lock(`  left-pad@1.3.0:\n    resolution: {integrity: ${I.direct}}\n  left-pad@1.3.0:\n    resolution: {integrity: ${I.t100}}\n`));
  expect(thrown(LockfileError, () => readLockfile(file)).message).toMatch(/pnpm-lock\.yaml: invalid YAML at line 7, column 3: Map keys must be unique/);
  // As an empty lockfile: no packages (`check` then refuses it when package.json declares dependencies).
  writeFileSync(file, '# nothing here\n');
  expect(readLockfile(file)).toEqual([]);
});

describe('pnpm-lock.yaml v6 (hand-written, pnpm 8 shape)', () => {
  test('exact package set: /name@version keys, peer suffixes, name/version fields, hosted git', () => {
    expect(sorted(readLockfile(join(FIXTURES, 'pnpm-v6', 'pnpm-lock.yaml')))).toEqual([
      { name: '@pg-fixture/direct', version: '1.0.0', source: 'registry', integrity: I.direct },
      { name: '@pg-fixture/local-dir', version: '1.0.0', source: 'file', resolved: 'vendor/local-dir' },
      { name: '@pg-fixture/outside', version: '1.0.0', source: 'link', resolved: '../outside' },
      { name: '@pg-fixture/real', version: '1.2.0', source: 'registry', integrity: I.real, alias: 'aliased' },
      { name: '@pg-fixture/transitive', version: '1.0.0', source: 'registry', integrity: I.t100 },
      { name: '@pg-fixture/transitive', version: '1.1.0', source: 'registry', integrity: I.t110 },
      { name: '@pg-fixture/with-peer', version: '1.0.0', source: 'registry', integrity: I.peer },
      { name: '@pg-fixture/ws-a', version: '1.0.0', source: 'workspace', resolved: 'packages/ws-a' },
      { name: 'is-negative', version: '2.1.0', source: 'git', resolved: 'https://codeload.github.com/kevva/is-negative/tar.gz/1d7e288222b53a0cab90a331f1865220ec29560c' },
    ]);
  });
});

describe('yarn.lock (written by Yarn 4)', () => {
  test('exact package set; the checksum is no npm integrity', () => {
    expect(sorted(readLockfile(join(FIXTURES, 'yarn-berry', 'yarn.lock')))).toEqual([
      { name: '@pg-fixture/direct', version: '1.0.0', source: 'registry' },
      { name: '@pg-fixture/from-git', version: '1.0.0', source: 'git', resolved: expect.stringMatching(new RegExp(`^git\\+${LOCAL}/from-git\\.git#commit=${COMMIT}$`)) },
      { name: '@pg-fixture/local-dir', version: '1.0.0', source: 'file', resolved: 'vendor/local-dir' },
      { name: '@pg-fixture/local-tgz', version: '1.0.0', source: 'file', resolved: 'vendor/local-tgz-1.0.0.tgz' },
      { name: '@pg-fixture/outside', version: '1.0.0', source: 'link', resolved: '../outside' },
      { name: '@pg-fixture/real', version: '1.2.0', source: 'registry', alias: 'aliased' },
      { name: '@pg-fixture/remote-tgz', version: '1.0.0', source: 'tarball', resolved: url('/pg-fixture-remote-tgz-1.0.0.tgz') },
      // The .yarnrc.yml's own registry URL of @pg-fixture/tarballed@1.0.0: that registry package (as pnpm locks it).
      { name: '@pg-fixture/tarballed', version: '1.0.0', source: 'registry' },
      { name: '@pg-fixture/transitive', version: '1.0.0', source: 'registry' },
      { name: '@pg-fixture/transitive', version: '1.1.0', source: 'registry' },
      { name: '@pg-fixture/with-peer', version: '1.0.0', source: 'registry' },
      { name: '@pg-fixture/ws-a', version: '1.0.0', source: 'workspace', resolved: 'packages/ws-a' },
    ]);
  });
});

test('yarn: the patch: entry and the plain npm: entry of the same package are one package', () => {
  const text = readFileSync(join(FIXTURES, 'yarn-berry', 'yarn.lock'), 'utf8');
  expect(text).toContain('resolution: "@pg-fixture/direct@patch:@pg-fixture/direct@npm%3A1.0.0#./patches/direct.patch::');
  expect(text).toContain('resolution: "@pg-fixture/direct@npm:1.0.0"');
  expect(readLockfile(join(FIXTURES, 'yarn-berry', 'yarn.lock')).filter((p) => p.name === '@pg-fixture/direct')).toEqual([
    { name: '@pg-fixture/direct', version: '1.0.0', source: 'registry' },
  ]);
});

describe('package-lock.json v3 (written by npm 11)', () => {
  test('exact package set', () => {
    expect(sorted(readLockfile(join(FIXTURES, 'npm-v3', 'package-lock.json')))).toEqual(fixtureProject(`^git\\+${LOCAL}/from-git\\.git#${COMMIT}$`, 'npm'));
  });

  test('dedupes the same name@version installed at several paths; a configured registry URL not declared as a spec is registry', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'x', workspaces: ['packages/*'] },
        'node_modules/a': { version: '1.0.0', integrity: I.direct },
        'node_modules/b/node_modules/a': { version: '1.0.0', integrity: I.direct },
        'packages/p/node_modules/a': { version: '1.0.0', integrity: I.direct },
        'node_modules/c': { version: '2.0.0', resolved: 'https://registry.example/c/-/c-2.0.0.tgz', integrity: I.real },
        'node_modules/d': { version: '1.0.0', resolved: 'https://files.example/d.tgz' },
        'node_modules/p': { resolved: 'packages/p', link: true },
        'packages/p': { version: '0.1.0' },
        'node_modules/e': { version: '1.0.0', resolved: 'github:o/e#abc' },
      },
    };
    expect(sorted(packagesFromPackageLock(lock, tmp, undefined, { registries: { default: 'https://registry.example/', scopes: {} } }))).toEqual([
      { name: 'a', version: '1.0.0', source: 'registry', integrity: I.direct },
      { name: 'c', version: '2.0.0', source: 'registry', integrity: I.real },
      { name: 'd', version: '1.0.0', source: 'tarball', resolved: 'https://files.example/d.tgz' },
      { name: 'e', version: '1.0.0', source: 'git', resolved: 'github:o/e#abc' },
      { name: 'p', version: '0.1.0', source: 'workspace', resolved: 'packages/p' },
    ]);
  });
});

describe('pnpm in-memory lockfile (preResolution wantedLockfile shape)', () => {
  test('peer suffixes in packages keys are stripped and deduped; snapshots merged in are fine', () => {
    const lockfile = {
      lockfileVersion: '9.0',
      importers: {
        '.': {
          dependencies: { aliased: { specifier: 'npm:@s/real@^1', version: '@s/real@1.0.0' }, w: { specifier: '^1', version: '1.0.0(react@18.0.0)' } },
        },
      },
      packages: {
        'w@1.0.0(react@18.0.0)': { resolution: { integrity: I.peer }, dependencies: { react: '18.0.0' } },
        'w@1.0.0(react@17.0.0)': { resolution: { integrity: I.peer }, dependencies: { react: '17.0.0' } },
        'react@18.0.0': { resolution: { integrity: I.t100 } },
        'react@17.0.0': { resolution: { integrity: I.t110 } },
        '@s/real@1.0.0': { resolution: { integrity: I.real } },
        '@s/reg@2.0.0': { resolution: { integrity: I.direct, tarball: 'https://npm.corp.example/@s/reg/-/reg-2.0.0.tgz' } },
      },
    };
    const registries = { default: 'https://registry.npmjs.org/', scopes: { '@s': 'https://npm.corp.example/' } };
    expect(sorted(packagesFromPnpmLockfile(lockfile, tmp, undefined, { registries }))).toEqual([
      { name: '@s/real', version: '1.0.0', source: 'registry', integrity: I.real, alias: 'aliased' },
      { name: '@s/reg', version: '2.0.0', source: 'registry', integrity: I.direct },
      { name: 'react', version: '17.0.0', source: 'registry', integrity: I.t110 },
      { name: 'react', version: '18.0.0', source: 'registry', integrity: I.t100 },
      { name: 'w', version: '1.0.0', source: 'registry', integrity: I.peer },
    ]);
  });
});

test('pnpm runtimes (node@runtime:…, variations resolution) are no registry packages', () => {
  const lockfile = {
    lockfileVersion: '9.0',
    importers: { '.': { devDependencies: { node: { specifier: 'runtime:^24', version: 'runtime:24.4.1' } } } },
    packages: {
      'node@runtime:24.4.1': {
        hasBin: true,
        resolution: { type: 'variations', variants: [{ targets: [{ os: 'linux', cpu: 'x64' }], resolution: { type: 'binary', url: 'https://nodejs.org/download/release/v24.4.1/node-v24.4.1-linux-x64.tar.gz', integrity: 'sha256-x', bin: 'bin/node' } }] },
      },
    },
  };
  expect(packagesFromPnpmLockfile(lockfile, tmp)).toEqual([
    { name: 'node', version: 'runtime:24.4.1', source: 'tarball', resolved: 'https://nodejs.org/download/release/v24.4.1/node-v24.4.1-linux-x64.tar.gz' },
  ]);
});

test('an empty in-memory lockfile (pnpm 12 without a wanted lockfile) has no packages; a missing version is an error', () => {
  expect(packagesFromPnpmLockfile({}, tmp)).toEqual([]);
  expect(() => packagesFromPnpmLockfile({ packages: {} }, tmp, 'wanted')).toThrow(expect.objectContaining({ name: 'LockfileError', code: 'ERR_PG_LOCKFILE_UNSUPPORTED', file: 'wanted' }));
});

describe('detection', () => {
  test('LOCKFILE_NAMES order and detectLockfile', () => {
    expect(LOCKFILE_NAMES).toEqual(['pnpm-lock.yaml', 'yarn.lock', 'npm-shrinkwrap.json', 'package-lock.json', 'bun.lock']);
    expect(detectLockfile(join(FIXTURES, 'pnpm-v9'))).toEqual({ path: join(FIXTURES, 'pnpm-v9', 'pnpm-lock.yaml'), kind: 'pnpm' });
    expect(detectLockfile(join(FIXTURES, 'yarn-berry'))).toEqual({ path: join(FIXTURES, 'yarn-berry', 'yarn.lock'), kind: 'yarn' });
    expect(detectLockfile(join(FIXTURES, 'npm-v3'))).toEqual({ path: join(FIXTURES, 'npm-v3', 'package-lock.json'), kind: 'npm' });
    const dir = join(tmp, 'detect');
    mkdirSync(dir, { recursive: true });
    expect(detectLockfile(dir)).toBeUndefined();
    writeFileSync(join(dir, 'npm-shrinkwrap.json'), '{}');
    expect(detectLockfile(dir)).toEqual({ path: join(dir, 'npm-shrinkwrap.json'), kind: 'npm' });
    writeFileSync(join(dir, 'yarn.lock'), '');
    expect(detectLockfile(dir)?.kind).toBe('yarn');
  });
});

describe('errors name the file and the problem', () => {
  function write(name: string, text: string): string {
    const dir = mkdtempSync(join(tmp, 'err-'));
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }
  test('malformed YAML with its line', () => {
    const path = write('pnpm-lock.yaml', "lockfileVersion: '9.0'\nimporters:\n  .: {\npackages: [\n");
    const e = thrown(LockfileError, () => readLockfile(path));
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/invalid YAML at line \d+/);
    expect(e.file).toBe(path);
  });
  test('unsupported pnpm lockfileVersion', () => {
    const path = write('pnpm-lock.yaml', 'lockfileVersion: 5.4\npackages: {}\n');
    expect(thrown(LockfileError, () => readLockfile(path)).message).toBe(`${path}: unsupported pnpm lockfileVersion 5.4 (supported: 6.0, 6.1, 9.0)`);
  });
  test('pnpm package without resolution', () => {
    const path = write('pnpm-lock.yaml', "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {}\n");
    expect(thrown(LockfileError, () => readLockfile(path)).message).toBe(`${path}: package "a@1.0.0" has no resolution`);
  });
  test('malformed JSON with line and column', () => {
    const path = write('package-lock.json', '{\n  "lockfileVersion": 3,\n  "packages": {\n    "": {}\n    "x": 1\n  }\n}\n');
    const e = thrown(LockfileError, () => readLockfile(path));
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/invalid JSON at line 5, column 5/);
  });
  test('package-lock lockfileVersion 1', () => {
    const path = write('package-lock.json', JSON.stringify({ name: 'x', lockfileVersion: 1, dependencies: { a: { version: '1.0.0' } } }));
    const e = thrown(LockfileError, () => readLockfile(path));
    expect(e.message).toContain(path);
    expect(e.message).toContain('lockfileVersion 1');
  });
  test('package-lock entry without version', () => {
    const path = write('package-lock.json', JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/a': { integrity: I.direct } } }));
    expect(thrown(LockfileError, () => readLockfile(path)).message).toBe(`${path}: package "node_modules/a" has no version`);
  });
  test('Yarn 1 lockfile', () => {
    const path = write('yarn.lock', '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\nleft-pad@^1.3.0:\n  version "1.3.0"\n');
    const e = thrown(LockfileError, () => readLockfile(path));
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/Yarn 1 .*only Yarn Berry/);
  });
  test('malformed syml', () => {
    const path = write('yarn.lock', '__metadata:\n  version: 8\n\n"a@npm:^1":\n  version: 1.0.0\n resolution: "a@npm:1.0.0"\n');
    const e = thrown(LockfileError, () => readLockfile(path));
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/invalid yarn\.lock syntax.*line \d+/);
  });
  test('yarn entry without resolution', () => {
    const path = write('yarn.lock', '__metadata:\n  version: 8\n\n"a@npm:^1":\n  version: 1.0.0\n');
    expect(thrown(LockfileError, () => readLockfile(path)).message).toBe(`${path}: entry "a@npm:^1" has no resolution`);
  });
  test('missing file and unknown name', () => {
    expect(thrown(LockfileError, () => readLockfile(join(tmp, 'nope', 'yarn.lock'))).message).toContain('no such file');
    expect(thrown(LockfileError, () => readLockfile(write('deps.lock', ''))).message).toContain('cannot tell the lockfile kind');
  });
});

test('packageFromYarnResolution: one locator as a Yarn plugin sees it', () => {
  expect(packageFromYarnResolution('@s/real@npm:1.2.0', '1.2.0', tmp, ['aliased@npm:@s/real@^1.0.0'])).toEqual({ name: '@s/real', version: '1.2.0', source: 'registry', alias: 'aliased' });
  expect(packageFromYarnResolution('root@workspace:.', '0.0.0-use.local', tmp)).toBeUndefined();
  expect(packageFromYarnResolution('x@https://h.example/x.tgz', '1.0.0', tmp)).toEqual({ name: 'x', version: '1.0.0', source: 'tarball', resolved: 'https://h.example/x.tgz' });
  expect(packageFromYarnResolution('nonsense', '1.0.0', tmp)).toBeNull();
});

describe('yarn specifics', () => {
  test('patch: takes the inner locator; workspace root skipped; aliases from descriptors', () => {
    const text = [
      '__metadata:',
      '  version: 8',
      '',
      '"resolve@npm:^1.22.0":',
      '  version: 1.22.8',
      '  resolution: "resolve@npm:1.22.8"',
      '  languageName: node',
      '  linkType: hard',
      '',
      '"resolve@patch:resolve@npm%3A^1.22.0#optional!builtin<compat/resolve>":',
      '  version: 1.22.8',
      '  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"',
      '  languageName: node',
      '  linkType: hard',
      '',
      '"lp@npm:left-pad@1.3.0, left-pad@npm:^1.3.0":',
      '  version: 1.3.0',
      '  resolution: "left-pad@npm:1.3.0"',
      '',
      '"g@https://github.com/o/g.git#v1":',
      '  version: 2.0.0',
      '  resolution: "g@https://github.com/o/g.git#commit=0123456789abcdef0123456789abcdef01234567"',
      '',
      '"root@workspace:.":',
      '  version: 0.0.0-use.local',
      '  resolution: "root@workspace:."',
      '',
    ].join('\n');
    expect(sorted(packagesFromYarnLock(text, tmp))).toEqual([
      { name: 'g', version: '2.0.0', source: 'git', resolved: 'https://github.com/o/g.git#commit=0123456789abcdef0123456789abcdef01234567' },
      { name: 'left-pad', version: '1.3.0', source: 'registry', alias: 'lp' },
      { name: 'resolve', version: '1.22.8', source: 'registry' },
    ]);
  });
});

describe('package-lock.json v2', () => {
  test('npm 7/8 lockfileVersion 2 (packages + legacy dependencies) reads like v3', () => {
    const strip = (list: ResolvedPackage[], dir: string) =>
      sorted(list).map((p) => (p.resolved ? { ...p, resolved: p.resolved.replace(join(FIXTURES, dir), '<dir>') } : p));
    const v2 = readLockfile(join(FIXTURES, 'npm-v2', 'package-lock.json'));
    expect(JSON.parse(readFileSync(join(FIXTURES, 'npm-v2', 'package-lock.json'), 'utf8')).lockfileVersion).toBe(2);
    expect(v2.length).toBeGreaterThan(5);
    expect(strip(v2, 'npm-v2')).toEqual(strip(readLockfile(join(FIXTURES, 'npm-v3', 'package-lock.json')), 'npm-v3'));
  });
});

/**
 * What a crafted lockfile must not talk `check` out of (issue 8 items 3–5, SPEC Verdicts and
 * CLI): registry identity, decoy lockfiles, the installed name, malformed entries.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { readProjectLockfiles } from '../src/cli/check';
import { LockfileError } from '../src/errors';
import { packagesFromPackageLock, packagesFromPnpmLockfile, packagesFromYarnLock } from '../src/lockfile/index';
import type { Registries } from '../src/lockfile/source';
import { runCli } from './helpers/cli';
import { tempDirs } from './helpers/temp';

const SHA = (n: number) => 'sha512-' + Buffer.alloc(64, n).toString('base64');
const SHA1_OTHER = 'sha1-' + Buffer.alloc(20, 9).toString('base64');
const REG: Registries = { default: 'https://registry.npmjs.org/', scopes: {} };
const tempDir = tempDirs();

const RECORDS = [
  { name: 'good-pkg', version: '1.0.0', integrity: SHA(1), repository: { url: 'https://github.com/acme/good', commit: 'a'.repeat(40), status: 'attested' }, rebuild: { verdict: 'reproducible' }, scorecard: { score: 9 } },
  { name: 'weak-pkg', version: '2.0.0', integrity: SHA(2), repository: { url: 'https://github.com/acme/weak', status: 'claimed' }, rebuild: { verdict: 'reproducible' }, scorecard: { score: 1 } },
];

interface Entry {
  path: string;
  name?: string;
  version: string;
  integrity?: string;
  resolved?: string;
}

function packageLock(entries: Entry[], rootDeps: Record<string, string> = {}): string {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: rootDeps } };
  for (const { path, ...rest } of entries) packages[path] = rest;
  return JSON.stringify({ name: 'app', lockfileVersion: 3, packages });
}

let feedDir: string;
let publicKey: string;

beforeAll(async () => {
  feedDir = tempDir('pg-trust-feed-');
  const keygen = await runCli(feedDir, ['feed', 'keygen', '--out-dir', 'keys']);
  publicKey = keygen.stdout.trim();
  writeFileSync(join(feedDir, 'records.ndjson'), RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const built = await runCli(feedDir, ['feed', 'build', '--records', 'records.ndjson', '--key', 'keys/feed.key', '--out', 'feed']);
  expect(built.code).toBe(0);
});

/** A project using the shared feed, with the given files. */
function project(files: Record<string, string>, extraPolicy = ''): string {
  const dir = tempDir('pg-trust-');
  const policy = `mode: block\nfeed:\n  source: ${join(feedDir, 'feed')}\n  publicKeys: ["${publicKey}"]\nrules:\n  repository: { require: claimed }\n  rebuild: { require: reproducible }\n  scorecard: { minScore: 5 }\nunknown: warn\n${extraPolicy}`;
  writeFileSync(join(dir, '.provenancerc'), policy);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function check(dir: string) {
  const result = await runCli(dir, ['check', '--format', 'json'], { HOME: dir });
  const report = result.code === 2 ? undefined : (JSON.parse(result.stdout) as { packages: { name: string; verdict: string; findings: { rule: string }[] }[] });
  return { ...result, report, rules: (name: string) => report?.packages.find((p) => p.name === name)?.findings.map((f) => f.rule).sort() };
}

describe('registry identity (a registry-shaped URL on another host is a tarball)', () => {
  test('readers: only the configured registry is registry', () => {
    const lock = JSON.parse(packageLock([{ path: 'node_modules/good-pkg', version: '1.0.0', integrity: SHA(1), resolved: 'http://other-host/good-pkg/-/good-pkg-1.0.0.tgz' }]));
    expect(packagesFromPackageLock(lock, '/p', 'package-lock.json', { registries: REG })[0]).toMatchObject({ source: 'tarball', resolved: 'http://other-host/good-pkg/-/good-pkg-1.0.0.tgz' });
    expect(packagesFromPackageLock(lock, '/p', 'package-lock.json', { registries: { default: 'http://other-host/', scopes: {} } })[0]).toMatchObject({ source: 'registry' });
    const pnpm = { lockfileVersion: '9.0', importers: {}, packages: { 'good-pkg@1.0.0': { resolution: { integrity: SHA(1), tarball: 'http://other-host/good-pkg/-/good-pkg-1.0.0.tgz' } } } };
    expect(packagesFromPnpmLockfile(pnpm, '/p', 'pnpm-lock.yaml', { registries: REG })[0]).toMatchObject({ source: 'tarball' });
    const yarn = `__metadata:\n  version: 8\n\n"good-pkg@npm:^1.0.0":\n  version: 1.0.0\n  resolution: "good-pkg@npm:1.0.0::__archiveUrl=http%3A%2F%2Fother-host%2Fgood-pkg%2F-%2Fgood-pkg-1.0.0.tgz"\n`;
    expect(packagesFromYarnLock(yarn, '/p', 'yarn.lock', { registries: REG })[0]).toMatchObject({ source: 'tarball' });
  });

  test('check: a source finding for the other host; the registry URL passes', async () => {
    const other = await check(project({ 'package-lock.json': packageLock([{ path: 'node_modules/good-pkg', version: '1.0.0', integrity: SHA(1), resolved: 'http://other-host/good-pkg/-/good-pkg-1.0.0.tgz' }]) }));
    expect(other.rules('good-pkg')).toEqual(['source']);
    const registry = await check(project({ 'package-lock.json': packageLock([{ path: 'node_modules/good-pkg', version: '1.0.0', integrity: SHA(1), resolved: 'https://registry.npmjs.org/good-pkg/-/good-pkg-1.0.0.tgz' }]) }));
    expect(registry.code).toBe(0);
    expect(registry.report!.packages[0]).toMatchObject({ name: 'good-pkg', verdict: 'pass' });
  });

  test('check: a tarball claiming a known name@version with other bytes (sha1 of another tarball) is rule integrity', async () => {
    const dir = project({ 'package-lock.json': packageLock([{ path: 'node_modules/good-pkg', version: '1.0.0', integrity: SHA1_OTHER, resolved: 'https://registry.npmjs.org/weak-pkg/-/weak-pkg-2.0.0.tgz' }]) });
    const result = await check(dir);
    expect(result.code).toBe(1);
    // npm fetches that URL: weak-pkg@2.0.0 from the registry is what lands at good-pkg's path, judged as such.
    expect(result.report!.packages.map((p) => p.name)).toEqual(['weak-pkg']);
    expect(result.rules('weak-pkg')).toContain('integrity');
  });
});

describe('decoy lockfiles: check reads every lockfile', () => {
  const blocked = packageLock([{ path: 'node_modules/weak-pkg', version: '2.0.0', integrity: SHA(2) }], { 'weak-pkg': '2.0.0' });
  const manifest = JSON.stringify({ name: 'app', dependencies: { 'weak-pkg': '2.0.0' } });

  test('an empty pnpm-lock.yaml beside the real lockfile is exit 2 naming it', async () => {
    const dir = project({ 'package.json': manifest, 'package-lock.json': blocked, 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" });
    const result = await check(dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(join(dir, 'pnpm-lock.yaml'));
    expect(() => readProjectLockfiles([join(dir, 'pnpm-lock.yaml')], { HOME: dir })).toThrow(expect.objectContaining({ code: 'ERR_PG_LOCKFILE_EMPTY' }));
  });

  test('an empty yarn.lock (metadata only) or package-lock.json is a decoy too', async () => {
    const yarn = await check(project({ 'package.json': manifest, 'package-lock.json': blocked, 'yarn.lock': '__metadata:\n  version: 8\n' }));
    expect(yarn.code).toBe(2);
    const npm = await check(project({ 'package.json': manifest, 'pnpm-lock.yaml': "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      weak-pkg: {specifier: 2.0.0, version: 2.0.0}\npackages:\n  weak-pkg@2.0.0:\n    resolution: {integrity: " + SHA(2) + '}\n', 'package-lock.json': packageLock([]) }));
    expect(npm.code).toBe(2);
    expect(npm.stderr).toContain('package-lock.json');
  });

  test('an unreadable lockfile beside the real one is exit 2', async () => {
    const result = await check(project({ 'package-lock.json': blocked, 'yarn.lock': '# yarn lockfile v1\n' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('yarn.lock');
  });

  test('without declared dependencies an empty lockfile hides nothing: the union is checked', async () => {
    const result = await check(project({ 'package-lock.json': blocked, 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" }));
    expect(result.code).toBe(1);
    expect(result.report!.packages.map((p) => p.name)).toEqual(['weak-pkg']);
  });

  test('npm-shrinkwrap.json is read even when package-lock.json exists', async () => {
    const good = packageLock([{ path: 'node_modules/good-pkg', version: '1.0.0', integrity: SHA(1) }]);
    const result = await check(project({ 'package-lock.json': good, 'npm-shrinkwrap.json': blocked }));
    expect(result.code).toBe(1);
    expect(result.report!.packages.map((p) => `${p.name}:${p.verdict}`).sort()).toEqual(['good-pkg:pass', 'weak-pkg:block']);
  });
});

describe('name spoofing: the installed name decides', () => {
  test('package-lock: a name field that disagrees with the path is not trusted unless a parent declares the alias (or npm fetches by it: no resolved)', () => {
    const resolved = 'https://registry.npmjs.org/@pg-fixture/blocked/-/blocked-1.0.0.tgz';
    const spoof = JSON.parse(packageLock([{ path: 'node_modules/@pg-fixture/blocked', name: '@acme/internal', version: '1.0.0', integrity: SHA(1), resolved }]));
    expect(packagesFromPackageLock(spoof, '/p', 'package-lock.json', { registries: REG })).toEqual([{ name: '@pg-fixture/blocked', version: '1.0.0', source: 'registry', integrity: SHA(1) }]);
    // Without resolved npm 11 installs `@acme/internal@1.0.0` from the registry at that path (npm-gate.test.ts): that is the package.
    const fetchedByName = JSON.parse(packageLock([{ path: 'node_modules/@pg-fixture/blocked', name: '@acme/internal', version: '1.0.0', integrity: SHA(1) }]));
    expect(packagesFromPackageLock(fetchedByName, '/p', 'package-lock.json', { registries: REG })).toEqual([{ name: '@acme/internal', version: '1.0.0', source: 'registry', integrity: SHA(1), alias: '@pg-fixture/blocked' }]);
    const alias = JSON.parse(packageLock([{ path: 'node_modules/nice', name: '@pg-fixture/blocked', version: '1.0.0', integrity: SHA(1) }], { nice: 'npm:@pg-fixture/blocked@^1.0.0' }));
    expect(packagesFromPackageLock(alias, '/p', 'package-lock.json', { registries: REG })).toEqual([{ name: '@pg-fixture/blocked', version: '1.0.0', source: 'registry', integrity: SHA(1), alias: 'nice' }]);
  });

  test('package-lock: a registry URL of another package than the key is that registry package, never the key\'s', () => {
    const lock = JSON.parse(packageLock([{ path: 'node_modules/@acme/internal', version: '1.0.0', integrity: SHA(1), resolved: 'https://registry.npmjs.org/@pg-fixture/blocked/-/blocked-2.0.0.tgz' }]));
    expect(packagesFromPackageLock(lock, '/p', 'package-lock.json', { registries: REG })).toEqual([{ name: '@pg-fixture/blocked', version: '2.0.0', source: 'registry', integrity: SHA(1), alias: '@acme/internal' }]);
  });

  test('pnpm-lock: the key names the package, not the entry name field', () => {
    const lockfile = { lockfileVersion: '9.0', importers: {}, packages: { '@pg-fixture/blocked@1.0.0': { name: '@acme/internal', resolution: { integrity: SHA(1) } } } };
    expect(packagesFromPnpmLockfile(lockfile, '/p', 'pnpm-lock.yaml', { registries: REG })[0]).toMatchObject({ name: '@pg-fixture/blocked', source: 'registry' });
  });

  test('yarn.lock: the npm: locator names the version Yarn fetches, not the version field', () => {
    const yarn = `__metadata:\n  version: 8\n\n"weak-pkg@npm:^2.0.0":\n  version: 1.0.0\n  resolution: "weak-pkg@npm:2.0.0"\n`;
    expect(packagesFromYarnLock(yarn, '/p', 'yarn.lock', { registries: REG })[0]).toMatchObject({ name: 'weak-pkg', version: '2.0.0' });
  });

  test('check: an entry without an integrity never borrows the integrity of another entry of the same name@version', async () => {
    const dir = project({
      'package-lock.json': packageLock([
        { path: 'node_modules/good-pkg', version: '1.0.0' },
        { path: 'node_modules/good-pkg/node_modules/good-pkg', version: '1.0.0', integrity: SHA(1) },
      ], { 'good-pkg': '1.0.0' }),
    });
    const r = await check(dir);
    expect(r.code).toBe(1);
    const entries = r.report!.packages.filter((p) => p.name === 'good-pkg');
    expect(entries.map((p) => p.verdict).sort()).toEqual(['block', 'pass']);
    expect(entries.find((p) => p.verdict === 'block')!.findings.map((f) => f.rule)).toContain('integrity');
  });

  test('check: an entry without resolved is the package its name field names (npm fetches that one at the path)', async () => {
    const dir = project({ 'package-lock.json': packageLock([{ path: 'node_modules/good-pkg', name: 'weak-pkg', version: '2.0.0', integrity: SHA(1) }], { 'good-pkg': '2.0.0' }) }, 'exclude: ["good-pkg"]\n');
    const r = await check(dir);
    expect(r.code).toBe(1);
    expect(r.report!.packages).toEqual([expect.objectContaining({ name: 'weak-pkg', version: '2.0.0', verdict: 'block' })]);
    expect(r.report!.packages[0]!.findings.map((f) => f.rule)).toContain('integrity');
  });

  test('check: exclude ["@acme/*"] does not skip a blocked package posing as @acme/internal', async () => {
    // With a resolved URL npm fetches that tarball (weak-pkg's) under the path's name: the name field is free text.
    const lock = packageLock([{ path: 'node_modules/weak-pkg', name: '@acme/internal', version: '2.0.0', integrity: SHA(2), resolved: 'https://registry.npmjs.org/weak-pkg/-/weak-pkg-2.0.0.tgz' }]);
    const result = await check(project({ 'package-lock.json': lock }, 'exclude: ["@acme/*"]\n'));
    expect(result.code).toBe(1);
    expect(result.report!.packages).toEqual([expect.objectContaining({ name: 'weak-pkg', verdict: 'block' })]);
  });
});

describe('malformed names and versions are ERR_PG_LOCKFILE_ENTRY', () => {
  const entryError = expect.objectContaining({ code: 'ERR_PG_LOCKFILE_ENTRY', file: 'package-lock.json' });
  test.each<[string, Entry]>([
    ['a shell command as version', { path: 'node_modules/good-pkg', version: 'latest; rm -rf /', integrity: SHA(1) }],
    ['a name that is no npm name', { path: 'node_modules/@@@', version: '1.0.0', integrity: SHA(1) }],
    ['a path climbing out of node_modules', { path: 'node_modules/../../etc', version: '1.0.0', integrity: SHA(1) }],
    ['an alias field with control characters', { path: 'node_modules/x', name: 'real\u001b[2J', version: '1.0.0' }],
  ])('package-lock: %s', (_, entry) => {
    const rootDeps: Record<string, string> = entry.name ? { x: `npm:${entry.name}@1.0.0` } : {};
    const lock = JSON.parse(packageLock([entry], rootDeps));
    expect(() => packagesFromPackageLock(lock, '/p', 'package-lock.json', { registries: REG })).toThrow(entryError);
  });

  test('pnpm-lock and yarn.lock entries too', () => {
    const pnpm = { lockfileVersion: '9.0', importers: {}, packages: { 'good-pkg@latest; rm -rf /': { resolution: { integrity: SHA(1) } } } };
    expect(() => packagesFromPnpmLockfile(pnpm, '/p', 'pnpm-lock.yaml', { registries: REG })).toThrow(expect.objectContaining({ code: 'ERR_PG_LOCKFILE_ENTRY', file: 'pnpm-lock.yaml' }));
    const yarn = `__metadata:\n  version: 8\n\n"x@npm:^1":\n  version: 1.0.0\n  resolution: "@@@@npm:1.0.0"\n`;
    expect(() => packagesFromYarnLock(yarn, '/p', 'yarn.lock', { registries: REG })).toThrow(LockfileError);
  });

  test('check: exit 2 naming the file and the entry', async () => {
    const dir = project({ 'package-lock.json': packageLock([{ path: 'node_modules/good-pkg', version: 'latest; rm -rf /', integrity: SHA(1) }]) });
    const result = await check(dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('node_modules/good-pkg');
    expect(result.stderr).toContain('package-lock.json');
  });
});

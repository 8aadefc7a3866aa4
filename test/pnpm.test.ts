/**
 * The pnpm hook end to end: real pnpm 10.34 and 12.21 against a local verdaccio, the built
 * bundle as the project's pnpmfile, a signed feed, and fixtures whose postinstall leaves a
 * marker. A blocked package must have no files under node_modules, no marker, the lockfile
 * must be unchanged and the exit code non-zero.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cloneWithUnguardedLockfile, createPnpmProject, ensurePnpmBundle, fixture, markerDir, markerScript, PNPM_VERSIONS, runCommand, type PnpmProject, type PnpmProjectOptions, type PnpmVersion, unwrapPnpmOutput } from './helpers/pm';
import { generateKeyPair } from '../src/feed/keys';
import { initPnpm } from '../src/init/pnpm';
import { fixtureFeed, fixturePolicy, type FixturePolicyOptions } from './helpers/install-fixtures';
import { startRegistry, type PublishedPackage, type TestRegistry } from './helpers/registry';
import { pack } from './helpers/tarball';
import { CLI } from './helpers/npm';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const FIXTURES = ['@pg-fixture/good', '@pg-fixture/bad', '@pg-fixture/parent', '@pg-fixture/mid', '@pg-fixture/tarb', '@pg-fixture/gitdep', '@pg-fixture/other'];

let registry: TestRegistry;
let markers: string;
let feedPath: string;
let publicKey: string;
let gitUrl: string;
let posingGitUrl: string;
let tarballUrl: string;
/** A tarball on a host of its own whose package.json claims the name init's config excludes (the guard's own pnpm hook). */
let posingTarballUrl: string;
let tarballHost: Server | undefined;
const published = new Map<string, PublishedPackage>();

beforeAll(async () => {
  const [reg] = await Promise.all([startRegistry(), ensurePnpmBundle()]);
  registry = reg;
  markers = markerDir();
  const pub = async (pkg: Parameters<typeof fixture>[1]) => published.set(pkg.name, await registry.publish(fixture(markers, pkg)));
  await pub({ name: '@pg-fixture/good', version: '1.0.0' });
  await pub({ name: '@pg-fixture/other', version: '1.0.0' });
  await pub({ name: '@pg-fixture/bad', version: '1.0.0' });
  await pub({ name: '@pg-fixture/mid', version: '1.0.0', dependencies: { '@pg-fixture/bad': '^1.0.0' } });
  await pub({ name: '@pg-fixture/parent', version: '1.0.0', dependencies: { '@pg-fixture/mid': '^1.0.0' } });
  await pub({ name: '@pg-fixture/tarb', version: '1.0.0' });
  // tarb's own tarball served by another host (at the registry's path): a tarball, not the registry package.
  const tarbBytes = Buffer.from(await (await fetch(published.get('@pg-fixture/tarb')!.tarball)).arrayBuffer());

  const repo = mkdtempSync(join(tmpdir(), 'pg-gitdep-'));
  writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: '@pg-fixture/gitdep', version: '1.2.3', scripts: { postinstall: markerScript(markers, '@pg-fixture/gitdep', '1.2.3') } }));
  writeFileSync(join(repo, 'index.js'), 'module.exports = 1;\n');
  const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  for (const args of [['init', '-q'], ['add', '.'], ['commit', '-qm', 'init']]) execFileSync('git', args, { cwd: repo, env: gitEnv });
  gitUrl = `git+file://${repo}`;
  // A git package posing as a registry package the lockfile already holds (same name@version).
  const posing = mkdtempSync(join(tmpdir(), 'pg-posing-'));
  writeFileSync(join(posing, 'package.json'), JSON.stringify({ name: '@pg-fixture/good', version: '1.0.0', scripts: { postinstall: markerScript(markers, '@pg-fixture/good', 'posing') } }));
  for (const args of [['init', '-q'], ['add', '.'], ['commit', '-qm', 'init']]) execFileSync('git', args, { cwd: posing, env: gitEnv });
  posingGitUrl = `git+file://${posing}`;

  const posingTarball = await pack({ 'package.json': JSON.stringify({ name: 'pnpm-plugin-provenance-guard', version: '9.9.9', scripts: { postinstall: markerScript(markers, 'pnpm-plugin-provenance-guard', '9.9.9') } }), 'index.js': '' });
  const host = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(req.url === '/x.tgz' ? posingTarball : tarbBytes));
  tarballHost = host;
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  posingTarballUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}/x.tgz`;
  tarballUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}/@pg-fixture/tarb/-/tarb-1.0.0.tgz`;

  ({ feedPath, publicKey } = await fixtureFeed(published.values()));
}, 120_000);
afterAll(async () => {
  tarballHost?.closeAllConnections();
  tarballHost?.close();
  await registry?.close();
});

function rc(extra: FixturePolicyOptions = {}): string {
  return fixturePolicy({ feedPath, publicKey }, extra);
}

function project(version: PnpmVersion, dependencies: Record<string, string>, options: Partial<PnpmProjectOptions> & { rc?: string } = {}): PnpmProject {
  return createPnpmProject({ version, registryUrl: registry.url, markers, dependencies, allowBuilds: [...FIXTURES, `@pg-fixture/tarb@${tarballUrl}`], provenancerc: options.rc ?? rc(), ...options });
}

/** Everything a blocked install must leave behind. */
function expectBlocked(p: PnpmProject, result: { code: number; output: string }, name: string, rule: string, lockBefore: string | undefined | ((lock: string | undefined) => void)): void {
  expect(result.code, result.output).not.toBe(0);
  expect(p.installed(name)).toEqual([]);
  expect(p.ran()).not.toContain(`${name}@1.0.0`);
  if (typeof lockBefore === 'function') lockBefore(p.lockfile());
  else expect(p.lockfile()).toBe(lockBefore);
  const text = unwrapPnpmOutput(result.output);
  expect(text).toContain(name);
  expect(text).toContain(`[${rule}]`);
}

describe.each(PNPM_VERSIONS)('pnpm %s', (version) => {
  test('fresh install: allowed packages install and run their postinstall', async () => {
    const p = project(version, { '@pg-fixture/good': '1.0.0' });
    const r = await p.pnpm(['install']);
    expect(r.code, r.output).toBe(0);
    expect(p.installed('@pg-fixture/good').length).toBeGreaterThan(0);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    expect(p.lockfile()).toContain('@pg-fixture/good@1.0.0');
  });

  test('fresh install: a blocked package never reaches node_modules and its script never runs', async () => {
    const p = project(version, { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' });
    const r = await p.pnpm(['install']);
    expectBlocked(p, r, '@pg-fixture/bad', 'rebuild', undefined);
    expect(p.ran()).toEqual([]);
    expect(r.output).toContain('ERR_PNPM_');
    expect(r.output).toMatch(/overrides:/);
  });

  test('a blocked package deep in the tree (transitive) is blocked', async () => {
    const p = project(version, { '@pg-fixture/parent': '1.0.0' });
    const r = await p.pnpm(['install']);
    expectBlocked(p, r, '@pg-fixture/bad', 'rebuild', undefined);
    expect(p.installed('@pg-fixture/parent')).toEqual([]);
    expect(p.ran()).toEqual([]);
  });

  test('an npm: alias is checked under the real name', async () => {
    const p = project(version, { innocent: 'npm:@pg-fixture/bad@1.0.0' });
    const r = await p.pnpm(['install']);
    expectBlocked(p, r, '@pg-fixture/bad', 'rebuild', undefined);
    expect(existsSync(join(p.dir, 'node_modules/innocent'))).toBe(false);
  });

  test('pnpm add of a blocked package: refused, lockfile and package.json unchanged', async () => {
    const p = project(version, { '@pg-fixture/good': '1.0.0' });
    expect((await p.pnpm(['install'])).code).toBe(0);
    const lock = p.lockfile();
    const manifest = p.packageJson();
    p.clearMarkers();
    const r = await p.pnpm(['add', '@pg-fixture/bad@1.0.0']);
    expectBlocked(p, r, '@pg-fixture/bad', 'rebuild', lock);
    expect(p.packageJson()).toBe(manifest);
    // An allowed package is added (pnpm 10 re-reads locked packages without `dist` here).
    const ok = await p.pnpm(['add', '@pg-fixture/other@1.0.0']);
    expect(ok.code, ok.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/other@1.0.0']);
  });

  test('--frozen-lockfile with a committed lockfile, then --offline from the warm store', async () => {
    const p = project(version, { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' });
    // The lockfile was committed by someone without the policy (same pnpmfile, so the checksum matches).
    const lock = await cloneWithUnguardedLockfile(p, (env) => p.pnpm(['install'], env), '@pg-fixture/bad@1.0.0');

    const frozen = await p.pnpm(['install', '--frozen-lockfile']);
    expectBlocked(p, frozen, '@pg-fixture/bad', 'rebuild', lock);
    expect(p.ran()).toEqual([]);

    const offline = await p.pnpm(['install', '--offline']);
    expectBlocked(p, offline, '@pg-fixture/bad', 'rebuild', lock);
    expect(p.installed('@pg-fixture/good')).toEqual([]);
    expect(p.ran()).toEqual([]);
  });

  test('a plain install with an up-to-date lockfile is checked, with and without node_modules', async () => {
    const p = project(version, { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' });
    const seeded = await p.pnpm(['install'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(seeded.code, seeded.output).toBe(0);
    const lock = p.lockfile();
    // node_modules present (pnpm 12 hands preResolution an empty lockfile on this path).
    const again = await p.pnpm(['install']);
    expect(again.code, again.output).not.toBe(0);
    expect(unwrapPnpmOutput(again.output)).toContain('[rebuild]');
    expect(p.lockfile()).toBe(lock);
    // A fresh clone: no node_modules, the committed lockfile, a plain install.
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    p.clearMarkers();
    const clone = await p.pnpm(['install']);
    expectBlocked(p, clone, '@pg-fixture/bad', 'rebuild', lock);
    expect(p.ran()).toEqual([]);
  });

  test('a blocked package that the lockfile holds can still be removed', async () => {
    const p = project(version, { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0', '@pg-fixture/parent': '1.0.0' });
    expect((await p.pnpm(['install'], { PROVENANCE_GUARD_MODE: 'off' })).code).toBe(0);
    const blockedInstall = await p.pnpm(['install']);
    expect(blockedInstall.code).not.toBe(0);
    // The transitive copy under parent still blocks.
    const removeDirect = await p.pnpm(['remove', '@pg-fixture/bad']);
    expect(removeDirect.code).not.toBe(0);
    expect(removeDirect.output).toContain('@pg-fixture/bad');
    const removed = await p.pnpm(['remove', '@pg-fixture/bad', '@pg-fixture/parent']);
    expect(removed.code, removed.output).toBe(0);
    expect(p.lockfile()).not.toContain('@pg-fixture/bad');
    // (pnpm 10 leaves the orphaned copy from the unchecked install in node_modules/.pnpm until the next prune.)
    expect(existsSync(join(p.dir, 'node_modules/@pg-fixture/bad'))).toBe(false);
  });

  test('a git dependency is blocked (source rule) before its postinstall', async () => {
    // allowBuilds keyed by name does not cover a git dependency's build; allow all builds here.
    const p = project(version, { gitdep: gitUrl }, { allowBuilds: [], workspace: { dangerouslyAllowAllBuilds: true } });
    const r = await p.pnpm(['install']);
    // Named by the key it installs under (node_modules/gitdep), not by its package.json (@pg-fixture/gitdep).
    expectBlocked(p, r, 'gitdep', 'source', undefined);
    expect(p.installed('@pg-fixture/gitdep')).toEqual([]);
    expect(p.ran()).toEqual([]);
    expect(existsSync(join(p.dir, 'node_modules/gitdep'))).toBe(false);
    // Control: without the policy the same install runs the git package's postinstall.
    const off = await p.pnpm(['install'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(off.code, off.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/gitdep@1.2.3']);
  });

  test('two git dependencies resolved afresh in warn mode: each warned about once, under its own key and version, as check reports them', async () => {
    // readPackage shows a git package without a resolution, so either key could be it: only the resolution decides which.
    const p = project(version, { gitdep: gitUrl, other: posingGitUrl }, { rc: rc({ mode: 'warn' }), allowBuilds: [], workspace: { dangerouslyAllowAllBuilds: true } });
    const r = await p.pnpm(['install']);
    expect(r.code, r.output).toBe(0);
    const warned = [...unwrapPnpmOutput(r.stderr).matchAll(/WARN +(\S+@\S+) \[source\]/g)].map((m) => m[1]).sort();
    expect(warned).toEqual(['gitdep@1.2.3', 'other@1.0.0']);
    const check = await runCommand(process.execPath, [CLI, 'check', '--format', 'json'], { cwd: p.dir, env: p.env });
    const report = JSON.parse(check.stdout) as { packages: { name: string; version: string; verdict: string }[] };
    expect(report.packages.map((x) => `${x.name}@${x.version}`).sort()).toEqual(warned);
  });

  test('a git package posing as a locked registry package is checked as git', async () => {
    const p = project(version, { '@pg-fixture/good': '1.0.0' }, { allowBuilds: [], workspace: { dangerouslyAllowAllBuilds: true } });
    expect((await p.pnpm(['install'])).code).toBe(0);
    const lock = p.lockfile();
    p.clearMarkers();
    const r = await p.pnpm(['add', posingGitUrl]);
    expect(r.code, r.output).not.toBe(0);
    expect(p.lockfile()).toBe(lock);
    expect(p.ran()).toEqual([]);
    // Only the registry copy from the first install is there.
    expect(p.installed('@pg-fixture/good')).toEqual(['node_modules/@pg-fixture/good', 'node_modules/.pnpm/@pg-fixture+good@1.0.0']);
    const text = unwrapPnpmOutput(r.output);
    expect(text).toContain('@pg-fixture/good@1.0.0');
    expect(text).toContain('[source]');
  });

  test('a dependency declared by the registry\'s own tarball URL under an alias is that registry package, for the hook, check and a frozen install', async () => {
    // pnpm locks `foo: <registry URL of bad@1.0.0>` as @pg-fixture/bad@1.0.0 (integrity only) and installs it from the registry.
    const p = project(version, { foo: published.get('@pg-fixture/bad')!.tarball });
    const r = await p.pnpm(['install']);
    expectBlocked(p, r, '@pg-fixture/bad', 'rebuild', undefined);
    expect(p.ran()).toEqual([]);
    expect(existsSync(join(p.dir, 'node_modules/foo'))).toBe(false);
    expect(unwrapPnpmOutput(r.output)).not.toContain('[source]');

    const lock = await cloneWithUnguardedLockfile(p, (env) => p.pnpm(['install'], env), "'@pg-fixture/bad@1.0.0':");
    const check = await runCommand(process.execPath, [CLI, 'check', '--format', 'json'], { cwd: p.dir, env: p.env });
    expect(check.code, check.output).toBe(1);
    const report = JSON.parse(check.stdout) as { packages: { name: string; version: string; verdict: string; findings: { rule: string }[] }[] };
    expect(report.packages.map((x) => `${x.name}@${x.version}:${x.verdict}:${x.findings.map((f) => f.rule).join()}`)).toEqual(['@pg-fixture/bad@1.0.0:block:rebuild']);
    const frozen = await p.pnpm(['install', '--frozen-lockfile']);
    expectBlocked(p, frozen, '@pg-fixture/bad', 'rebuild', lock);
    expect(existsSync(join(p.dir, 'node_modules/foo'))).toBe(false);

    // The registry's URL of a package with clean evidence installs under the alias: judged by that evidence, not as a source.
    const good = project(version, { foo: published.get('@pg-fixture/good')!.tarball });
    const ok = await good.pnpm(['install']);
    expect(ok.code, ok.output).toBe(0);
    expect(good.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    const checkGood = await runCommand(process.execPath, [CLI, 'check', '--format', 'json'], { cwd: good.dir, env: good.env });
    expect(checkGood.code, checkGood.output).toBe(0);
  });

  test('a tarball-URL dependency is blocked (source rule)', async () => {
    const p = project(version, { tarb: tarballUrl });
    const r = await p.pnpm(['install']);
    expectBlocked(p, r, '@pg-fixture/tarb', 'source', undefined);
    expect(p.ran()).toEqual([]);
  });

  test('a tarball under an alias is checked under the alias: its package.json naming an excluded package changes nothing (hook, check, frozen install)', async () => {
    const options = { rc: `${rc()}exclude: [pnpm-plugin-provenance-guard]\n`, allowBuilds: [...FIXTURES, 'pnpm-plugin-provenance-guard', `pnpm-plugin-provenance-guard@${posingTarballUrl}`] };
    const p = project(version, { evil: posingTarballUrl }, options);
    const r = await p.pnpm(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(p.ran()).toEqual([]);
    expect(existsSync(join(p.dir, 'node_modules/evil'))).toBe(false);
    expect(p.installed('pnpm-plugin-provenance-guard')).toEqual([]);
    expect(p.lockfile()).toBeUndefined();
    const text = unwrapPnpmOutput(r.output);
    expect(text).toContain('evil@9.9.9');
    expect(text).toContain('[source]');

    // Under its own name the same tarball is excluded: it installs and its postinstall runs.
    const own = project(version, { 'pnpm-plugin-provenance-guard': posingTarballUrl }, options);
    const ok = await own.pnpm(['install']);
    expect(ok.code, ok.output).toBe(0);
    expect(own.ran()).toEqual(['pnpm-plugin-provenance-guard@9.9.9']);

    // A lockfile written with the guard off names it by its package.json; check and a frozen install go by the key.
    const lock = await cloneWithUnguardedLockfile(p, (env) => p.pnpm(['install'], env), 'evil:');
    expect(lock).toContain(`pnpm-plugin-provenance-guard@${posingTarballUrl}`);
    const check = await runCommand(process.execPath, [CLI, 'check', '--format', 'json'], { cwd: p.dir, env: p.env });
    expect(check.code, check.output).toBe(1);
    const report = JSON.parse(check.stdout) as { packages: { name: string; version: string; verdict: string }[] };
    expect(report.packages.map((x) => `${x.name}@${x.version}:${x.verdict}`)).toEqual(['evil@9.9.9:block']);
    const frozen = await p.pnpm(['install', '--frozen-lockfile']);
    expect(frozen.code, frozen.output).not.toBe(0);
    expect(p.ran()).toEqual([]);
    expect(existsSync(join(p.dir, 'node_modules/evil'))).toBe(false);
    expect(unwrapPnpmOutput(frozen.output)).toContain('evil@9.9.9');
  });

  test('a link: dependency outside the project is checked under its key: its package.json naming an excluded package changes nothing (hook, check, frozen install)', async () => {
    // pnpm 12 shows the folder's package.json to readPackage (no dist); pnpm 10 shows it nothing and links it after afterAllResolved.
    const outside = mkdtempSync(join(tmpdir(), 'pg-link-outside-'));
    writeFileSync(join(outside, 'package.json'), JSON.stringify({ name: 'pnpm-plugin-provenance-guard', version: '9.9.9' }));
    const options = { rc: `${rc()}exclude: [pnpm-plugin-provenance-guard]\n` };
    const p = project(version, { lnk: `link:${outside}` }, options);
    const r = await p.pnpm(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(existsSync(join(p.dir, 'node_modules/lnk'))).toBe(false);
    expect(p.lockfile()).toBeUndefined();
    const text = unwrapPnpmOutput(r.output);
    expect(text).toContain('lnk@9.9.9');
    expect(text).toContain('[source]');

    // Under the excluded name itself it is skipped and linked.
    const own = project(version, { 'pnpm-plugin-provenance-guard': `link:${outside}` }, options);
    const ok = await own.pnpm(['install']);
    expect(ok.code, ok.output).toBe(0);
    expect(existsSync(join(own.dir, 'node_modules/pnpm-plugin-provenance-guard/package.json'))).toBe(true);

    const lock = await cloneWithUnguardedLockfile(p, (env) => p.pnpm(['install'], env), 'lnk:');
    const check = await runCommand(process.execPath, [CLI, 'check', '--format', 'json'], { cwd: p.dir, env: p.env });
    expect(check.code, check.output).toBe(1);
    const report = JSON.parse(check.stdout) as { packages: { name: string; version: string; verdict: string }[] };
    expect(report.packages.map((x) => `${x.name}@${x.version}:${x.verdict}`)).toEqual(['lnk@9.9.9:block']);
    const frozen = await p.pnpm(['install', '--frozen-lockfile']);
    expect(frozen.code, frozen.output).not.toBe(0);
    expect(p.lockfile()).toBe(lock);
    expect(existsSync(join(p.dir, 'node_modules/lnk'))).toBe(false);
    expect(unwrapPnpmOutput(frozen.output)).toContain('lnk@9.9.9');
  });

  test('a workspace: projects are not checked, a sub-project dependency and a file: dependency are', async () => {
    const p = project(version, { '@pg-fixture/app': 'workspace:*' }, { workspace: { packages: ['packages/*'] } });
    const app = join(p.dir, 'packages/app');
    mkdirSync(app, { recursive: true });
    // Named like a fixture with no feed record: were it checked, `unknown: block` would block it.
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: '@pg-fixture/app', version: '1.0.0', dependencies: { '@pg-fixture/good': '1.0.0' } }));
    const ok = await p.pnpm(['install']);
    expect(ok.code, ok.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    const frozen = await p.pnpm(['install', '--frozen-lockfile']);
    expect(frozen.code, frozen.output).toBe(0);

    const lock = p.lockfile();
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: '@pg-fixture/app', version: '1.0.0', dependencies: { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' } }));
    // (CI=1 in the test env makes a plain install frozen.)
    const sub = await p.pnpm(['install', '--no-frozen-lockfile']);
    expectBlocked(p, sub, '@pg-fixture/bad', 'rebuild', lock);

    mkdirSync(join(p.dir, 'vendored'));
    writeFileSync(join(p.dir, 'vendored/package.json'), JSON.stringify({ name: '@pg-fixture/vendored', version: '3.0.0' }));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: '@pg-fixture/app', version: '1.0.0', dependencies: { '@pg-fixture/vendored': 'file:../../vendored' } }));
    const file = await p.pnpm(['install', '--no-frozen-lockfile']);
    expectBlocked(p, file, '@pg-fixture/vendored', 'source', lock);
  });

  test('warn mode installs and prints the warning', async () => {
    const p = project(version, { '@pg-fixture/bad': '1.0.0', tarb: tarballUrl }, { rc: rc({ mode: 'warn' }) });
    const r = await p.pnpm(['install']);
    expect(r.code, r.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/bad@1.0.0', '@pg-fixture/tarb@1.0.0']);
    expect(r.stderr).toContain('provenance-guard warns');
    expect(r.stderr).toContain('@pg-fixture/bad@1.0.0');
    expect(r.stderr).toContain('[rebuild]');
    expect(r.stderr).toContain('[source]');
  });

  test('an override applies until it expires', async () => {
    const override = (expires: string) => `  - package: "@pg-fixture/bad@^1.0.0"\n    rules: [rebuild]\n    reason: "reviewed"\n    expires: ${expires}`;
    const valid = project(version, { '@pg-fixture/bad': '1.0.0' }, { rc: rc({ overrides: override('2099-12-31') }) });
    const ok = await valid.pnpm(['install']);
    expect(ok.code, ok.output).toBe(0);
    expect(valid.ran()).toEqual(['@pg-fixture/bad@1.0.0']);

    const expired = project(version, { '@pg-fixture/bad': '1.0.0' }, { rc: rc({ overrides: override('2020-01-01') }) });
    const r = await expired.pnpm(['install']);
    expectBlocked(expired, r, '@pg-fixture/bad', 'rebuild', undefined);
  });

  test('a feed that does not verify fails the install in block mode and warns in warn mode', async () => {
    const wrongKey = generateKeyPair(mkdtempSync(join(tmpdir(), 'pg-keys-'))).publicKey;
    const closed = project(version, { '@pg-fixture/good': '1.0.0' }, { rc: rc({ publicKey: wrongKey }) });
    const r = await closed.pnpm(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(closed.installed('@pg-fixture/good')).toEqual([]);
    expect(closed.ran()).toEqual([]);
    expect(r.output).toContain('provenance-guard');
    expect(r.output).not.toMatch(/^\s+at .*\.cjs:\d+/m);

    const open = project(version, { '@pg-fixture/good': '1.0.0' }, { rc: rc({ publicKey: wrongKey, mode: 'warn' }) });
    const w = await open.pnpm(['install']);
    expect(w.code, w.output).toBe(0);
    expect(open.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    expect(w.stderr).toContain('provenance-guard');
  });

  test('distribution B: the config dependency pnpm-plugin-provenance-guard', async () => {
    const pkgDir = join(__dirname, '../plugins/pnpm/dist/config-dependency');
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name: string; version: string };
    const name = manifest.name;
    const pub = await publishConfigDependency(pkgDir);
    // pnpm 10 needs the integrity pinned in pnpm-workspace.yaml; 11+ pin it in the lockfile.
    const integrity = version === '10' ? { integrity: pub.integrity } : {};
    const blocked = project(version, { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' }, { hook: { kind: 'none' } });
    initPnpm(blocked.dir, { method: 'config-dependency', version: pub.version, ...integrity });
    const r = await blocked.pnpm(['install']);
    // pnpm 12 writes the config dependency's own lockfile document before any hook runs.
    expectBlocked(blocked, r, '@pg-fixture/bad', 'rebuild', (lock) => expect(lock ?? '').not.toContain('@pg-fixture/'));
    expect(blocked.ran()).toEqual([]);

    const allowed = project(version, { '@pg-fixture/good': '1.0.0' }, { hook: { kind: 'none' } });
    initPnpm(allowed.dir, { method: 'config-dependency', version: pub.version, ...integrity });
    const ok = await allowed.pnpm(['install']);
    expect(ok.code, ok.output).toBe(0);
    expect(allowed.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    if (version === '12') expect(allowed.lockfile()).toContain(`${name}@${pub.version}`);
    rmSync(join(allowed.dir, 'node_modules'), { recursive: true, force: true });
    allowed.clearMarkers();
    const again = await allowed.pnpm(['install', '--frozen-lockfile']);
    expect(again.code, again.output).toBe(0);
  });

  test('distribution A: a one-line .pnpmfile.cjs that loads provenance-guard/pnpmfile', async () => {
    const parent = mkdtempSync(join(tmpdir(), `pg-pnpm${version}-shim-`));
    // provenance-guard as installed above the project (Node resolves require() upward).
    const installed = join(parent, 'node_modules/provenance-guard');
    mkdirSync(join(installed, 'plugins/pnpm/dist'), { recursive: true });
    writeFileSync(join(installed, 'package.json'), JSON.stringify({ name: 'provenance-guard', version: '0.0.0', exports: { './pnpmfile': './plugins/pnpm/dist/pnpmfile.cjs', './package.json': './package.json' } }));
    writeFileSync(join(installed, 'plugins/pnpm/dist/pnpmfile.cjs'), readFileSync(join(__dirname, '../plugins/pnpm/dist/pnpmfile.cjs')));
    const p = project(version, { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' }, { parent, hook: { kind: 'none' } });
    // No `pnpmfile:` setting: pnpm 10 and 12 load .pnpmfile.cjs by default.
    expect(initPnpm(p.dir, { method: 'pnpmfile' }).changed).toEqual([join(p.dir, '.pnpmfile.cjs')]);
    const r = await p.pnpm(['install']);
    expectBlocked(p, r, '@pg-fixture/bad', 'rebuild', undefined);

    rmSync(installed, { recursive: true });
    const missing = await p.pnpm(['install']);
    expect(missing.code).not.toBe(0);
    expect(unwrapPnpmOutput(missing.output)).toContain('provenance-guard is not installed');
    expect(p.installed('@pg-fixture/good')).toEqual([]);
  });
});

async function publishConfigDependency(dir: string): Promise<PublishedPackage> {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; [k: string]: unknown };
  const key = `${manifest.name}@${manifest.version}`;
  const cached = published.get(key);
  if (cached) return cached;
  const { name, version, ...rest } = manifest;
  const pub = await registry.publish({ name, version, manifest: rest, files: { 'pnpmfile.cjs': readFileSync(join(dir, 'pnpmfile.cjs'), 'utf8') } });
  published.set(key, pub);
  return pub;
}

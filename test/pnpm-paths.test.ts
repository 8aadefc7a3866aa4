/**
 * Issue 8 for pnpm 10.34 and 12.21 against a real verdaccio: the less common install paths.
 * - `--filter`: only what the selected projects put on disk is refused (item 8);
 * - `pnpm --filter app deploy DIR`: the invoking project's policy governs DIR (item 6);
 * - `pnpm fetch`, `pnpm rebuild`, `pnpm patch` and `install` over a node_modules made with the
 *   guard off (item 7): gated by the updateConfig hook where no other hook runs.
 * A blocked package leaves no file in node_modules and no postinstall marker.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildFeed } from '../src/feed/build';
import { generateKeyPair } from '../src/feed/keys';
import type { FeedRecord } from '../src/types';
import { commandOf, filtersOf, unhookedCommandOf } from '../plugins/pnpm/invocation';
import { selectedProjectNames } from '../plugins/pnpm/selection';
import { createPnpmProject, ensurePnpmBundle, PNPM_BUNDLE, PNPM_CONFIG_DEPENDENCY_DIR, runCommand, type PnpmHook, fixture, markerDir, PNPM_VERSIONS, type PnpmProject, type PnpmVersion } from './helpers/pm';
import { initPnpm } from '../src/init/pnpm';
import { readFileSync } from 'node:fs';
import { startRegistry, type PublishedPackage, type TestRegistry } from './helpers/registry';

const CLI = join(__dirname, '..', 'dist/cli.cjs');
const FIXTURES = ['@pg-fixture/good', '@pg-fixture/bad'];
let registry: TestRegistry;
let markers: string;
let rc: string;
let configDependency: Promise<PublishedPackage> | undefined;
let badPackage: PublishedPackage;
const temps: string[] = [];

beforeAll(async () => {
  const [reg] = await Promise.all([startRegistry(), ensurePnpmBundle()]);
  registry = reg;
  markers = markerDir();
  const work = mkdtempSync(join(tmpdir(), 'pg-pnpm-paths-'));
  temps.push(markers, work);
  const record = (p: PublishedPackage, verdict: 'reproducible' | 'not-reproducible'): FeedRecord => ({
    name: p.name, version: p.version, integrity: p.integrity,
    repository: { url: `https://github.com/pg-fixture/${p.name.split('/')[1]}`, commit: 'a'.repeat(40), status: 'attested' },
    rebuild: { verdict, source: 'oss-rebuild' },
  });
  const good = await registry.publish(fixture(markers, { name: '@pg-fixture/good', version: '1.0.0' }));
  const bad = (badPackage = await registry.publish(fixture(markers, { name: '@pg-fixture/bad', version: '1.0.0' })));
  // Tools for dlx: one whose tree holds the blocked package, one that passes.
  const bin = (name: string) => ({ manifest: { bin: { [name]: 'cli.js' } }, files: { 'cli.js': `#!/usr/bin/env node\nconsole.log('${name} ran');\n` } });
  const badtool = await registry.publish({ name: '@pg-fixture/badtool', version: '1.0.0', dependencies: { '@pg-fixture/bad': '1.0.0' }, ...bin('pg-badtool') });
  const tool = await registry.publish({ name: '@pg-fixture/tool', version: '1.0.0', ...bin('pg-tool') });
  const keys = generateKeyPair(join(work, 'keys'));
  const records = [record(good, 'reproducible'), record(bad, 'not-reproducible'), record(badtool, 'reproducible'), record(tool, 'reproducible')];
  const feed = await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: join(work, 'provenance.feed') });
  rc = ['mode: block', 'feed:', `  source: ${JSON.stringify(feed.path)}`, `  publicKeys: [${JSON.stringify(keys.publicKey)}]`, '  maxAge: 30d', '  offline: true', 'rules:', '  rebuild: { require: reproducible }', 'unknown: block', ''].join('\n');
}, 120_000);

afterAll(async () => {
  await registry?.close();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A workspace: ws-a uses the good package, ws-b the bad one (or ws-a both, for deploy). */
function workspace(version: PnpmVersion, deps: { a: Record<string, string>; b: Record<string, string> }, hook?: PnpmHook): PnpmProject {
  const p = createPnpmProject({
    version, registryUrl: registry.url, markers, provenancerc: rc, allowBuilds: FIXTURES, ...(hook ? { hook } : {}),
    workspace: { packages: ['packages/*'], sideEffectsCache: false, injectWorkspacePackages: true },
  });
  temps.push(join(p.dir, '..'));
  for (const [name, dependencies] of [['ws-a', deps.a], ['ws-b', deps.b]] as const) {
    mkdirSync(join(p.dir, 'packages', name), { recursive: true });
    writeFileSync(join(p.dir, 'packages', name, 'package.json'), JSON.stringify({ name, version: '1.0.0', dependencies }));
  }
  return p;
}

const OFF = { PROVENANCE_GUARD_MODE: 'off' };

/** pnpm-plugin-provenance-guard from plugins/pnpm/dist, published once for the suite. */
function publishConfigDependency(): Promise<PublishedPackage> {
  configDependency ??= (async () => {
    const { name, version: v, ...rest } = JSON.parse(readFileSync(join(PNPM_CONFIG_DEPENDENCY_DIR, 'package.json'), 'utf8')) as { name: string; version: string };
    return registry.publish({ name, version: v, manifest: rest, files: { 'pnpmfile.cjs': readFileSync(join(PNPM_CONFIG_DEPENDENCY_DIR, 'pnpmfile.cjs'), 'utf8') } });
  })();
  return configDependency;
}
const flat = (output: string) => output.replace(/\s*\n\s*[│├╰─▶ ]*/g, ' ');

/** Files of a package anywhere under a node_modules tree (hoisted, virtual store, project-level). */
function filesOf(root: string, name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6 || !existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.name.startsWith(name.replace('/', '+') + '@') || path.endsWith(`node_modules/${name}`)) found.push(path);
      else if (entry.isDirectory() && !entry.isSymbolicLink()) walk(path, depth + 1);
    }
  };
  walk(root, 0);
  return found;
}

function expectRefused(p: PnpmProject, result: { code: number; output: string }, root = p.dir): void {
  expect(result.code, result.output).not.toBe(0);
  expect(flat(result.output)).toContain('@pg-fixture/bad@1.0.0');
  expect(filesOf(root, '@pg-fixture/bad')).toEqual([]);
  expect(p.ran()).not.toContain('@pg-fixture/bad@1.0.0');
}

describe.each(PNPM_VERSIONS)('pnpm %s', (version) => {
  test('--filter: a blocked package only another project uses is not refused; the selected one\'s is', async () => {
    const p = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: { '@pg-fixture/bad': '1.0.0' } });
    const r = await p.pnpm(['install', '--filter', 'ws-a']);
    expect(r.code, r.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    expect(filesOf(p.dir, '@pg-fixture/bad')).toEqual([]);
    // The lockfile now pins ws-b's bad package: frozen filtered installs of ws-a go on …
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    rmSync(join(p.dir, 'packages/ws-a/node_modules'), { recursive: true, force: true });
    p.clearMarkers();
    const frozen = await p.pnpm(['install', '--frozen-lockfile', '--filter', 'ws-a']);
    expect(frozen.code, frozen.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    // … while installing ws-b, or everything, is refused.
    expectRefused(p, await p.pnpm(['install', '--frozen-lockfile', '--filter', 'ws-b']));
    expectRefused(p, await p.pnpm(['install', '--frozen-lockfile']));
  });

  test('deploy outside the project is governed by the invoking project\'s policy', async () => {
    const p = workspace(version, { a: { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' }, b: {} });
    expect((await p.pnpm(['install'], OFF)).code).toBe(0);
    p.clearMarkers();
    const outside = join(p.dir, '..', 'outside');
    const r = await p.pnpm(['--filter', 'ws-a', 'deploy', outside]);
    expectRefused(p, r, outside);
    expect(r.output).not.toContain('continuing without checking');
    expect(p.ran()).toEqual([]);

    // A deploy of passing packages goes on.
    const q = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: {} });
    expect((await q.pnpm(['install'])).code).toBe(0);
    q.clearMarkers();
    const ok = await q.pnpm(['--filter', 'ws-a', 'deploy', join(q.dir, '..', 'outside')]);
    expect(ok.code, ok.output).toBe(0);
    expect(existsSync(join(q.dir, '..', 'outside/node_modules/@pg-fixture/good/package.json'))).toBe(true);
  });

  test('pnpm fetch of a lockfile made with the guard off is refused; a passing one is fetched', async () => {
    const p = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: { '@pg-fixture/bad': '1.0.0' } });
    expect((await p.pnpm(['install', '--lockfile-only'], OFF)).code).toBe(0);
    expectRefused(p, await p.pnpm(['fetch']));
    expect(p.ran()).toEqual([]);

    const q = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: {} });
    expect((await q.pnpm(['install', '--lockfile-only'])).code).toBe(0);
    const ok = await q.pnpm(['fetch']);
    expect(ok.code, ok.output).toBe(0);
  });

  test('rebuild and install over a node_modules made with the guard off are refused', async () => {
    const p = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: { '@pg-fixture/bad': '1.0.0' } });
    expect((await p.pnpm(['install'], OFF)).code).toBe(0);
    p.clearMarkers();
    const rebuild = await p.pnpm(['rebuild']);
    expect(rebuild.code, rebuild.output).not.toBe(0);
    expect(flat(rebuild.output)).toContain('@pg-fixture/bad@1.0.0');
    expect(p.ran()).toEqual([]);
    const install = await p.pnpm(['install']);
    expect(install.code, install.output).not.toBe(0);
    expect(flat(install.output)).toContain('@pg-fixture/bad@1.0.0');
    expect(p.ran()).toEqual([]);

    // A passing workspace rebuilds.
    const q = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: {} });
    expect((await q.pnpm(['install'])).code).toBe(0);
    const ok = await q.pnpm(['rebuild']);
    expect(ok.code, ok.output).toBe(0);
  });

  test('patch extracts no package from a node_modules made with the guard off; a passing one is extracted', async () => {
    const p = workspace(version, { a: { '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' }, b: {} });
    expect((await p.pnpm(['install'], OFF)).code).toBe(0);
    p.clearMarkers();
    const edit = join(p.dir, '..', 'edit');
    const r = await p.pnpm(['patch', '@pg-fixture/bad@1.0.0', '--edit-dir', edit]);
    expect(r.code, r.output).not.toBe(0);
    expect(flat(r.output)).toContain('@pg-fixture/bad@1.0.0');
    expect(existsSync(edit)).toBe(false);
    expect(p.ran()).toEqual([]);

    const q = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: {} });
    expect((await q.pnpm(['install'])).code).toBe(0);
    const ok = await q.pnpm(['patch', '@pg-fixture/good@1.0.0', '--edit-dir', join(q.dir, '..', 'edit')]);
    expect(ok.code, ok.output).toBe(0);
    expect(existsSync(join(q.dir, '..', 'edit/package.json'))).toBe(true);
  });

  test('as the config dependency pnpm-plugin-provenance-guard, fetch and rebuild are gated too', async () => {
    const pub = await publishConfigDependency();
    const p = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: { '@pg-fixture/bad': '1.0.0' } }, { kind: 'none' });
    // pnpm 10 needs the integrity pinned in pnpm-workspace.yaml; 12 pins it in the lockfile.
    initPnpm(p.dir, { method: 'config-dependency', version: pub.version, ...(version === '10' ? { integrity: pub.integrity } : {}) });
    expect((await p.pnpm(['install', '--lockfile-only'], OFF)).code).toBe(0);
    expectRefused(p, await p.pnpm(['fetch']));
    expect(p.ran()).toEqual([]);
    expect((await p.pnpm(['install'], OFF)).code).toBe(0);
    p.clearMarkers();
    const rebuild = await p.pnpm(['rebuild']);
    expect(rebuild.code, rebuild.output).not.toBe(0);
    expect(p.ran()).toEqual([]);

    // Passing packages fetch (pnpm 12 writes the config dependency's env document first in pnpm-lock.yaml).
    const q = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: {} }, { kind: 'none' });
    initPnpm(q.dir, { method: 'config-dependency', version: pub.version, ...(version === '10' ? { integrity: pub.integrity } : {}) });
    expect((await q.pnpm(['install', '--lockfile-only'])).code).toBe(0);
    const ok = await q.pnpm(['fetch']);
    expect(ok.code, ok.output).toBe(0);
  });

  test('dlx: a .pnpmfile.cjs where it runs checks the tool\'s tree; `pnpmfile:` in pnpm-workspace.yaml only on 12', async () => {
    const DLX_BAD = ['dlx', '--allow-build=@pg-fixture/bad', '@pg-fixture/badtool'];
    const dlxProject = (hook: PnpmHook): PnpmProject => {
      const p = workspace(version, { a: {}, b: {} }, hook);
      mkdirSync(join(p.dir, '..', 'home'), { recursive: true });
      return p;
    };
    const home = (p: PnpmProject) => join(p.dir, '..', 'home');
    // A project .pnpmfile.cjs (init --method pnpmfile): readPackage sees the tool and its dependencies.
    const p = dlxProject({ kind: 'project-file', content: `module.exports = require(${JSON.stringify(PNPM_BUNDLE)});\n` });
    expectRefused(p, await p.pnpm(DLX_BAD), home(p));
    expect(filesOf(home(p), '@pg-fixture/badtool')).toEqual([]);
    const ok = await p.pnpm(['dlx', '@pg-fixture/tool']);
    expect(ok.code, ok.output).toBe(0);
    expect(ok.output).toContain('pg-tool ran');
    // `pnpmfile:` in pnpm-workspace.yaml: pnpm 10 reads only auth settings of the project for dlx.
    const q = dlxProject({ kind: 'pnpmfile' });
    const viaSetting = await q.pnpm(DLX_BAD);
    if (version === '12') expectRefused(q, viaSetting, home(q));
    else expect([viaSetting.code, q.ran()], viaSetting.output).toEqual([0, ['@pg-fixture/bad@1.0.0']]);
  });

  test('dlx loads no config dependency: the tool\'s tree is not checked (documented)', async () => {
    const pub = await publishConfigDependency();
    const p = workspace(version, { a: {}, b: {} }, { kind: 'none' });
    mkdirSync(join(p.dir, '..', 'home'), { recursive: true });
    initPnpm(p.dir, { method: 'config-dependency', version: pub.version, ...(version === '10' ? { integrity: pub.integrity } : {}) });
    expect((await p.pnpm(['install'])).code).toBe(0);
    const r = await p.pnpm(['dlx', '--allow-build=@pg-fixture/bad', '@pg-fixture/badtool']);
    expect(r.code, r.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/bad@1.0.0']);
  });

  test('not reached (documented): a blocked config dependency is installed before any hook; store add downloads unchecked', async () => {
    const p = workspace(version, { a: {}, b: {} });
    p.writeWorkspace({ configDependencies: { '@pg-fixture/bad': version === '10' ? `1.0.0+${badPackage.integrity}` : '1.0.0' } });
    const r = await p.pnpm(['install']);
    expect(r.code, r.output).toBe(0);
    expect(existsSync(join(p.dir, 'node_modules/.pnpm-config/@pg-fixture/bad'))).toBe(true);
    // check is the backstop: pnpm 10's pin in pnpm-workspace.yaml, pnpm 12's in pnpm-lock.yaml's env document.
    const check = await runCommand(process.execPath, [CLI, 'check', '--format', 'json'], { cwd: p.dir, env: p.env });
    expect(check.code, check.output).toBe(1);
    expect(JSON.parse(check.stdout).packages).toContainEqual(expect.objectContaining({ name: '@pg-fixture/bad', version: '1.0.0', verdict: 'block' }));
    const store = await p.pnpm(['store', 'add', '@pg-fixture/bad@1.0.0']);
    expect(store.code, store.output).toBe(0);
    expect(flat(store.output)).toContain('+ @pg-fixture/bad@1.0.0');
    expect(p.ran()).toEqual([]);
  });

  test('--ignore-pnpmfile switches the hooks off (documented); provenance-guard check is the backstop', async () => {
    const p = workspace(version, { a: { '@pg-fixture/good': '1.0.0' }, b: { '@pg-fixture/bad': '1.0.0' } });
    const r = await p.pnpm(['install', '--ignore-pnpmfile']);
    expect(r.code, r.output).toBe(0);
    expect(p.ran()).toContain('@pg-fixture/bad@1.0.0');
    const check = await runCommand(process.execPath, [CLI, 'check', '--format', 'json'], { cwd: p.dir, env: p.env });
    expect(check.code, check.output).toBe(1);
    expect(check.stdout).toContain('"@pg-fixture/bad"');
  });
});

test('the command line: command and --filter selectors; selectors not interpreted check everything', () => {
  expect(commandOf(['--filter', 'app', 'deploy', '/out'])).toBe('deploy');
  expect(commandOf(['-C', 'dir', 'fetch', '--prod'])).toBe('fetch');
  expect(filtersOf(['install', '--filter', 'a', '-F', 'b...', '--filter=@x/*'])).toEqual(['a', 'b...', '@x/*']);
  const projects = ['ws-a', 'ws-b', '@x/c'];
  expect(selectedProjectNames(['ws-a'], projects)).toEqual(new Set(['ws-a']));
  expect(selectedProjectNames(['@x/*', 'ws-b...'], projects)).toEqual(new Set(['@x/c', 'ws-b']));
  expect(selectedProjectNames([], projects)).toBeUndefined();
  // As pnpm: an unscoped selector naming no project picks the scoped one of that name; one selecting nothing checks everything.
  expect(selectedProjectNames(['c'], projects)).toEqual(new Set(['@x/c']));
  expect(selectedProjectNames(['ws-a', 'nothing-here'], projects)).toBeUndefined();
  expect(unhookedCommandOf(['--registry', 'http://r/', 'fetch'])).toBe('fetch');
  expect(unhookedCommandOf(['--test-pattern', 'x', 'rebuild'])).toBe('rebuild');
  expect(unhookedCommandOf(['approve-builds', '--all'])).toBe('approve-builds');
  expect(unhookedCommandOf(['patch', '@x/y@1.0.0', '--edit-dir', 'e'])).toBe('patch');
  expect(unhookedCommandOf(['patch-commit', 'e'])).toBeUndefined();
  expect(unhookedCommandOf(['install', '--filter', 'app'])).toBeUndefined();
  expect(unhookedCommandOf(['exec', '--', 'rebuild'])).toBeUndefined();
  for (const selector of ['...ws-a', 'ws-a^...', '!ws-b', './packages/ws-a', '{packages/ws-a}', '[origin/main]']) {
    expect(selectedProjectNames([selector], projects)).toBeUndefined();
  }
});

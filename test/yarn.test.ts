/**
 * The Yarn plugin end to end: real Yarn 4.18.1, a real verdaccio, a signed feed, fixture
 * packages whose postinstall leaves a marker. A blocked package must never reach
 * node_modules, never run a script, and never change yarn.lock.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initYarn } from '../src/init/yarn';
import type { FeedRecord } from '../src/types';
import { stateVerdictFile } from '../src/verdict-store';
import { buildTestFeed, makeKeys } from './helpers/feed-fixtures';
import { startRegistry, type TestRegistry } from './helpers/registry';
import {
  assertFreshBundle, cachedArchives, createYarnProject, markerScript, PLUGIN_BUNDLE, startGitServer, type GitServer, type YarnProject,
} from './helpers/yarn';

let registry: TestRegistry;
let gitServer: GitServer;
let gitUrl: string;
let rc: (extra?: string) => string;
const root = mkdtempSync(join(tmpdir(), 'pg-yarn-suite-'));

const GOOD = { repository: { url: 'https://github.com/pg-fixture/good', commit: 'a'.repeat(40), status: 'claimed' }, rebuild: { verdict: 'reproducible', source: 'oss-rebuild' }, scorecard: { score: 8 } } as const;

beforeAll(async () => {
  assertFreshBundle();
  registry = await startRegistry();
  gitServer = await startGitServer(root);
  const records: FeedRecord[] = [];
  const publish = async (name: string, extra: { dependencies?: Record<string, string>; record?: Partial<FeedRecord> } = {}) => {
    const pkg = await registry.publish({ name, version: '1.0.0', scripts: markerScript(name, join(root, 'stray-markers')), ...(extra.dependencies ? { dependencies: extra.dependencies } : {}) });
    records.push({ name, version: '1.0.0', integrity: pkg.integrity, ...GOOD, ...extra.record } as FeedRecord);
  };
  await publish('@pg-fixture/good');
  await publish('@pg-fixture/bad', { record: { scorecard: { score: 2 } } });
  await publish('@pg-fixture/parent', { dependencies: { '@pg-fixture/bad': '^1.0.0' } });
  await publish('@pg-fixture/tampered', { record: { integrity: 'sha512-' + Buffer.alloc(64, 7).toString('base64') } });
  gitUrl = gitServer.repo({
    name: '@pg-fixture/gitdep',
    version: '1.2.3',
    scripts: { ...markerScript('@pg-fixture/gitdep', join(root, 'stray-markers')), prepack: markerScript('gitdep-prepack', join(root, 'stray-markers')).postinstall! },
  });
  const keys = makeKeys(join(root, 'keys'));
  const feed = await buildTestFeed(keys, records, join(root, 'verdicts.feed'));
  rc = (extra = '') =>
    [
      'mode: block',
      'feed:',
      `  source: ${feed}`,
      `  publicKeys: ["${keys.publicKey}"]`,
      '  maxAge: 30d',
      'rules:',
      '  repository: { require: claimed, allowedHosts: [github.com] }',
      '  rebuild: { require: reproducible }',
      '  scorecard: { minScore: 5 }',
      'unknown: block',
      extra,
    ].join('\n') + '\n';
});

afterAll(async () => {
  await registry?.close();
  await gitServer?.close();
  rmSync(root, { recursive: true, force: true });
});

function project(dependencies: Record<string, string>, options: { rcExtra?: string; yarnrc?: string[]; plugin?: boolean; cacheFolder?: string } = {}): YarnProject {
  return createYarnProject({
    registryUrl: registry.url,
    dependencies,
    provenancerc: rc(options.rcExtra),
    root,
    ...(options.yarnrc ? { yarnrc: options.yarnrc } : {}),
    ...(options.plugin === false ? { plugin: false } : {}),
    ...(options.cacheFolder ? { cacheFolder: options.cacheFolder } : {}),
  });
}

/** Nothing of a blocked install happened: failure, no package, no script, yarn.lock as before. */
function expectBlocked(p: YarnProject, result: { code: number; output: string }, lockBefore: string, blocked: string) {
  expect(result.code, result.output).not.toBe(0);
  expect(result.output).toContain(`${blocked}@1.0.0 is blocked by the provenance policy`);
  expect(p.installed(blocked)).toBe(false);
  expect(p.ran()).toEqual([]);
  expect(p.lockfile()).toBe(lockBefore);
}

describe('install gate', () => {
  test('fresh install: a blocked package stops everything, with the rule and the override to add', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/bad': '^1.0.0' });
    const r = await p.yarn(['install']);
    expectBlocked(p, r, '', '@pg-fixture/bad');
    expect(r.output).toMatch(/scorecard: .*2/);
    expect(r.output).toContain('To accept it, add to overrides in');
    expect(r.output).toContain('provenance-guard blocked 1 package: nothing was installed and no package script ran');
    expect(r.output).toContain('package: "@pg-fixture/bad@1.0.0", rules: [scorecard]');
    expect(p.installed('@pg-fixture/good')).toBe(false);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  });

  test('allowed packages install and their postinstall runs; the override unblocks', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0' });
    const r = await p.yarn(['install']);
    expect(r.code, r.output).toBe(0);
    expect(p.installed('@pg-fixture/good')).toBe(true);
    expect(p.ran()).toEqual(['@pg-fixture_good']);
    expect(p.lockfile()).toContain('"@pg-fixture/good@npm:^1.0.0"');

    const q = project({ '@pg-fixture/bad': '^1.0.0' }, {
      rcExtra: 'overrides:\n  - { package: "@pg-fixture/bad@1.0.0", rules: [scorecard], reason: "reviewed", expires: 2099-01-01 }',
    });
    const s = await q.yarn(['install']);
    expect(s.code, s.output).toBe(0);
    expect(q.ran()).toEqual(['@pg-fixture_bad']);
  });

  test('a transitive blocked package blocks its parent too; nothing is fetched', async () => {
    const p = project({ '@pg-fixture/parent': '^1.0.0' });
    const r = await p.yarn(['install']);
    expectBlocked(p, r, '', '@pg-fixture/bad');
    expect(p.installed('@pg-fixture/parent')).toBe(false);
    expect(cachedArchives(p)).toEqual([]);
  });

  test('yarn add of a package with a blocked dependency changes nothing', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0' });
    expect((await p.yarn(['install'])).code).toBe(0);
    const lock = p.lockfile();
    const manifest = readFileSync(join(p.dir, 'package.json'), 'utf8');
    rmSync(p.markers, { recursive: true, force: true });
    const r = await p.yarn(['add', '@pg-fixture/parent@^1.0.0']);
    expectBlocked(p, r, lock, '@pg-fixture/bad');
    expect(p.installed('@pg-fixture/parent')).toBe(false);
    expect(readFileSync(join(p.dir, 'package.json'), 'utf8')).toBe(manifest);
    // …and an allowed one is added normally.
    const ok = await p.yarn(['add', '@pg-fixture/good@1.0.0']);
    expect(ok.code, ok.output).toBe(0);
    // Editing package.json by hand then `yarn install`: yarn.lock no longer covers it, the gate resolves.
    const lock2 = p.lockfile();
    p.writePackageJson({ '@pg-fixture/good': '1.0.0', '@pg-fixture/parent': '^1.0.0' });
    expectBlocked(p, await p.yarn(['install']), lock2, '@pg-fixture/bad');
  });

  test('yarn set resolution to a blocked package is checked: yarn.lock and the manifests are unchanged, the resolution is not', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0' });
    expect((await p.yarn(['install'])).code).toBe(0);
    // A verdict is stored for this yarn.lock (the warm install's), so the gate's reuse path is the one asked.
    expect((await p.yarn(['install', '--immutable'])).code).toBe(0);
    expect(existsSync(stateVerdictFile(p.env.PROVENANCE_GUARD_STATE_DIR!, 'yarn', p.dir))).toBe(true);
    const lock = p.lockfile();
    rmSync(p.markers, { recursive: true, force: true });
    // Yarn keeps the new resolution in memory (project.resolutionAliases) and installs: the gate must resolve, not read yarn.lock.
    const r = await p.yarn(['set', 'resolution', '@pg-fixture/good@npm:^1.0.0', 'npm:@pg-fixture/bad@1.0.0']);
    expectBlocked(p, r, lock, '@pg-fixture/bad');
    expect(readFileSync(join(p.dir, 'node_modules/@pg-fixture/good/package.json'), 'utf8')).toContain('"name": "@pg-fixture/good"');
  });

  test('yarn install --immutable with a cold and with a warm cache', async () => {
    // A lockfile pinning the bad package, made without the plugin; its cache is then warm.
    const unguarded = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/bad': '^1.0.0' }, { plugin: false });
    expect((await unguarded.yarn(['install'])).code).toBe(0);
    const lock = unguarded.lockfile();
    expect(lock).toContain('@pg-fixture/bad@npm:1.0.0');
    const warmCache = join(unguarded.env.YARN_GLOBAL_FOLDER!, '..', 'yarn-cache');

    for (const cacheFolder of [undefined, warmCache]) {
      const p = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/bad': '^1.0.0' }, cacheFolder ? { cacheFolder } : {});
      writeFileSync(join(p.dir, 'yarn.lock'), lock);
      const r = await p.yarn(['install', '--immutable']);
      expectBlocked(p, r, lock, '@pg-fixture/bad');
      expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    }
    // The warm-cache project, unblocked by an env override of the mode: installs from the cache.
    const p = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/bad': '^1.0.0' }, { cacheFolder: warmCache });
    writeFileSync(join(p.dir, 'yarn.lock'), lock);
    const r = await p.yarn(['install', '--immutable'], { PROVENANCE_GUARD_MODE: 'warn' });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('@pg-fixture/bad@1.0.0 warns by the provenance policy');
    expect(p.ran()).toEqual(['@pg-fixture_bad', '@pg-fixture_good']);
  });

  test('an npm: alias is checked under the real package name', async () => {
    const p = project({ nice: 'npm:@pg-fixture/bad@1.0.0', fine: 'npm:@pg-fixture/good@1.0.0' });
    const r = await p.yarn(['install']);
    expectBlocked(p, r, '', '@pg-fixture/bad');
    expect(existsSync(join(p.dir, 'node_modules/nice'))).toBe(false);

    const q = project({ fine: 'npm:@pg-fixture/good@1.0.0' });
    const s = await q.yarn(['install']);
    expect(s.code, s.output).toBe(0);
    expect(existsSync(join(q.dir, 'node_modules/fine/package.json'))).toBe(true);
  });

  test('a git dependency is a non-registry source: blocked before Yarn clones and packs it', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/gitdep': gitUrl });
    const r = await p.yarn(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(/@pg-fixture\/gitdep@git\+http:.* is blocked by the provenance policy: source:/);
    expect(r.output).toContain('package: "@pg-fixture/gitdep", rules: [source]');
    expect(p.ran()).toEqual([]); // not even its prepack
    expect(existsSync(join(root, 'stray-markers', 'gitdep-prepack'))).toBe(false);
    expect(p.installed('@pg-fixture/gitdep')).toBe(false);
    expect(p.lockfile()).toBe('');

    // Excluded: it installs, and the lockfile-pinned re-install is checked with its version.
    const q = project({ '@pg-fixture/gitdep': gitUrl }, { rcExtra: 'exclude: ["@pg-fixture/gitdep"]' });
    const s = await q.yarn(['install']);
    expect(s.code, s.output).toBe(0);
    expect(q.ran()).toContain('@pg-fixture_gitdep');
    const t = await q.yarn(['install', '--immutable']);
    expect(t.code, t.output).toBe(0);
  });

  test('a tarball-URL dependency is blocked before Yarn downloads it', async () => {
    // Not the registry's own URL of good@1.0.0 (a query): that one is the registry package (test/yarn-agreement.test.ts).
    const tarball = `${registry.url}/@pg-fixture/good/-/good-1.0.0.tgz?via=url`;
    const p = project({ fromurl: tarball });
    const r = await p.yarn(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain(`fromurl@${tarball} is blocked by the provenance policy: source:`);
    expect(cachedArchives(p)).toEqual([]);
    expect(p.ran()).toEqual([]);
    expect(p.lockfile()).toBe('');
  });

  test('warn mode from .yarnrc.yml installs and warns; PROVENANCE_GUARD_MODE wins over it', async () => {
    const p = project({ '@pg-fixture/bad': '^1.0.0' }, { yarnrc: ['provenanceMode: warn'] });
    const blocked = await p.yarn(['install'], { PROVENANCE_GUARD_MODE: 'block' });
    expectBlocked(p, blocked, '', '@pg-fixture/bad');
    const r = await p.yarn(['install']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/YN0000: .*@pg-fixture\/bad@1\.0\.0 warns by the provenance policy: scorecard/);
    expect(p.ran()).toEqual(['@pg-fixture_bad']);
  });

  test('provenanceMode: off skips the check; an invalid value is a Yarn config error', async () => {
    const p = project({ '@pg-fixture/bad': '^1.0.0' }, { yarnrc: ['provenanceMode: off'] });
    expect((await p.yarn(['install'])).code).toBe(0);
    const q = project({ '@pg-fixture/bad': '^1.0.0' }, { yarnrc: ['provenanceMode: loud'] });
    const r = await q.yarn(['install']);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('Invalid value, expected one of block, warn, off');
    expect(r.output).toContain(join(q.dir, '.yarnrc.yml'));
    expect(q.ran()).toEqual([]);
  });

  test('workspaces: a blocked dependency of a workspace blocks, fresh and --immutable; workspace packages are not checked', async () => {
    const setup = (p: YarnProject) => {
      writeFileSync(join(p.dir, 'package.json'), JSON.stringify({ name: 'mono', private: true, workspaces: ['packages/*'] }));
      for (const [name, deps] of [['a', { '@pg-fixture/good': '^1.0.0', b: 'workspace:^' }], ['b', { '@pg-fixture/parent': '^1.0.0' }]] as const) {
        mkdirSync(join(p.dir, 'packages', name), { recursive: true });
        writeFileSync(join(p.dir, 'packages', name, 'package.json'), JSON.stringify({ name, version: '1.0.0', dependencies: deps }));
      }
    };
    const p = project({});
    setup(p);
    expectBlocked(p, await p.yarn(['install']), '', '@pg-fixture/bad');

    const unguarded = project({}, { plugin: false });
    setup(unguarded);
    expect((await unguarded.yarn(['install'])).code).toBe(0);
    const q = project({});
    setup(q);
    writeFileSync(join(q.dir, 'yarn.lock'), unguarded.lockfile());
    const r = await q.yarn(['install', '--immutable']);
    expectBlocked(q, r, unguarded.lockfile(), '@pg-fixture/bad');
    expect(r.output).not.toMatch(/(^|\s)[ab]@.* is blocked/);
  });

  test("Plug'n'Play (Yarn's default linker) is gated the same way", async () => {
    const p = createYarnProject({ registryUrl: registry.url, dependencies: { '@pg-fixture/parent': '^1.0.0' }, provenancerc: rc(), root, nodeLinker: 'pnp' });
    const r = await p.yarn(['install']);
    expectBlocked(p, r, '', '@pg-fixture/bad');
    expect(existsSync(join(p.dir, '.pnp.cjs'))).toBe(false);
    p.writePackageJson({ '@pg-fixture/good': '^1.0.0' });
    const ok = await p.yarn(['install']);
    expect(ok.code, ok.output).toBe(0);
    expect(existsSync(join(p.dir, '.pnp.cjs'))).toBe(true);
    expect(p.ran()).toEqual(['@pg-fixture_good']);
  });

  test('provenanceConfig in .yarnrc.yml points at the config file', async () => {
    const p = project({ '@pg-fixture/bad': '^1.0.0' }, { yarnrc: ['provenanceConfig: ./config/guard.yml'] });
    mkdirSync(join(p.dir, 'config'));
    writeFileSync(join(p.dir, 'config', 'guard.yml'), rc());
    writeFileSync(join(p.dir, '.provenancerc'), rc().replace('mode: block', 'mode: off'));
    expectBlocked(p, await p.yarn(['install']), '', '@pg-fixture/bad');
    rmSync(join(p.dir, 'config', 'guard.yml'));
    const r = await p.yarn(['install']);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(join(p.dir, 'config', 'guard.yml'));
    expect(p.ran()).toEqual([]);
  });

  test('offline: the cached/local feed still blocks; an unavailable feed fails closed', async () => {
    const p = project({ '@pg-fixture/bad': '^1.0.0' });
    expectBlocked(p, await p.yarn(['install'], { PROVENANCE_GUARD_OFFLINE: '1' }), '', '@pg-fixture/bad');

    const q = project({ '@pg-fixture/good': '^1.0.0' });
    writeFileSync(join(q.dir, '.provenancerc'), rc().replace(/source: .*/, 'source: https://127.0.0.1:9/verdicts.feed'));
    const r = await q.yarn(['install'], { PROVENANCE_GUARD_OFFLINE: '1' });
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain('provenance-guard:');
    expect(q.installed('@pg-fixture/good')).toBe(false);
    expect(q.ran()).toEqual([]);
  });

  test('an invalid .provenancerc fails closed, naming the file', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0' });
    writeFileSync(join(p.dir, '.provenancerc'), rc().replace('mode: block', 'mode: loud'));
    const r = await p.yarn(['install']);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(join(p.dir, '.provenancerc'));
    expect(r.output).toContain('mode');
    expect(p.ran()).toEqual([]);
  });

  test('the integrity is compared offline (the fetched bytes) and online (also the registry metadata)', async () => {
    const p = project({ '@pg-fixture/tampered': '^1.0.0' });
    const offline = await p.yarn(['install']);
    expect(offline.code, offline.output).not.toBe(0);
    expect(offline.output).toMatch(/@pg-fixture\/tampered@1\.0\.0 is blocked by the provenance policy: integrity:/);
    expect(p.ran()).toEqual([]);

    const q = project({ '@pg-fixture/tampered': '^1.0.0' }, { rcExtra: 'online: true' });
    const r = await q.yarn(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(/@pg-fixture\/tampered@1\.0\.0 is blocked by the provenance policy: integrity:/);
    expect(r.output).toContain('No override can waive integrity');
    expect(q.ran()).toEqual([]);
  });
});

describe('yarn provenance commands', () => {
  test('check --format json|sarif|human and explain, with the CLI exit codes', async () => {
    const unguarded = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/parent': '^1.0.0' }, { plugin: false });
    expect((await unguarded.yarn(['install'])).code).toBe(0);
    const p = project({ '@pg-fixture/good': '^1.0.0', '@pg-fixture/parent': '^1.0.0' });
    writeFileSync(join(p.dir, 'yarn.lock'), unguarded.lockfile());

    const json = await p.yarn(['provenance', 'check', '--format', 'json']);
    expect(json.code, json.output).toBe(1);
    const report = JSON.parse(json.stdout) as { summary: Record<string, number>; packages: { name: string; verdict: string; findings: { rule: string }[] }[] };
    expect(report.summary).toEqual({ packages: 3, pass: 2, warn: 0, block: 1, skip: 0 });
    const bad = report.packages.find((x) => x.name === '@pg-fixture/bad')!;
    expect(bad.verdict).toBe('block');
    expect(bad.findings.map((f) => f.rule)).toEqual(['scorecard']);

    const sarif = await p.yarn(['provenance', 'check', '--format', 'sarif', '--offline']);
    expect(sarif.code).toBe(1);
    const log = JSON.parse(sarif.stdout) as { version: string; runs: { results: { ruleId: string; locations?: unknown[] }[] }[] };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.results.map((x) => x.ruleId)).toEqual(['scorecard']);

    const human = await p.yarn(['provenance', 'check']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('3 packages checked — 1 blocked');

    const explain = await p.yarn(['provenance', 'explain', '@pg-fixture/bad@1.0.0']);
    expect(explain.code, explain.output).toBe(1);
    expect(explain.stdout).toContain('@pg-fixture/bad@1.0.0');
    expect(explain.stdout).toMatch(/scorecard/);
    const fine = await p.yarn(['provenance', 'explain', '@pg-fixture/good@1.0.0']);
    expect(fine.code, fine.output).toBe(0);

    const usage = await p.yarn(['provenance', 'check', '--format', 'xml']);
    expect(usage.code).not.toBe(0);

    writeFileSync(join(p.dir, '.provenancerc'), 'mode: [');
    const broken = await p.yarn(['provenance', 'check', '--format', 'json']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('.provenancerc');
  });

  test('check on a project whose yarn.lock is out of date exits 2', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0' });
    const r = await p.yarn(['provenance', 'check']);
    expect(r.code, r.output).toBe(2);
    expect(r.stderr).toContain('yarn.lock');
  });
});

describe('initYarn', () => {
  test('installs the bundle like `yarn plugin import` and Yarn loads it', async () => {
    const p = project({ '@pg-fixture/bad': '^1.0.0' }, { plugin: false });
    const before = readFileSync(join(p.dir, '.yarnrc.yml'), 'utf8');
    writeFileSync(join(p.dir, '.yarnrc.yml'), `# project settings\n${before}`);
    initYarn(p.dir, { bundlePath: PLUGIN_BUNDLE });
    initYarn(p.dir, { bundlePath: PLUGIN_BUNDLE }); // idempotent
    const yarnrc = readFileSync(join(p.dir, '.yarnrc.yml'), 'utf8');
    expect(yarnrc).toContain('# project settings');
    expect(yarnrc.match(/path: \.yarn\/plugins\/@yarnpkg\/plugin-provenance\.cjs/g)?.length).toBe(1);
    expect(yarnrc).toMatch(/checksum: [0-9a-f]{128}/);
    expect(readFileSync(join(p.dir, '.yarn/plugins/@yarnpkg/plugin-provenance.cjs'))).toEqual(readFileSync(PLUGIN_BUNDLE));
    const r = await p.yarn(['install']);
    expectBlocked(p, r, '', '@pg-fixture/bad');

    // A project with no .yarnrc.yml at all.
    const dir = mkdtempSync(join(root, 'pg-init-'));
    initYarn(dir, { bundlePath: PLUGIN_BUNDLE });
    expect(readFileSync(join(dir, '.yarnrc.yml'), 'utf8')).toMatch(/^plugins:\n {2}- checksum: [0-9a-f]+\n {4}path: \.yarn\/plugins\/@yarnpkg\/plugin-provenance\.cjs\n/);
  });
});

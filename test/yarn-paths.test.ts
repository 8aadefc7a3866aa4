/**
 * The less common Yarn 4.18.1 paths, against a real verdaccio (README "What the plugin reaches"):
 * - `yarn rebuild` over a node_modules made with the plugin off re-runs build scripts: the gate
 *   (validateProject) refuses it;
 * - `yarn up X` keeping X's range (and `up -R X`) forgets X's resolution in memory: the gate
 *   resolves it anew, as the install does;
 * - `yarn patch` calls no hook: it fetches and extracts the locked package into a temporary folder
 *   (documented); the install that uses the patch checks the package under it;
 * - `yarn pack --install-if-needed` (a project with build scripts): the install it runs is stopped
 *   by the gate, though Yarn does not show the error and packs.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { FeedRecord } from '../src/types';
import { buildTestFeed, makeKeys } from './helpers/feed-fixtures';
import { startRegistry, type TestRegistry } from './helpers/registry';
import { assertFreshBundle, cachedArchives, createYarnProject, markerScript, type YarnProject } from './helpers/yarn';

let registry: TestRegistry;
let rc: string;
const root = mkdtempSync(join(tmpdir(), 'pg-yarn-paths-'));
const OFF = { PROVENANCE_GUARD_MODE: 'off' };
const GOOD = { repository: { url: 'https://github.com/pg-fixture/good', commit: 'a'.repeat(40), status: 'claimed' }, rebuild: { verdict: 'reproducible', source: 'oss-rebuild' }, scorecard: { score: 8 } } as const;

beforeAll(async () => {
  assertFreshBundle();
  registry = await startRegistry();
  const records: FeedRecord[] = [];
  for (const [name, score] of [['@pg-fixture/good', 8], ['@pg-fixture/bad', 2]] as const) {
    const pkg = await registry.publish({ name, version: '1.0.0', scripts: markerScript(name, join(root, 'stray-markers')) });
    records.push({ name, version: '1.0.0', integrity: pkg.integrity, ...GOOD, scorecard: { score } } as FeedRecord);
  }
  const keys = makeKeys(join(root, 'keys'));
  const feed = await buildTestFeed(keys, records, join(root, 'verdicts.feed'));
  rc = ['mode: block', 'feed:', `  source: ${feed}`, `  publicKeys: ["${keys.publicKey}"]`, '  maxAge: 30d', 'rules:', '  scorecard: { minScore: 5 }', 'unknown: block', ''].join('\n');
});

afterAll(async () => {
  await registry?.close();
  rmSync(root, { recursive: true, force: true });
});

function project(dependencies: Record<string, string>): YarnProject {
  return createYarnProject({ registryUrl: registry.url, dependencies, provenancerc: rc, root });
}

/** Installed with the plugin off (a clone whose node_modules or yarn.lock nobody checked); markers cleared. */
async function installedUnchecked(p: YarnProject): Promise<void> {
  const r = await p.yarn(['install'], OFF);
  expect(r.code, r.output).toBe(0);
  rmSync(p.markers, { recursive: true, force: true });
  mkdirSync(p.markers);
}

const blocked = (output: string) => output.includes('@pg-fixture/bad@1.0.0 is blocked by the provenance policy');

test('yarn rebuild, and yarn up keeping the range, over a node_modules made with the plugin off are refused; a passing project rebuilds and ups', async () => {
  const p = project({ '@pg-fixture/bad': '^1.0.0' });
  await installedUnchecked(p);
  // `up X` keeping X's range forgets X's resolution in memory (yarn.lock unchanged): resolved anew, then refused.
  for (const args of [['rebuild'], ['up', '@pg-fixture/bad']]) {
    const r = await p.yarn(args);
    expect(r.code, r.output).not.toBe(0);
    expect(blocked(r.output), r.output).toBe(true);
    expect(p.ran()).toEqual([]);
  }

  const q = project({ '@pg-fixture/good': '^1.0.0' });
  expect((await q.yarn(['install'])).code).toBe(0);
  rmSync(q.markers, { recursive: true, force: true });
  const ok = await q.yarn(['rebuild']);
  expect(ok.code, ok.output).toBe(0);
  expect(q.ran()).toEqual(['@pg-fixture_good']);
  const up = await q.yarn(['up', '@pg-fixture/good']);
  expect(up.code, up.output).toBe(0);
});

test('yarn patch extracts a locked package unchecked (documented); the install of the patch is refused', async () => {
  const p = project({ '@pg-fixture/bad': '1.0.0' });
  await installedUnchecked(p);
  // Only yarn.lock is left: Yarn downloads the package again to extract it.
  rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
  rmSync(join(p.env.YARN_GLOBAL_FOLDER!, '..', 'yarn-cache'), { recursive: true, force: true });
  const r = await p.yarn(['patch', '@pg-fixture/bad', '--json']);
  expect(r.code, r.output).toBe(0);
  const folder = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { path: string }).path;
  expect(existsSync(join(folder, 'package.json'))).toBe(true);
  expect(cachedArchives(p)).toHaveLength(1);
  expect(p.ran()).toEqual([]);

  writeFileSync(join(folder, 'index.js'), 'module.exports = 2;\n');
  expect((await p.yarn(['patch-commit', '-s', folder])).code).toBe(0);
  expect(readFileSync(join(p.dir, 'package.json'), 'utf8')).toContain('patch:@pg-fixture/bad@npm%3A1.0.0');
  const install = await p.yarn(['install']);
  expect(install.code, install.output).not.toBe(0);
  expect(blocked(install.output), install.output).toBe(true);
  expect(p.installed('@pg-fixture/bad')).toBe(false);
  expect(p.ran()).toEqual([]);
});

test('yarn pack --install-if-needed: the install it runs is stopped (Yarn hides the error and packs)', async () => {
  const withPrepack = (p: YarnProject) =>
    writeFileSync(join(p.dir, 'package.json'), JSON.stringify({ name: 'pg-yarn-pack', version: '1.0.0', scripts: { prepack: 'node -e 1' }, dependencies: { '@pg-fixture/bad': '1.0.0' } }));
  const p = project({});
  withPrepack(p);
  const r = await p.yarn(['pack', '--install-if-needed']);
  expect(r.code, r.output).toBe(0);
  expect(p.installed('@pg-fixture/bad')).toBe(false);
  expect(cachedArchives(p)).toEqual([]);
  expect(p.ran()).toEqual([]);
  // Without the gate the same command installs the package and runs its postinstall.
  const q = project({});
  withPrepack(q);
  expect((await q.yarn(['pack', '--install-if-needed'], OFF)).code).toBe(0);
  expect(q.ran()).toEqual(['@pg-fixture_bad']);
});

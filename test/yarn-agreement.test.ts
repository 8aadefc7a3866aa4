/**
 * Attacker-shaped Yarn inputs (aliases, registry tarball URLs, `__archiveUrl`, patches, local and
 * exec sources, edited yarn.lock entries) against Yarn 4.18.1 and a real verdaccio: what Yarn
 * installs, and that `provenance-guard check` (src/lockfile/yarn.ts) and the Yarn plugin
 * (plugins/yarn) name and classify it alike (SPEC "Verdicts").
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FeedRecord } from '../src/types';
import { buildTestFeed, makeKeys } from './helpers/feed-fixtures';
import { startRegistry, type TestRegistry } from './helpers/registry';
import { assertFreshBundle, cachedArchives, createYarnProject, markerScript, type YarnProject } from './helpers/yarn';
import { runCli } from './helpers/cli';

let registry: TestRegistry;
/** Serves other bytes under @pg-fixture/good@1.0.0 (an `__archiveUrl` a pull request points elsewhere). */
let impostor: TestRegistry;
let rc: string;
const root = mkdtempSync(join(tmpdir(), 'pg-yarn-agree-'));
const GOOD = { repository: { url: 'https://github.com/pg-fixture/good', commit: 'a'.repeat(40), status: 'claimed' }, rebuild: { verdict: 'reproducible', source: 'oss-rebuild' }, scorecard: { score: 8 } } as const;

beforeAll(async () => {
  assertFreshBundle();
  [registry, impostor] = await Promise.all([startRegistry(), startRegistry()]);
  const stray = join(root, 'stray-markers');
  const records: FeedRecord[] = [];
  await registry.publish({ name: '@pg-fixture/notinfeed', version: '1.0.0', scripts: markerScript('@pg-fixture/notinfeed', stray) });
  for (const name of ['@pg-fixture/good', '@pg-fixture/tampered']) {
    const pkg = await registry.publish({ name, version: '1.0.0', scripts: markerScript(name, stray) });
    // The feed attests other bytes for `tampered` than the registry serves.
    const integrity = name === '@pg-fixture/tampered' ? 'sha512-' + Buffer.alloc(64, 7).toString('base64') : pkg.integrity;
    records.push({ name, version: '1.0.0', integrity, ...GOOD } as FeedRecord);
  }
  await impostor.publish({ name: '@pg-fixture/good', version: '1.0.0', scripts: markerScript('evil', stray), files: { 'evil.js': 'pwned' } });
  const keys = makeKeys(join(root, 'keys'));
  const feed = await buildTestFeed(keys, records, join(root, 'verdicts.feed'));
  rc = ['mode: block', 'feed:', `  source: ${feed}`, `  publicKeys: ["${keys.publicKey}"]`, '  maxAge: 30d', '  offline: true', 'rules:', '  repository: { require: claimed, allowedHosts: [github.com] }', 'unknown: block', ''].join('\n');
});

afterAll(async () => {
  await Promise.all([registry?.close(), impostor?.close()]);
  rmSync(root, { recursive: true, force: true });
});

function project(dependencies: Record<string, string>, options: { plugin?: boolean; rcExtra?: string } = {}): YarnProject {
  return createYarnProject({ registryUrl: registry.url, dependencies, provenancerc: rc + (options.rcExtra ?? ''), root, ...(options.plugin === false ? { plugin: false } : {}) });
}

const text = (output: string) => output.replace(/\s+/g, ' ');

/** name@version:source of every package `provenance-guard check` reads from the project's yarn.lock. */
async function checkSees(p: YarnProject): Promise<string[]> {
  const c = await runCli(p.dir, ['check', '--format', 'json']);
  const report = JSON.parse(c.stdout) as { packages: { name: string; version: string; findings: { rule: string; message: string }[] }[] };
  return report.packages.map((pkg) => `${pkg.name}@${pkg.version}:${pkg.findings.some((f) => f.rule === 'source') ? 'not-registry' : 'registry'}`).sort();
}

function expectNothingOf(p: YarnProject, name: string): void {
  expect(p.installed(name)).toBe(false);
  expect(p.ran()).toEqual([]);
  expect(existsSync(join(p.dir, 'node_modules', name))).toBe(false);
}

describe('Yarn: an http(s) dependency on the registry\'s own tarball URL is that registry package, its bytes bound to the feed', () => {
  test('under an alias (`foo: <registry URL of good>`): checked as @pg-fixture/good@1.0.0 and installed; `check` agrees', async () => {
    const p = project({ foo: `${registry.url}/@pg-fixture/good/-/good-1.0.0.tgz` });
    const r = await p.yarn(['install']);
    expect(r.code, r.output).toBe(0);
    expect(existsSync(join(p.dir, 'node_modules/foo/package.json'))).toBe(true);
    expect(p.lockfile()).toContain(`resolution: "foo@${registry.url}/@pg-fixture/good/-/good-1.0.0.tgz"`);
    expect(await checkSees(p)).toEqual(['@pg-fixture/good@1.0.0:registry']);
  });

  test.each([['its own name', '@pg-fixture/tampered'], ['an alias', 'foo']])('under %s: a tarball whose sha512 is not the feed\'s is refused before linking, no script runs', async (_, key) => {
    const p = project({ [key]: `${registry.url}/@pg-fixture/tampered/-/tampered-1.0.0.tgz` });
    const r = await p.yarn(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(text(r.output)).toMatch(/@pg-fixture\/tampered@1\.0\.0 is blocked by the provenance policy: integrity: the downloaded tarball's integrity sha512-\S+ does not match the feed's/);
    expectNothingOf(p, key);
    // Not even Yarn's cache holds it: the gate's dry resolution, which downloads a URL dependency to read its manifest, binds its bytes too.
    expect(cachedArchives(p)).toEqual([]);
    expect(r.output).not.toContain('ERR_PG_INTERNAL');
    expect(r.output).toContain('provenance-guard blocked 1 package: nothing was installed and no package script ran');
  });
});

describe('Yarn: an `__archiveUrl` a yarn.lock entry points elsewhere borrows nothing from the registry package it names', () => {
  test('the gate and `check` see a tarball; nothing of it is installed and no script runs', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' }, { plugin: false });
    const first = await p.yarn(['install', '--mode=update-lockfile']);
    expect(first.code, first.output).toBe(0);
    const evil = `${impostor.url}/@pg-fixture/good/-/good-1.0.0.tgz`;
    const lock = p.lockfile().replace('resolution: "@pg-fixture/good@npm:1.0.0"', `resolution: "@pg-fixture/good@npm:1.0.0::__archiveUrl=${encodeURIComponent(evil)}"`);
    expect(lock).toContain('__archiveUrl');
    writeFileSync(join(p.dir, 'yarn.lock'), lock);
    expect(await checkSees(p)).toEqual(['@pg-fixture/good@1.0.0:not-registry']);
    const withPlugin = project({ '@pg-fixture/good': '1.0.0' });
    writeFileSync(join(withPlugin.dir, 'yarn.lock'), lock);
    const r = await withPlugin.yarn(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(text(r.output)).toContain(`@pg-fixture/good@1.0.0 is blocked by the provenance policy`);
    expect(text(r.output)).toContain(`installed from a tarball URL (${evil})`);
    expectNothingOf(withPlugin, '@pg-fixture/good');
  });
});

describe('Yarn: an npm: alias is the package it names; `exclude` applies to that name, never to the alias', () => {
  test('excluding the alias does not let the aliased package in', async () => {
    const p = project({ '@pg-fixture/unlisted': 'npm:@pg-fixture/tampered@1.0.0' }, { rcExtra: 'exclude: ["@pg-fixture/unlisted"]\n' });
    const r = await p.yarn(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(text(r.output)).toMatch(/@pg-fixture\/tampered@1\.0\.0 is blocked by the provenance policy: integrity: the downloaded tarball's integrity/);
    expectNothingOf(p, '@pg-fixture/unlisted');
  });

  test('excluding the aliased package lets it in under the alias; `check` names and skips it alike', async () => {
    const p = project({ nice: 'npm:@pg-fixture/notinfeed@1.0.0' }, { rcExtra: 'exclude: ["@pg-fixture/notinfeed"]\n' });
    const r = await p.yarn(['install']);
    expect(r.code, r.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture_notinfeed']);
    const c = await runCli(p.dir, ['check', '--format', 'json']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).packages).toEqual([{ name: '@pg-fixture/notinfeed', version: '1.0.0', verdict: 'skip', findings: [] }]);
    // Excluding only the alias name: the package is checked (not in the feed: unknown: block) by both.
    const q = project({ nice: 'npm:@pg-fixture/notinfeed@1.0.0' }, { rcExtra: 'exclude: ["nice"]\n' });
    const s = await q.yarn(['install']);
    expect(s.code, s.output).not.toBe(0);
    expect(text(s.output)).toContain('@pg-fixture/notinfeed@1.0.0 is blocked by the provenance policy');
    expectNothingOf(q, 'nice');
  });
});

describe('Yarn: a yarn.lock entry edited in a pull request is checked as what Yarn fetches for it', () => {
  test('key and checksum of good, resolution of tampered: the gate and `check` name tampered; nothing installed', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' }, { plugin: false });
    expect((await p.yarn(['install', '--mode=update-lockfile'])).code).toBe(0);
    const lock = p.lockfile().replace('resolution: "@pg-fixture/good@npm:1.0.0"', 'resolution: "@pg-fixture/tampered@npm:1.0.0"');
    expect(lock).toContain('"@pg-fixture/good@npm:1.0.0":');
    writeFileSync(join(p.dir, 'yarn.lock'), lock);
    expect(await checkSees(p)).toEqual(['@pg-fixture/tampered@1.0.0:registry']);
    for (const args of [['install'], ['install', '--immutable']]) {
      const q = project({ '@pg-fixture/good': '1.0.0' });
      writeFileSync(join(q.dir, 'yarn.lock'), lock);
      const r = await q.yarn(args);
      expect(r.code, r.output).not.toBe(0);
      // Yarn fetches the resolution's package (measured: both paths), and the fetcher binds it as tampered.
      expect(text(r.output), args.join(' ')).toMatch(/@pg-fixture\/tampered@1\.0\.0 is blocked by the provenance policy: integrity: the downloaded tarball's integrity/);
      expectNothingOf(q, '@pg-fixture/good');
    }
  });
});

/** A patch that adds a file (the project's own content, committed beside package.json). */
const PATCH = ['diff --git a/added.js b/added.js', 'new file mode 100644', 'index 0000000..0000001', '--- /dev/null', '+++ b/added.js', '@@ -0,0 +1 @@', '+module.exports = 1;', ''].join('\n');

describe('Yarn: patch:, portal: outside the project and exec:', () => {
  test('a patch of a registry package is that package: its downloaded bytes are bound like the unpatched ones\'', async () => {
    const ok = project({ '@pg-fixture/good': 'patch:@pg-fixture/good@npm%3A1.0.0#./good.patch' });
    writeFileSync(join(ok.dir, 'good.patch'), PATCH);
    const r = await ok.yarn(['install']);
    expect(r.code, r.output).toBe(0);
    expect(existsSync(join(ok.dir, 'node_modules/@pg-fixture/good/added.js'))).toBe(true);
    expect(await checkSees(ok)).toEqual(['@pg-fixture/good@1.0.0:registry']);

    const bad = project({ '@pg-fixture/tampered': 'patch:@pg-fixture/tampered@npm%3A1.0.0#./t.patch' });
    writeFileSync(join(bad.dir, 't.patch'), PATCH);
    const s = await bad.yarn(['install']);
    expect(s.code, s.output).not.toBe(0);
    expect(text(s.output)).toMatch(/@pg-fixture\/tampered@1\.0\.0 is blocked by the provenance policy: integrity: the downloaded tarball's integrity/);
    expectNothingOf(bad, '@pg-fixture/tampered');
  });

  test('portal: to a folder outside the project is a link source: blocked before Yarn reads it, no script runs; `check` agrees', async () => {
    const outside = mkdtempSync(join(root, 'outside-'));
    writeFileSync(join(outside, 'package.json'), JSON.stringify({ name: 'out', version: '1.0.0', scripts: markerScript('out', join(root, 'stray-markers')) }));
    const p = project({ out: `portal:${outside}` });
    const r = await p.yarn(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain('is blocked by the provenance policy: source:');
    expectNothingOf(p, 'out');
    const q = project({ out: `portal:${outside}` }, { plugin: false });
    expect((await q.yarn(['install', '--mode=update-lockfile'])).code).toBe(0);
    expect(await checkSees(q)).toEqual(['out@1.0.0:not-registry']);
  });

  test('exec: is never the registry: blocked before Yarn runs its generator; `check` agrees', async () => {
    const generated = join(root, 'exec-generator-ran');
    const gen = `require('fs').writeFileSync(${JSON.stringify(generated)}, 'ran');\nrequire('fs').writeFileSync(require('path').join(execEnv.buildDir, 'package.json'), JSON.stringify({ name: 'gen', version: '1.0.0' }));\n`;
    const p = project({ gen: 'exec:./gen.js' });
    writeFileSync(join(p.dir, 'gen.js'), gen);
    const r = await p.yarn(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain('gen@exec:./gen.js is blocked by the provenance policy: source:');
    expect(existsSync(generated)).toBe(false);
    expectNothingOf(p, 'gen');
    const q = project({ gen: 'exec:./gen.js' }, { plugin: false });
    writeFileSync(join(q.dir, 'gen.js'), gen);
    const made = await q.yarn(['install', '--mode=update-lockfile']);
    expect(made.code, made.output).toBe(0);
    expect(existsSync(generated)).toBe(true); // without the plugin Yarn runs it while resolving
    expect(await checkSees(q)).toEqual(['gen@1.0.0:not-registry']);
  });
});

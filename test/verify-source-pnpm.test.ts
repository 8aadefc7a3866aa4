/**
 * The whole path with a real install: a tarball with an install script that is in no
 * repository, a feed built with `feed build --verify-source` from the local git server and
 * verdaccio, and real pnpm 10 and 12 with the guard's pnpmfile: the diverged package is blocked under
 * rules.contents before anything of it lands in node_modules or runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { startGitServer, type GitServer } from './helpers/git-server';
import { createPnpmProject, ensurePnpmBundle, markerDir, PNPM_VERSIONS, type PnpmProject } from './helpers/pm';
import { manifestText, publishFiles } from './helpers/publish-files';
import { startRegistry, type TestRegistry } from './helpers/registry';

const INJECTED = '@pg-fixture/pnpm-injected';
const CLEAN = '@pg-fixture/pnpm-clean';
let git: GitServer;
let registry: TestRegistry;
let work: string;
let markers: string;
let feed: string;
let publicKey: string;

beforeAll(async () => {
  [git, registry] = await Promise.all([startGitServer(), startRegistry(), ensurePnpmBundle()]);
  work = mkdtempSync(join(tmpdir(), 'pg-verify-pnpm-'));
  markers = markerDir();
  const injected = { name: INJECTED, version: '1.0.0', main: 'index.js', repository: 'github:pg-fixture/pnpm-injected' };
  const commit = git.createRepo({ slug: 'pg-fixture/pnpm-injected', files: { 'package.json': manifestText(injected), 'index.js': 'module.exports = 1;\n' } });
  const install = `require('fs').writeFileSync(require('path').join(${JSON.stringify(markers)}, '${INJECTED.replace('/', '+')}@1.0.0--' + process.env.PG_PROJECT_ID), '');\n`;
  await publishFiles(registry.url, {
    files: { 'package.json': manifestText({ ...injected, scripts: { postinstall: 'node install.js' } }), 'index.js': 'module.exports = 1;\n', 'install.js': install },
    metadata: { gitHead: commit },
  });
  const clean = { name: CLEAN, version: '1.0.0', main: 'index.js', repository: 'github:pg-fixture/pnpm-clean' };
  const cleanCommit = git.createRepo({ slug: 'pg-fixture/pnpm-clean', files: { 'package.json': manifestText(clean), 'index.js': 'module.exports = 2;\n' } });
  await publishFiles(registry.url, { files: { 'package.json': manifestText(clean), 'index.js': 'module.exports = 2;\n' }, metadata: { gitHead: cleanCommit } });

  const env = { PATH: process.env.PATH, HOME: work, npm_config_userconfig: join(work, '.npmrc'), GIT_CONFIG_GLOBAL: git.gitConfig, GIT_CONFIG_NOSYSTEM: '1' };
  writeFileSync(join(work, '.npmrc'), `registry=${registry.url}/\n`);
  writeFileSync(join(work, '.provenancerc'), `mode: off\nsources:\n  registry: { url: "${registry.url}" }\n  provenance: off\n  depsDev: off\n  scorecard: off\n  ossRebuild: off\n`);
  publicKey = (await runCli(work, ['feed', 'keygen', '--out-dir', 'keys'], env)).stdout.trim();
  const built = await runCli(work, ['feed', 'build', '--packages', `${INJECTED}@1.0.0,${CLEAN}@1.0.0`, '--verify-source', '--key', 'keys/feed.key', '--out', 'feed'], env);
  expect(built.code, built.stderr).toBe(0);
  feed = join(work, 'feed');
}, 180_000);

afterAll(async () => {
  await Promise.all([git?.close(), registry?.close()]);
  rmSync(work, { recursive: true, force: true });
  rmSync(markers, { recursive: true, force: true });
});

const rc = () =>
  [`mode: block`, 'feed:', `  source: ${JSON.stringify(feed)}`, `  publicKeys: [${JSON.stringify(publicKey)}]`, '  offline: true', 'rules:', '  repository: off', '  contents: { require: built }', 'unknown: allow', ''].join('\n');

test.each(PNPM_VERSIONS)('pnpm %s: a package diverged from its source is blocked at install under rules.contents; a matching one installs', async (version) => {
  const projects: PnpmProject[] = [];
  const project = (dependencies: Record<string, string>) => {
    const p = createPnpmProject({ version, registryUrl: registry.url, markers, dependencies, allowBuilds: [INJECTED], provenancerc: rc(), workspace: { sideEffectsCache: false } });
    projects.push(p);
    return p;
  };
  try {
    const blocked = project({ [INJECTED]: '1.0.0', [CLEAN]: '1.0.0' });
    const r = await blocked.pnpm(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output.replace(/\s+/g, ' ')).toContain('[contents]');
    expect(blocked.installed(INJECTED)).toEqual([]);
    expect(blocked.ran()).toEqual([]);
    expect(blocked.lockfile()).toBeUndefined();

    const ok = project({ [CLEAN]: '1.0.0' });
    const installed = await ok.pnpm(['install']);
    expect(installed.code, installed.output).toBe(0);
    expect(ok.installed(CLEAN).length).toBeGreaterThan(0);
  } finally {
    for (const p of projects) rmSync(dirname(p.dir), { recursive: true, force: true });
  }
});

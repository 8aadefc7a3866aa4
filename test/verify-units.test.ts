/** Source match pieces on their own: repository mapping, commit tags, package.json rules, classification, git safety, policy. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { validateConfig } from '../src/config/validate';
import { combineRepository } from '../src/evidence/index';
import { versionInfoFromPackument } from '../src/evidence/registry';
import { normalizeRepository } from '../src/evidence/repository';
import { Policy } from '../src/policy/evaluate';
import type { FeedRecord, ResolvedPackage } from '../src/types';
import { findVersionTag, tagCandidates } from '../src/verify/commit';
import { classify, compareContents } from '../src/verify/compare';
import { listRemoteTags, parseLsRemote, parseRemoteRefs } from '../src/verify/git';
import { compareManifests } from '../src/verify/manifest';
import { listTarball, tarballPath } from '../src/verify/tarball';
import { CommitSet } from '../src/verify/reachable';
import { RepoCache } from '../src/verify/repo-cache';
import { readCommitTree } from '../src/verify/tree';
import { startGitServer } from './helpers/git-server';
import { pack } from './helpers/tarball';
import { tempDirs } from './helpers/temp';

const temp = tempDirs();

describe('repository mapping', () => {
  test('legacy repositories[0], /tree/<ref>/<dir> URLs keep the directory, an explicit directory wins', () => {
    expect(normalizeRepository(undefined, [{ type: 'git', url: 'https://github.com/o/r.git' }, 'https://github.com/x/y'])).toEqual({ url: 'https://github.com/o/r' });
    expect(normalizeRepository('https://github.com/o/r/tree/main/packages/x')).toEqual({ url: 'https://github.com/o/r', directory: 'packages/x' });
    expect(normalizeRepository('https://gitlab.com/g/r/-/tree/v1/libs/a/')).toEqual({ url: 'https://gitlab.com/g/r', directory: 'libs/a' });
    expect(normalizeRepository({ url: 'https://github.com/o/r/tree/main/a', directory: 'b' })).toEqual({ url: 'https://github.com/o/r', directory: 'b' });
    expect(normalizeRepository({ url: 'https://github.com/o/r', directory: '../../etc' })).toEqual({ url: 'https://github.com/o/r' });
  });

  test('a manifest read with no repository is status none; not having looked stays unknown', () => {
    const packument = { versions: { '1.0.0': { name: 'a', version: '1.0.0' }, '2.0.0': { name: 'a', version: '2.0.0', repositories: [{ url: 'git://github.com/o/a.git' }] } } };
    const v1 = versionInfoFromPackument(packument, '1.0.0', 'r/')!;
    expect(v1.noRepository).toBe(true);
    expect(combineRepository(v1, undefined, undefined)).toEqual({ status: 'none' });
    expect(combineRepository(versionInfoFromPackument(packument, '2.0.0', 'r/'), undefined, undefined)).toEqual({ url: 'https://github.com/o/a', status: 'claimed' });
    expect(combineRepository(undefined, undefined, undefined)).toBeUndefined();
    expect(combineRepository(v1, undefined, { url: 'https://github.com/o/a' })).toMatchObject({ status: 'attested' });
  });
});

describe('commit selection', () => {
  test('tag forms in SPEC order, peeled annotated tags win', () => {
    expect(tagCandidates('@s/p', '1.2.3')).toEqual(['v1.2.3', '1.2.3', '@s/p@1.2.3', 'p@1.2.3', 'p-v1.2.3']);
    const tags = parseLsRemote(`${'a'.repeat(40)}\trefs/tags/p-v1.2.3\n${'b'.repeat(40)}\trefs/tags/p-v1.2.3^{}\n${'c'.repeat(40)}\trefs/tags/v1.2.30\n`);
    expect(findVersionTag(tags, '@s/p', '1.2.3')).toEqual({ tag: 'p-v1.2.3', commit: 'b'.repeat(40) });
    expect(findVersionTag(tags, '@s/p', '1.2.4')).toBeUndefined();
  });

  test('branch and tag tips count (annotated tags peeled too); refs/pull/* and other refs never do', () => {
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((x) => x.repeat(40));
    const refs = parseRemoteRefs(`${a}\tHEAD\n${b}\trefs/heads/main\n${c}\trefs/tags/v1\n${d}\trefs/tags/v1^{}\n${e}\trefs/pull/1/head\n${e}\trefs/pull/1/merge\n${e}\trefs/remotes/x/refs/heads/y\n`);
    expect([...refs.tips].sort()).toEqual([b, c, d]);
    expect(refs.tags).toEqual(new Map([['v1', d]]));
  });

  test('a commit set finds exactly its ids', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => createHash('sha1').update(String(i)).digest('hex'));
    const set = new CommitSet([...ids.slice(0, 500), '', 'not an id', ids[3]!]);
    expect(set.size).toBe(500);
    expect(ids.slice(0, 500).every((id) => set.has(id))).toBe(true);
    expect(ids.slice(500).some((id) => set.has(id))).toBe(false);
    expect(new CommitSet([]).has(ids[0]!)).toBe(false);
  });
});

const pj = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o, null, 2) + '\n');

describe('package.json after publish-time normalisation', () => {
  const src = { name: 'p', version: '0.0.0-development', main: './index.js', bin: './cli.js', scripts: { test: 'vitest', build: 'tsc' }, dependencies: { a: '^1.0.0', w: 'workspace:^' }, devDependencies: { t: '1' }, publishConfig: { main: 'dist/index.js', access: 'public' } };
  const pub = { name: 'p', version: '1.2.3', main: 'dist/index.js', bin: { p: 'cli.js' }, scripts: { build: 'tsc' }, dependencies: { a: '^1.0.0', w: '^2.0.0' }, gitHead: 'a'.repeat(40), _id: 'p@1.2.3' };

  test('publish rewrites are normalised, not modifications', () => {
    expect(compareManifests(pj(src), pj(src)).outcome).toBe('identical');
    expect(compareManifests(pj(src), pj(pub))).toEqual({ outcome: 'normalised', differences: [] });
  });

  test.each([
    [{ scripts: { ...pub.scripts, postinstall: 'node x.js' } }, 'scripts.postinstall'],
    [{ bin: { p: 'evil.js' } }, 'bin'],
    [{ dependencies: { ...pub.dependencies, b: '1' } }, 'dependencies.b'],
    [{ main: 'other.js' }, 'main'],
    [{ exports: './x.js' }, 'exports'],
  ])('%j is a modification', (change, field) => {
    const result = compareManifests(pj(src), pj({ ...pub, ...change }));
    expect(result.outcome).toBe('modified');
    expect(result.differences).toContain(field);
  });

  test('an install script removed at publish is still a difference (SPEC: lifecycle scripts differ)', () => {
    const withInstall = { ...src, scripts: { ...src.scripts, postinstall: 'husky' } };
    expect(compareManifests(pj(withInstall), pj(pub)).differences).toEqual(['scripts.postinstall']);
  });
});

describe('classification', () => {
  const input = (tarball: Record<string, string>, source: Record<string, string>) => ({
    tarball: new Map(Object.entries(tarball).map(([k, v]) => [k, Buffer.from(v)])),
    source: new Map(Object.entries(source).map(([k, v]) => [k, Buffer.from(v)])),
    expected: Object.keys(source),
    commit: 'c'.repeat(40),
    commitFrom: 'gitHead',
  });
  const manifest = JSON.stringify({ name: 'p', version: '1.0.0' });

  test('CRLF-only differences are normalised; other differences are modified', () => {
    const c = classify(input({ 'package.json': manifest, 'a.js': 'x\r\ny\r\n', 'b.js': 'x;\n' }, { 'package.json': manifest, 'a.js': 'x\ny\n', 'b.js': 'y;\n' }));
    expect(c).toMatchObject({ identical: ['package.json'], normalised: ['a.js'], modified: ['b.js'] });
  });

  test('files run at install (a script path without extension, or binding.gyp) absent from the source are added, deciding diverged', () => {
    const scripts = JSON.stringify({ name: 'p', version: '1.0.0', scripts: { install: 'node ./scripts/setup && echo ok' } });
    const r = compareContents(input({ 'package.json': scripts, 'scripts/setup.js': 'evil', 'dist/x.js': '1' }, { 'package.json': scripts }));
    expect(r).toMatchObject({ verdict: 'diverged', files: { identical: 1, generated: 1, modified: [], added: ['scripts/setup.js'] } });
    const gyp = compareContents(input({ 'package.json': manifest, 'binding.gyp': '{}' }, { 'package.json': manifest }));
    expect(gyp.files!.added).toEqual(['binding.gyp']);
  });

  test('a Git LFS pointer in the source is not compared: inconclusive', () => {
    const r = compareContents(input({ 'package.json': manifest, 'big.bin': 'real bytes' }, { 'package.json': manifest, 'big.bin': 'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 10\n' }));
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toContain('big.bin');
  });
});

describe('tarball paths', () => {
  test('npm strips the first component; paths installers resolve differently are not files (verify-tarball-hostile)', async () => {
    expect(tarballPath('package/lib/a.js')).toBe('lib/a.js');
    expect(tarballPath('other-root/a.js')).toBe('a.js');
    expect(tarballPath('other-root/./a.js')).toBeUndefined();
    expect(tarballPath('/package/a.js')).toBeUndefined();
    expect(tarballPath('package/../../etc/passwd')).toBeUndefined();
    expect(tarballPath('package/')).toBeUndefined();
    const files = await listTarball(await pack({ 'package.json': '{}', 'lib/a.js': 'a' }));
    expect([...files.keys()].sort()).toEqual(['lib/a.js', 'package.json']);
  });
});

describe('git safety', () => {
  const env = () => ({ PATH: process.env.PATH, HOME: temp('pg-home-'), GIT_CONFIG_NOSYSTEM: '1' });

  test('ext:: and file:// transports are refused, nothing runs', async () => {
    const dir = temp('pg-ext-');
    const marker = join(dir, 'ran');
    const config = join(dir, 'gitconfig');
    writeFileSync(config, '[protocol]\n\tallow = always\n');
    const e = { ...env(), GIT_CONFIG_GLOBAL: config };
    await expect(listRemoteTags(`ext::sh -c touch% ${marker}`, { env: e, timeout: 10_000 })).rejects.toThrow();
    const bare = join(dir, 'r.git');
    execFileSync('git', ['init', '--bare', '-q', bare]);
    await expect(listRemoteTags(`file://${bare}`, { env: e, timeout: 10_000 })).rejects.toThrow();
    expect(existsSync(marker)).toBe(false);
  });

  test('a hung remote is given up on at the timeout', async () => {
    const sockets: import('node:net').Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const started = Date.now();
    await expect(listRemoteTags(`http://127.0.0.1:${port}/o/r`, { env: env(), timeout: 1_000 })).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(8_000);
    sockets.forEach((s) => s.destroy());
    server.close();
  });

  test('a tampered object in the repository cache is detected by its hash', async () => {
    const dir = temp('pg-tamper-');
    const work = join(dir, 'w');
    const g = (...args: string[]) => execFileSync('git', args, { cwd: work, env: { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' }, encoding: 'utf8' }).trim();
    execFileSync('git', ['init', '-q', work]);
    writeFileSync(join(work, 'package.json'), '{"name":"p"}\n');
    writeFileSync(join(work, 'index.js'), 'good\n');
    g('add', '-A');
    g('commit', '-qm', 'x');
    const commit = g('rev-parse', 'HEAD');
    const blob = g('rev-parse', 'HEAD:index.js');
    const tree = await readCommitTree(join(work, '.git'), commit, { env: env() });
    expect(tree.files.get('index.js')!.content.toString()).toBe('good\n');
    const objectFile = join(work, '.git', 'objects', blob.slice(0, 2), blob.slice(2));
    rmSync(objectFile, { force: true });
    writeFileSync(objectFile, deflateSync(Buffer.from('blob 5\0evil\n')));
    await expect(readCommitTree(join(work, '.git'), commit, { env: env() })).rejects.toThrow(/does not hash to its id/);
  });

  test('a repository this cache fetched into keeps the config it was made with, so it is reused', async () => {
    const server = await startGitServer();
    try {
      const commit = server.createRepo({ slug: 'o/reused', files: { 'a.txt': 'x' } });
      const root = join(temp('pg-reused-'), 'git');
      const e = { ...env(), GIT_CONFIG_GLOBAL: server.gitConfig };
      expect((await new RepoCache(root, { env: e, timeout: 20_000 }).ensureCommit('https://github.com/o/reused', commit)).fetched).toBe(true);
      expect((await new RepoCache(root, { env: e, timeout: 20_000 }).ensureCommit('https://github.com/o/reused', commit)).fetched).toBe(false);
    } finally {
      await server.close();
    }
  });

  test("a repository in a restored cache whose config would run a command is made anew, and nothing runs", async () => {
    const dir = temp('pg-planted-repo-');
    const marker = join(dir, 'ran');
    const proxy = join(dir, 'proxy.sh');
    writeFileSync(proxy, `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
    const url = 'git://127.0.0.1:9/o/r';
    const root = join(dir, 'source-match', 'git');
    const commit = 'a'.repeat(40);
    // What the first use creates is this cache's own repository, reused as long as it stays so.
    const cache = new RepoCache(root, { env: env(), timeout: 10_000 });
    await expect(cache.ensureCommit(url, commit)).rejects.toThrow();
    const repo = join(root, readdirSync(root).find((name) => name.endsWith('.git'))!);
    const own = readFileSync(join(repo, 'config'), 'utf8');
    writeFileSync(join(repo, 'own-file'), '');
    await expect(new RepoCache(root, { env: env(), timeout: 10_000 }).ensureCommit(url, commit)).rejects.toThrow();
    expect(existsSync(join(repo, 'own-file'))).toBe(true);
    // A pull-request job's cache planted a config whose proxy command git would run for this URL.
    for (const planted of [`${own}[core]\n\tgitProxy = ${proxy}\n`, `${own}[include]\n\tpath = ${join(dir, 'more')}\n`]) {
      writeFileSync(join(dir, 'more'), `[core]\n\tgitProxy = ${proxy}\n`);
      writeFileSync(join(repo, 'config'), planted);
      await expect(new RepoCache(root, { env: env(), timeout: 10_000 }).ensureCommit(url, commit)).rejects.toThrow();
      expect(existsSync(marker), planted).toBe(false);
      expect(readFileSync(join(repo, 'config'), 'utf8')).toBe(own);
    }
    // The same through a `commondir` file pointing at a repository with that config.
    const elsewhere = join(dir, 'elsewhere.git');
    execFileSync('git', ['init', '--bare', '-q', elsewhere]);
    writeFileSync(join(elsewhere, 'config'), `${own}[core]\n\tgitProxy = ${proxy}\n`);
    writeFileSync(join(repo, 'commondir'), elsewhere);
    await expect(new RepoCache(root, { env: env(), timeout: 10_000 }).ensureCommit(url, commit)).rejects.toThrow();
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(repo, 'commondir'))).toBe(false);
  });
});

describe('rule contents', () => {
  const NOW = new Date('2026-11-25T12:00:00Z');
  const policy = (raw: Record<string, unknown>) => {
    const { config, problems } = validateConfig({ mode: 'block', feed: { publicKeys: ['k'] }, rules: { repository: 'off' }, unknown: 'warn', ...raw }, '/p');
    expect(problems).toEqual([]);
    return new Policy(config, NOW);
  };
  const pkg: ResolvedPackage = { name: 'p', version: '1.0.0', source: 'registry' };
  const record = (contents?: FeedRecord['contents']): FeedRecord => ({ name: 'p', version: '1.0.0', ...(contents ? { contents } : {}) });
  const findings = (p: Policy, r: FeedRecord) => p.evaluate(pkg, r).findings.map((f) => `${f.rule}:${f.severity}`);
  const diverged = { verdict: 'diverged' as const, commit: 'c'.repeat(40), reason: 'modified from the source: lib/index.js' };

  test('diverged violates whenever on; built violates only require: match; inconclusive and absent are missing', () => {
    const built = policy({ rules: { repository: 'off', contents: { require: 'built' } } });
    const match = policy({ rules: { repository: 'off', contents: { require: 'match' } } });
    expect(findings(built, record(diverged))).toEqual(['contents:block']);
    expect(built.evaluate(pkg, record(diverged)).findings[0]!.message).toContain('lib/index.js');
    expect(findings(match, record(diverged))).toEqual(['contents:block']);
    expect(findings(built, record({ verdict: 'built' }))).toEqual([]);
    expect(findings(match, record({ verdict: 'built' }))).toEqual(['contents:block']);
    expect(findings(match, record({ verdict: 'match' }))).toEqual([]);
    expect(findings(built, record({ verdict: 'inconclusive', reason: 'no tag' }))).toEqual(['contents:warn']);
    expect(findings(built, record())).toEqual(['contents:warn']);
  });

  test('off by default; an override can waive it', () => {
    expect(findings(policy({}), record(diverged))).toEqual([]);
    const waived = policy({ rules: { repository: 'off', contents: { require: 'built' } }, overrides: [{ package: 'p', rules: ['contents'], reason: 'reviewed', expires: '2099-01-01' }] });
    expect(findings(waived, record(diverged))).toEqual([]);
  });

  test('repository status none violates the repository rule when it is on', () => {
    const p = policy({ rules: { repository: { require: 'claimed' } } });
    expect(p.evaluate(pkg, { ...record(), repository: { status: 'none' } }).findings).toEqual([{ rule: 'repository', severity: 'block', message: expect.stringContaining('names no source repository') }]);
    expect(findings(policy({}), { ...record(), repository: { status: 'none' } })).toEqual([]);
  });
});

test('no stray temp directories from the comparison', () => {
  expect(readdirSync(tmpdir()).filter((f) => f.startsWith('pg-source-')).length).toBeLessThan(50);
});

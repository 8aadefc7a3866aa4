/**
 * Keys that cannot leak by accident (keygen in a git work tree, --key-env, a wrong key reported
 * before any gathering) and `feed update` (only what is new is gathered, the rest is kept,
 * a higher serial), against a real registry (verdaccio).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readPreamble } from '../src/feed/preamble';
import { feedRecords } from '../src/feed/update';
import { progressLines } from '../src/evidence/progress';
import { summarizeSourceWarnings } from '../src/report/source-failures';
import { runCli } from './helpers/cli';
import { startRegistry, type PublishedPackage, type TestRegistry } from './helpers/registry';

const dirs: string[] = [];
let registry: TestRegistry;
let oldPkg: PublishedPackage;
let newPkg: PublishedPackage;

beforeAll(async () => {
  registry = await startRegistry();
  oldPkg = await registry.publish({ name: '@pg-fixture/upd-old', version: '1.0.0', repository: 'github:pg-fixture/upd-old' });
  newPkg = await registry.publish({ name: '@pg-fixture/upd-new', version: '2.0.0', repository: 'github:pg-fixture/upd-new' });
});
afterAll(async () => {
  await registry?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-keys-'));
  dirs.push(dir);
  return dir;
}

const SOURCES = () => `sources:\n  registry: { url: "${registry.url}" }\n  provenance: off\n  depsDev: off\n  scorecard: off\n  ossRebuild: off\n  timeout: 5s\n`;
const cli = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCli(cwd, args, { HOME: cwd, npm_config_userconfig: join(cwd, '.npmrc'), ...env });

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
}

describe('keys that cannot leak by accident', () => {
  test('keygen inside a git work tree: feed.key is ignored (git add -A never stages it), feed.pub is not', async () => {
    const dir = temp();
    git(dir, ['init', '-q']);
    const r = await cli(dir, ['feed', 'keygen', '--out-dir', '.provenance/keys']);
    expect(r.code).toBe(0);
    git(dir, ['add', '-A']);
    const staged = git(dir, ['diff', '--cached', '--name-only']).split('\n');
    expect(staged).toContain('.provenance/keys/feed.pub');
    expect(staged).not.toContain('.provenance/keys/feed.key');
    expect(readFileSync(join(dir, '.provenance/keys/.gitignore'), 'utf8')).toContain('/feed.key');
  });
  test('an existing .gitignore is kept and extended once; outside a work tree none is written', async () => {
    const dir = temp();
    git(dir, ['init', '-q']);
    mkdirSync(join(dir, 'k'));
    writeFileSync(join(dir, 'k/.gitignore'), 'notes.txt');
    expect((await cli(dir, ['feed', 'keygen', '--out-dir', 'k'])).code).toBe(0);
    expect(readFileSync(join(dir, 'k/.gitignore'), 'utf8')).toMatch(/^notes\.txt\n#.*\n\/feed\.key\n$/);
    const plain = temp();
    expect((await cli(plain, ['feed', 'keygen', '--out-dir', 'k'])).code).toBe(0);
    expect(() => readFileSync(join(plain, 'k/.gitignore'))).toThrow();
  });
  test('feed build --key-env VAR signs with a key from the environment (a CI secret)', async () => {
    const dir = temp();
    const pub = (await cli(dir, ['feed', 'keygen', '--out-dir', 'k'])).stdout.trim();
    writeFileSync(join(dir, 'r.ndjson'), JSON.stringify({ name: 'a', version: '1.0.0' }) + '\n');
    const pem = readFileSync(join(dir, 'k/feed.key'), 'utf8');
    rmSync(join(dir, 'k/feed.key'));
    const built = await cli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key-env', 'FEED_KEY', '--out', 'feed'], { FEED_KEY: pem });
    expect(built.code).toBe(0);
    writeFileSync(join(dir, 'pub'), pub);
    expect((await cli(dir, ['feed', 'verify', 'feed', '--public-key', 'pub'])).code).toBe(0);
    // A secret stored with literal \n (one-line CI variables) works too.
    expect((await cli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key-env', 'K', '--out', 'feed2'], { K: pem.trim().replace(/\n/g, '\\n') })).code).toBe(0);
  });
  test('a wrong --key or --key-env is reported before any gathering (exit 2, no registry request)', async () => {
    const dir = temp();
    writeFileSync(join(dir, '.npmrc'), 'registry=http://127.0.0.1:9/\n');
    writeFileSync(join(dir, 'bad.key'), 'not a key');
    for (const args of [['--key', 'missing.key'], ['--key', 'bad.key'], ['--key-env', 'UNSET_VAR'], ['--key', 'bad.key', '--key-env', 'X']]) {
      const started = Date.now();
      const r = await cli(dir, ['feed', 'build', '--packages', 'left-pad@1.3.0', ...args, '--out', 'feed']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).not.toMatch(/evidence|registry/);
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });
});

describe('feed update', () => {
  test('gathers only what the base lacks, keeps every other record as signed, raises the serial', async () => {
    const dir = temp();
    writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}/\n`);
    const pub = (await cli(dir, ['feed', 'keygen', '--out-dir', 'k'])).stdout.trim();
    writeFileSync(join(dir, '.provenancerc'), `feed:\n  source: ./feed\n  publicKeys: ["${pub}"]\n${SOURCES()}`);
    // The base knows the old package with evidence the registry cannot give (a scorecard): kept as is.
    const kept = { name: oldPkg.name, version: oldPkg.version, integrity: oldPkg.integrity, repository: { url: 'https://github.com/pg-fixture/upd-old', status: 'claimed' }, scorecard: { score: 9.9 } };
    writeFileSync(join(dir, 'r.ndjson'), JSON.stringify(kept) + '\n' + JSON.stringify({ name: 'other', version: '1.0.0' }) + '\n');
    expect((await cli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key', 'k/feed.key', '--out', 'feed'])).code).toBe(0);
    const before = readPreamble(join(dir, 'feed')).header.serial;

    const r = await cli(dir, ['feed', 'update', '--base', 'feed', '--packages', `${oldPkg.name}@1.0.0,${newPkg.name}@2.0.0`, '--key', 'k/feed.key', '--out', 'feed']);
    expect(r.stderr).toContain('1 of 2 registry package versions are not in the feed yet');
    expect(r.code).toBe(0);
    const after = readPreamble(join(dir, 'feed')).header.serial;
    expect(after).toBeGreaterThan(before);
    const records = [];
    for await (const rec of feedRecords(join(dir, 'feed'))) records.push(rec);
    const byName = Object.fromEntries(records.map((x) => [x.name, x]));
    expect(Object.keys(byName).sort()).toEqual([oldPkg.name, newPkg.name, 'other'].sort());
    expect(byName[oldPkg.name]).toEqual(kept);
    expect(byName[newPkg.name]).toMatchObject({ integrity: newPkg.integrity, repository: { url: 'https://github.com/pg-fixture/upd-new', status: 'claimed' } });
    expect((await cli(dir, ['feed', 'verify', 'feed', '--public-key', 'k/feed.pub'])).code).toBe(0);
  });
  test('a base feed signed by another key is refused before anything is gathered', async () => {
    const dir = temp();
    await cli(dir, ['feed', 'keygen', '--out-dir', 'a']);
    await cli(dir, ['feed', 'keygen', '--out-dir', 'b']);
    writeFileSync(join(dir, 'r.ndjson'), JSON.stringify({ name: 'x', version: '1.0.0' }) + '\n');
    await cli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key', 'a/feed.key', '--out', 'feed']);
    const r = await cli(dir, ['feed', 'update', '--base', 'feed', '--records', 'r.ndjson', '--key', 'b/feed.key', '--out', 'feed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/signature|key/i);
  });
  test('--records adds or replaces records without gathering', async () => {
    const dir = temp();
    await cli(dir, ['feed', 'keygen', '--out-dir', 'k']);
    writeFileSync(join(dir, 'r.ndjson'), JSON.stringify({ name: 'x', version: '1.0.0' }) + '\n');
    await cli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key', 'k/feed.key', '--out', 'base.feed']);
    writeFileSync(join(dir, 'n.ndjson'), JSON.stringify({ name: 'x', version: '1.0.0', rebuild: { verdict: 'reproducible' } }) + '\n' + JSON.stringify({ name: 'y', version: '1.0.0' }) + '\n');
    expect((await cli(dir, ['feed', 'update', '--base', 'base.feed', '--records', 'n.ndjson', '--key', 'k/feed.key', '--out', 'new.feed'])).code).toBe(0);
    const records = [];
    for await (const rec of feedRecords(join(dir, 'new.feed'))) records.push(rec);
    expect(records.sort((a, b) => a.name.localeCompare(b.name))).toEqual([{ name: 'x', version: '1.0.0', rebuild: { verdict: 'reproducible' } }, { name: 'y', version: '1.0.0' }]);
    expect(readPreamble(join(dir, 'new.feed')).header.serial).toBeGreaterThan(readPreamble(join(dir, 'base.feed')).header.serial);
  });
});

describe('progress and source failures when output is not a terminal', () => {
  test('plain progress lines: start, each tenth, end', () => {
    const out: string[] = [];
    let t = 0;
    const p = progressLines({ write: (s) => (out.push(s), true) }, 5000, () => t);
    for (let i = 0; i <= 100; i++) p(i, 100);
    expect(out).toHaveLength(11);
    expect(out.at(-1)).toBe('provenance-guard: evidence 100/100 packages — done\n');
    t = 10_000;
    p(100, 100);
    expect(out).toHaveLength(11);
  });
  test('one line per failed source with its cause and the setting that turns it off', () => {
    const lines = summarizeSourceWarnings([
      'scorecard: github.com/a/b: connect ECONNREFUSED; its evidence is unknown',
      'scorecard: github.com/c/d: connect ECONNREFUSED; its evidence is unknown',
      'depsDev: 5 lookups in a row failed (last: getaddrinfo ENOTFOUND api.deps.dev); skipping depsDev',
    ]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^provenance-guard: OpenSSF Scorecard failed: scorecard: github.com\/a\/b: connect ECONNREFUSED.*\(and 1 more warning: --verbose\).*sources\.scorecard\.enabled: false$/);
    expect(lines[1]).toContain('sources.depsDev.enabled: false');
  });
});

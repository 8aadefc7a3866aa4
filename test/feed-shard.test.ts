/**
 * `feed build --shard I/N` + `feed merge`: evidence gathered in N jobs (against local servers
 * answering as the npm registry and the Scorecard API do) merges into the same signed feed,
 * byte for byte, for 1, 3 and 8 shards.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inShard, parseShard, shardOf } from '../src/feed/shard';
import { UsageError } from '../src/errors';
import { runCli } from './helpers/cli';
import { manifest, packument, packumentPath, scorecardCheck1, startEvidenceServer, type EvidenceServer } from './helpers/evidence-servers';

const INTEGRITY = 'sha512-' + Buffer.alloc(64, 7).toString('base64');
const PACKAGES = Array.from({ length: 24 }, (_, i) => ({ name: i % 4 === 0 ? `@pg-shard/lib-${i}` : `pg-shard-${i}`, version: `1.${i % 3}.0` }));

let server: EvidenceServer;
let dir: string;

beforeAll(async () => {
  server = await startEvidenceServer();
  for (const [i, { name, version }] of PACKAGES.entries()) {
    const repo = i % 5 === 0 ? {} : { repository: { type: 'git', url: `git+https://github.com/pg-shard/repo-${i}.git` }, gitHead: 'c'.repeat(40) };
    server.set(packumentPath(name), { body: packument(name, [manifest(name, version, repo, { integrity: INTEGRITY, shasum: 'a'.repeat(40), tarball: `${server.url}/${name}/-/x-${version}.tgz` })]) });
    if (i % 5 !== 0) server.set(`/projects/github.com/pg-shard/repo-${i}`, { body: { ...scorecardCheck1(), score: (i % 10) + 0.5, repo: { name: `github.com/pg-shard/repo-${i}`, commit: 'c'.repeat(40) } } });
  }
  dir = mkdtempSync(join(tmpdir(), 'pg-shard-'));
  writeFileSync(join(dir, '.npmrc'), `registry=${server.url}/\n`);
  writeFileSync(
    join(dir, '.provenancerc'),
    `mode: block\nfeed:\n  source: ./feed\n  publicKeys: []\nsources:\n  registry: { url: "${server.url}" }\n  provenance: off\n  depsDev: off\n  ossRebuild: off\n  scorecard: { url: "${server.url}" }\n  timeout: 5s\n`,
  );
  expect((await cli(['feed', 'keygen', '--out-dir', 'keys'])).code).toBe(0);
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], cache = '.cache') {
  return runCli(dir, args, { HOME: dir, npm_config_userconfig: join(dir, '.npmrc'), PROVENANCE_GUARD_CACHE_DIR: join(dir, cache), PROVENANCE_GUARD_STATE_DIR: join(dir, cache, 'state') });
}

const SPECS = PACKAGES.map((p) => `${p.name}@${p.version}`).join(',');
const SIGNING = ['--key', 'keys/feed.key', '--serial', '42', '--generated-at', '2026-11-01T00:00:00Z', '--expires-in', '3650d'];

async function shardedFeed(count: number): Promise<{ feed: Buffer; shards: string[][] }> {
  const files: string[] = [];
  const shards: string[][] = [];
  for (let i = 1; i <= count; i++) {
    const file = `records-${count}-${i}.ndjson`;
    const r = await cli(['feed', 'build', '--packages', SPECS, '--shard', `${i}/${count}`, '--records-out', file, '--config', '.provenancerc'], `.cache-${count}`);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, file), 'utf8');
    shards.push(text.split('\n').filter(Boolean).map((l) => { const rec = JSON.parse(l); return `${rec.name}@${rec.version}`; }));
    files.push(file);
  }
  // Files in reverse order: the merge does not depend on it.
  const merged = await cli(['feed', 'merge', '--records', ...files.reverse(), ...SIGNING, '--out', `feed-${count}`]);
  expect(merged.code, merged.stderr).toBe(0);
  expect(merged.stderr).toContain(`${PACKAGES.length} records from ${count} file`);
  return { feed: readFileSync(join(dir, `feed-${count}`)), shards };
}

describe('feed build --shard and feed merge', () => {
  it('merges 1, 3 and 8 shards of the same list into byte-identical feeds; shards split the list exactly', async () => {
    const one = await shardedFeed(1);
    const three = await shardedFeed(3);
    const eight = await shardedFeed(8);
    for (const { shards } of [one, three, eight]) {
      const all = shards.flat();
      expect(new Set(all).size).toBe(all.length);
      expect(all.sort()).toEqual(PACKAGES.map((p) => `${p.name}@${p.version}`).sort());
    }
    expect(eight.shards.filter((s) => s.length > 0).length).toBeGreaterThan(3);
    const records = readFileSync(join(dir, 'records-1-1.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.find((r) => r.name === 'pg-shard-3')).toMatchObject({ repository: { url: 'https://github.com/pg-shard/repo-3', status: 'claimed' }, scorecard: { score: 3.5 } });
    expect(three.feed.equals(one.feed)).toBe(true);
    expect(eight.feed.equals(one.feed)).toBe(true);
    const verified = await cli(['feed', 'verify', 'feed-8', '--public-key', 'keys/feed.pub']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`${PACKAGES.length} records, serial 42, generated 2026-11-01T00:00:00.000Z`);
  });

  it('refuses overlapping records files, a file given twice, and bad --shard values', async () => {
    await shardedFeed(1);
    await shardedFeed(3);
    const overlap = await cli(['feed', 'merge', '--records', 'records-1-1.ndjson', 'records-3-2.ndjson', ...SIGNING, '--out', 'bad']);
    expect(overlap.code).toBe(2);
    expect(overlap.stderr).toMatch(/duplicate record/);
    expect((await cli(['feed', 'merge', '--records', 'records-3-1.ndjson', 'records-3-1.ndjson', ...SIGNING, '--out', 'bad'])).code).toBe(2);
    for (const bad of ['0/3', '4/3', '1/0', 'a/b', '1']) {
      expect((await cli(['feed', 'build', '--packages', SPECS, '--shard', bad])).code, bad).toBe(2);
    }
    expect((await cli(['feed', 'build', '--packages', SPECS, '--shard', '1/2', ...SIGNING, '--out', 'x'])).code).toBe(2);
    expect((await cli(['feed', 'merge', ...SIGNING, '--out', 'x'])).code).toBe(2);
    expect((await cli(['feed', 'merge', '--records', 'records-3-1.ndjson', '--key', 'keys/feed.key', '--out', 'x', '--generated-at', 'yesterday'])).code).toBe(2);
  });
});

describe('output paths', () => {
  it('an --out or --records-out that cannot be written is refused before any evidence is gathered, naming it (exit 2, no stack); missing directories are created', async () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    mkdirSync(join(dir, 'a-dir'), { recursive: true });
    const requests = server.requests.length;
    const under = await cli(['feed', 'build', '--packages', SPECS, '--shard', '1/2', '--records-out', 'a-file/sub/r.ndjson', '--config', '.provenancerc']);
    expect(under.code).toBe(2);
    expect(under.stderr).toMatch(/ERR_PG_USAGE_INVALID_VALUE: feed build: --records-out a-file\/sub\/r\.ndjson: .*a-file is not a directory/);
    const isDir = await cli(['feed', 'build', '--packages', SPECS, '--shard', '1/2', '--records-out', 'a-dir', '--config', '.provenancerc']);
    expect(isDir.code).toBe(2);
    expect(isDir.stderr).toContain('--records-out a-dir: is a directory; name a file');
    const feedOut = await cli(['feed', 'build', '--packages', SPECS, '--config', '.provenancerc', ...SIGNING, '--out', 'a-file/feed']);
    expect(feedOut.code).toBe(2);
    expect(feedOut.stderr).toMatch(/--out a-file\/feed: .*a-file is not a directory/);
    // Nothing was asked of the sources for any of them.
    expect(server.requests.length).toBe(requests);
    await shardedFeed(1);
    const merge = await cli(['feed', 'merge', '--records', 'records-1-1.ndjson', ...SIGNING, '--out', 'a-file/sub/feed']);
    expect(merge.code).toBe(2);
    expect(merge.stderr).toMatch(/ERR_PG_USAGE_INVALID_VALUE: feed merge: --out a-file\/sub\/feed: .*a-file is not a directory/);
    for (const r of [under, isDir, feedOut, merge]) expect(r.stderr).not.toMatch(/internal error|    at /);
    const nested = await cli(['feed', 'build', '--packages', SPECS, '--shard', '1/1', '--records-out', 'new/dir/r.ndjson', '--config', '.provenancerc']);
    expect(nested.code, nested.stderr).toBe(0);
    expect(readFileSync(join(dir, 'new/dir/r.ndjson'), 'utf8').trim().split('\n')).toHaveLength(PACKAGES.length);
  });
});

describe('shards', () => {
  it('puts each name@version in exactly one shard, the same one whatever the rest of the list', () => {
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    expect(() => parseShard('9/8')).toThrow(UsageError);
    for (const count of [1, 3, 8]) {
      const parts = Array.from({ length: count }, (_, i) => inShard(PACKAGES, { index: i + 1, count }));
      expect(parts.flat()).toHaveLength(PACKAGES.length);
      for (const p of PACKAGES) expect(inShard([p], { index: shardOf(p.name, p.version, count), count })).toEqual([p]);
    }
  });
});

/**
 * Rollback protection (issue 9 item 3): the state file fails closed, one serial has one
 * content, a feed from the future is refused, feed.minSerial protects a machine with no
 * state, and `feed trust [--reset]` shows and deliberately forgets the state.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load';
import { ConfigError, FeedError } from '../src/errors';
import { keyId, parsePublicKey } from '../src/feed/keys';
import { FEED_CLOCK_SKEW_MS, openFeed, verifyFeed } from '../src/feed/reader';
import { runCli } from './helpers/cli';
import { thrown } from './helpers/errors';
import { buildTestFeed, makeKeys, sampleRecords, tempDir, type TestKeys } from './helpers/feed-fixtures';

const made: string[] = [];
function dir(prefix = 'pg-state-'): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}
function keys(): TestKeys {
  const k = makeKeys(dir('pg-keys-'));
  return k;
}
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

const open = (path: string, k: TestKeys, cacheDir: string, extra: { minSerial?: number; now?: Date } = {}) =>
  openFeed(path, { publicKeys: [k.publicKey], stateDir: cacheDir, ...extra }).close();

describe('the state file fails closed', () => {
  it('refuses to open any feed while the state file does not parse, naming the file and the reset command', async () => {
    const k = keys();
    const feed = await buildTestFeed(k, sampleRecords(3), join(dir(), 'x.feed'), { serial: 5 });
    const cache = dir();
    for (const text of ['{"serials": ', '', 'null', '[]', '{"version":1}', '{"version":2,"serials":{}}', '{"version":1,"serials":[]}']) {
      writeFileSync(join(cache, 'feed-state.json'), text);
      const error = thrown(FeedError, () => open(feed, k, cache));
      expect(error.code, text).toBe('ERR_PG_FEED_STATE');
      expect(error.file).toBe(join(cache, 'feed-state.json'));
      expect(error.message).toContain(join(cache, 'feed-state.json'));
      expect(error.message).toContain('provenance-guard feed trust --reset --all');
    }
  });

  it('refuses an entry of the wrong type instead of treating it as absent', async () => {
    const k = keys();
    const id = keyId(parsePublicKey(k.publicKey));
    const feed = await buildTestFeed(k, sampleRecords(3), join(dir(), 'x.feed'), { serial: 5 });
    const cache = dir();
    const entries: unknown[] = [
      { serial: '9300', acceptedAt: '2026-11-01T00:00:00Z' },
      { serial: 9300 },
      { serial: -1, acceptedAt: '2026-11-01T00:00:00Z' },
      { serial: 1.5, acceptedAt: '2026-11-01T00:00:00Z' },
      { serial: 9300, acceptedAt: 'yesterday' },
      { serial: 9300, acceptedAt: '2026-11-01T00:00:00Z', sha256: 'abc' },
      null,
      9300,
    ];
    for (const entry of entries) {
      writeFileSync(join(cache, 'feed-state.json'), JSON.stringify({ version: 1, serials: { [id]: entry } }));
      const error = thrown(FeedError, () => open(feed, k, cache));
      expect(error.code, JSON.stringify(entry)).toBe('ERR_PG_FEED_STATE');
      expect(error.message).toContain(`provenance-guard feed trust --reset --key ${id}`);
    }
    // Another key's broken entry fails closed too: the file as a whole is not trusted.
    writeFileSync(join(cache, 'feed-state.json'), JSON.stringify({ version: 1, serials: { other: { serial: 'x' } } }));
    expect(thrown(FeedError, () => open(feed, k, cache)).code).toBe('ERR_PG_FEED_STATE');
  });

  it('accepts an entry written before content hashes were kept, and adds the hash', async () => {
    const k = keys();
    const id = keyId(parsePublicKey(k.publicKey));
    const feed = await buildTestFeed(k, sampleRecords(3), join(dir(), 'x.feed'), { serial: 5 });
    const other = await buildTestFeed(k, sampleRecords(4), join(dir(), 'y.feed'), { serial: 5 });
    const cache = dir();
    writeFileSync(join(cache, 'feed-state.json'), JSON.stringify({ version: 1, serials: { [id]: { serial: 5, acceptedAt: '2026-11-01T00:00:00.000Z' } } }));
    open(feed, k, cache);
    const state = JSON.parse(readFileSync(join(cache, 'feed-state.json'), 'utf8'));
    expect(state.serials[id]).toMatchObject({ serial: 5, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(thrown(FeedError, () => open(other, k, cache)).code).toBe('ERR_PG_FEED_SERIAL_REUSED');
  });
});

describe('no temporary file is left behind', () => {
  it('sweeps a state temp file left by a process killed mid-write when the next serial is recorded', async () => {
    const k = keys();
    const cache = dir();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const leftover = join(cache, `.feed-state.json.${dead}.0a1b2c3d.tmp`);
    writeFileSync(leftover, '{"version":1,');
    open(await buildTestFeed(k, sampleRecords(3), join(dir(), 'x.feed'), { serial: 5 }), k, cache);
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(join(cache, 'feed-state.json'))).toBe(true);
  });
});

describe('one serial, one content', () => {
  it('refuses a second feed with an accepted serial and other content; the accepted one still opens', async () => {
    const k = keys();
    const cache = dir();
    const first = await buildTestFeed(k, sampleRecords(5), join(dir(), 'a.feed'), { serial: 50 });
    const second = await buildTestFeed(k, sampleRecords(6), join(dir(), 'b.feed'), { serial: 50 });
    open(first, k, cache);
    const error = thrown(FeedError, () => open(second, k, cache));
    expect(error.code).toBe('ERR_PG_FEED_SERIAL_REUSED');
    expect(error.message).toMatch(/has serial 50, like the feed accepted on this machine .* but other content/);
    expect(thrown(FeedError, () => verifyFeed(second, [k.publicKey], { stateDir: cache })).code).toBe('ERR_PG_FEED_SERIAL_REUSED');
    open(first, k, cache);
    // A copy of the same feed elsewhere is the same content.
    const copy = join(dir(), 'copy.feed');
    writeFileSync(copy, readFileSync(first));
    open(copy, k, cache);
    // A higher serial moves on.
    open(await buildTestFeed(k, sampleRecords(7), join(dir(), 'c.feed'), { serial: 51 }), k, cache);
  });
});

describe('a feed from the future', () => {
  it(`is refused beyond ${FEED_CLOCK_SKEW_MS / 60_000} minutes of clock skew, and accepted within`, async () => {
    const k = keys();
    const now = new Date();
    const ahead = await buildTestFeed(k, sampleRecords(3), join(dir(), 'ahead.feed'), { now: new Date(now.getTime() + 3_600_000), serial: 7 });
    const cache = dir();
    const error = thrown(FeedError, () => open(ahead, k, cache));
    expect(error.code).toBe('ERR_PG_FEED_FUTURE');
    expect(error.message).toMatch(/was generated at .* in the future/);
    expect(existsSync(join(cache, 'feed-state.json'))).toBe(false);
    expect(thrown(FeedError, () => verifyFeed(ahead, [k.publicKey], { stateDir: cache })).code).toBe('ERR_PG_FEED_FUTURE');
    const skewed = await buildTestFeed(k, sampleRecords(3), join(dir(), 'skew.feed'), { now: new Date(now.getTime() + 4 * 60_000), serial: 8 });
    open(skewed, k, cache);
    // The same feed, once its time has come, opens.
    open(ahead, k, dir(), { now: new Date(now.getTime() + 3_600_000) });
  });
});

describe('feed.minSerial', () => {
  it('refuses an older serial on a machine with no state (deleted, or a fresh CI runner)', async () => {
    const k = keys();
    const old = await buildTestFeed(k, sampleRecords(3), join(dir(), 'old.feed'), { serial: 100 });
    const cache = dir();
    const error = thrown(FeedError, () => open(old, k, cache, { minSerial: 101 }));
    expect(error.code).toBe('ERR_PG_FEED_ROLLBACK');
    expect(error.message).toMatch(/serial 100, lower than feed\.minSerial 101/);
    expect(existsSync(join(cache, 'feed-state.json'))).toBe(false);
    expect(thrown(FeedError, () => verifyFeed(old, [k.publicKey], { stateDir: cache, minSerial: 101 })).code).toBe('ERR_PG_FEED_ROLLBACK');
    open(old, k, cache, { minSerial: 100 });
  });

  it('is validated and defaults to 0', async () => {
    const project = dir('pg-minserial-');
    writeFileSync(join(project, 'package.json'), '{"name":"x","version":"1.0.0"}');
    writeFileSync(join(project, '.provenancerc'), 'feed: { minSerial: 1796000000 }\n');
    expect((await loadConfig({ cwd: project, env: {} })).feed.minSerial).toBe(1796000000);
    writeFileSync(join(project, '.provenancerc'), 'mode: warn\n');
    expect((await loadConfig({ cwd: project, env: {} })).feed.minSerial).toBe(0);
    for (const bad of ['-1', '1.5', '"12"', 'true']) {
      writeFileSync(join(project, '.provenancerc'), `feed: { minSerial: ${bad} }\n`);
      const error = await loadConfig({ cwd: project, env: {} }).then(() => undefined, (e: unknown) => e);
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('feed.minSerial');
    }
    expect(readFileSync(join(__dirname, '..', '.provenancerc.example'), 'utf8')).toContain('minSerial:');
  });

  it('protects `check` through the policy', async () => {
    const project = dir('pg-minserial-cli-');
    const k = keys();
    mkdirSync(join(project, 'feed'));
    await buildTestFeed(k, sampleRecords(3), join(project, 'feed'), { serial: 100 });
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, packages: { '': { name: 'app', version: '1.0.0' } } }));
    const policy = (min: number) => `mode: block\nfeed:\n  source: ./feed\n  publicKeys: ["${k.publicKey}"]\n  minSerial: ${min}\n`;
    writeFileSync(join(project, '.provenancerc'), policy(101));
    const refused = await runCli(project, ['check']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/serial 100, lower than feed\.minSerial 101 \(rollback refused\)/);
    writeFileSync(join(project, '.provenancerc'), policy(100));
    expect((await runCli(project, ['check'])).code).toBe(0);
  });
});

describe('provenance-guard feed trust', () => {
  async function setup() {
    const project = dir('pg-trust-');
    const k = keys();
    const older = await buildTestFeed(k, sampleRecords(3), join(project, 'older.feed'), { serial: 10 });
    const newer = await buildTestFeed(k, sampleRecords(4), join(project, 'newer.feed'), { serial: 11 });
    const cache = join(project, '.cache', 'state');
    return { project, k, older, newer, cache, id: keyId(parsePublicKey(k.publicKey)) };
  }

  it('prints where the state lives and, per key, the highest serial accepted and when', async () => {
    const { project, k, newer, cache, id } = await setup();
    const empty = await runCli(project, ['feed', 'trust']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain(`Feed trust state: ${join(cache, 'feed-state.json')}`);
    expect(empty.stdout).toMatch(/no feed accepted on this machine yet/);
    const when = new Date(Date.now() + 1000);
    open(newer, k, cache, { now: when });
    const shown = await runCli(project, ['feed', 'trust']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`key ${id}: highest serial accepted 11, at ${when.toISOString()}, content sha256 `);
    expect(shown.stdout).toContain('provenance-guard feed trust --reset --key KEYID');
    writeFileSync(join(cache, 'feed-state.json'), '{"version":1,"serials":{"\\u001b[2J":{"serial":"1"}}}');
    const broken = await runCli(project, ['feed', 'trust']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('feed-state.json');
    expect(broken.stderr).not.toContain('\u001b');
  });

  it('--reset --key forgets one key deliberately: the older feed opens again', async () => {
    const { project, k, older, newer, cache, id } = await setup();
    const other = keys();
    const otherFeed = await buildTestFeed(other, sampleRecords(2), join(project, 'other.feed'), { serial: 3 });
    open(newer, k, cache);
    open(otherFeed, other, cache);
    expect(thrown(FeedError, () => open(older, k, cache)).code).toBe('ERR_PG_FEED_ROLLBACK');
    const reset = await runCli(project, ['feed', 'trust', '--reset', '--key', id]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stderr).toContain(`Forgot the accepted feed serial of key ${id} (serial 11`);
    open(older, k, cache);
    const state = JSON.parse(readFileSync(join(cache, 'feed-state.json'), 'utf8'));
    expect(state.serials[keyId(parsePublicKey(other.publicKey))].serial).toBe(3);
    expect(state.serials[id].serial).toBe(10);
    const unknown = await runCli(project, ['feed', 'trust', '--reset', '--key', 'feedfacefeedface']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no accepted serial for key "feedfacefeedface"/);
  });

  it('--reset --key repairs a wrong-typed entry; --reset --all removes even a state file that does not parse', async () => {
    const { project, k, older, cache, id } = await setup();
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, 'feed-state.json'), JSON.stringify({ version: 1, serials: { [id]: { serial: '9300' } } }));
    expect(thrown(FeedError, () => open(older, k, cache)).code).toBe('ERR_PG_FEED_STATE');
    expect((await runCli(project, ['feed', 'trust', '--reset', '--key', id])).code).toBe(0);
    open(older, k, cache);
    writeFileSync(join(cache, 'feed-state.json'), '{"serials": ');
    const needsAll = await runCli(project, ['feed', 'trust', '--reset', '--key', id]);
    expect(needsAll.code).toBe(2);
    expect(needsAll.stderr).toContain('--reset --all');
    const all = await runCli(project, ['feed', 'trust', '--reset', '--all']);
    expect(all.code, all.stderr).toBe(0);
    expect(existsSync(join(cache, 'feed-state.json'))).toBe(false);
    open(older, k, cache);
  });

  it('needs --key or --all with --reset, and --reset with them', async () => {
    const { project } = await setup();
    for (const args of [['--reset'], ['--reset', '--all', '--key', 'x'], ['--all'], ['--key', 'x']]) {
      const r = await runCli(project, ['feed', 'trust', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('Usage: provenance-guard feed trust');
    }
  });
});

import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load';
import { resolveGuardInputs } from '../src/guard';
import { INDEX_ENTRY_BYTES } from '../src/feed/format';
import { machineSecret } from '../src/machine-secret';
import { readPreamble } from '../src/feed/preamble';
import { openFeed } from '../src/feed/reader';
import { recordSerial } from '../src/feed/state';
import type { Report } from '../src/types';
import { pruneStateVerdicts, reuseStoredVerdict, reuseVerdict, stateVerdictFile, storeVerdict, verdictFileFor, type VerdictInputs } from '../src/verdict-store';
import { runCli } from './helpers/cli';

const SHA = (n: number) => 'sha512-' + Buffer.alloc(64, n).toString('base64');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const good = (name: string, n: number) => ({
  name,
  version: '1.0.0',
  integrity: SHA(n),
  repository: { url: `https://github.com/acme/${name}`, commit: 'a'.repeat(40), status: 'attested' },
  rebuild: { verdict: 'reproducible', source: 'oss-rebuild' },
  scorecard: { score: 8.2, date: '2026-11-01', checks: { 'Dangerous-Workflow': 10 } },
});
const weak = (name: string, n: number) => ({ ...good(name, n), scorecard: { score: 2.0, checks: { 'Dangerous-Workflow': 10 } } });

function packageLock(names: [string, number][]): string {
  const entries: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: Object.fromEntries(names.map(([n]) => [n, '1.0.0'])) } };
  for (const [name, n] of names) entries[`node_modules/${name}`] = { version: '1.0.0', integrity: SHA(n) };
  return JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: entries }, null, 2);
}

const policy = (publicKey: string, mode: string) =>
  `mode: ${mode}\nfeed:\n  source: ./feed\n  publicKeys: ["${publicKey}"]\nrules:\n  scorecard: { minScore: 5 }\nunknown: block\n`;

async function buildFeed(dir: string, records: object[], serial: number): Promise<void> {
  writeFileSync(join(dir, 'records.ndjson'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const r = await runCli(dir, ['feed', 'build', '--records', 'records.ndjson', '--key', 'keys/feed.key', '--out', 'feed', '--serial', String(serial)]);
  expect(r.code).toBe(0);
}

/** An installed project (node_modules exists) whose lockfile passes: a and b are in the feed. */
async function project(): Promise<{ dir: string; publicKey: string; store: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-verdict-'));
  dirs.push(dir);
  const keygen = await runCli(dir, ['feed', 'keygen', '--out-dir', 'keys']);
  const publicKey = keygen.stdout.trim();
  await buildFeed(dir, [good('a', 1), good('b', 2), weak('c', 3)], 10);
  writeFileSync(join(dir, 'package-lock.json'), packageLock([['a', 1], ['b', 2]]));
  writeFileSync(join(dir, '.provenancerc'), policy(publicKey, 'block'));
  mkdirSync(join(dir, 'node_modules'));
  return { dir, publicKey, store: join(dir, 'node_modules', '.provenance-guard', 'check-verdict.json') };
}

/** Flips a byte in every bucket: any lookup fails, so a run that succeeds read no bucket. */
function poisonBuckets(dir: string): void {
  const path = join(dir, 'feed');
  const data = readFileSync(path);
  const { bodyStart, header } = readPreamble(path);
  // Schema 3: these few records fill one bucket, and buckets start the body.
  if (header.schema === 3 && header.buckets === 1) data[bodyStart + 2] ^= 0x01;
  for (let b = 0; b < header.buckets && header.schema !== 3; b++) {
    const entry = data.toString('latin1', bodyStart + b * INDEX_ENTRY_BYTES, bodyStart + (b + 1) * INDEX_ENTRY_BYTES);
    if (parseInt(entry.slice(12, 20), 16) > 0) data[bodyStart + header.buckets * INDEX_ENTRY_BYTES + parseInt(entry.slice(0, 12), 16) + 2] ^= 0x01;
  }
  writeFileSync(path, data);
}

describe('check reuses a passing verdict', () => {
  it('answers a repeat from node_modules/.provenance-guard without reading the feed, with the same output', async () => {
    const { dir, store } = await project();
    const first = await runCli(dir, ['check', '--format', 'json']);
    expect(first.code).toBe(0);
    expect(existsSync(store)).toBe(true);
    poisonBuckets(dir);
    const second = await runCli(dir, ['check', '--format', 'json']);
    expect(second).toEqual(first);
    rmSync(store);
    expect((await runCli(dir, ['check', '--format', 'json'])).code).toBe(2);
  });

  it('stores nothing without node_modules, and never stores a block', async () => {
    const { dir, store } = await project();
    rmSync(join(dir, 'node_modules'), { recursive: true });
    expect((await runCli(dir, ['check'])).code).toBe(0);
    expect(existsSync(store)).toBe(false);
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package-lock.json'), packageLock([['a', 1], ['c', 3]]));
    expect((await runCli(dir, ['check'])).code).toBe(1);
    expect(existsSync(store)).toBe(false);
  });

  it('a changed lockfile, config, PROVENANCE_GUARD_MODE or feed is checked again', async () => {
    const { dir, publicKey, store } = await project();
    // A lockfile with a blocked package, checked under warn: a pass (exit 0) that is stored.
    writeFileSync(join(dir, 'package-lock.json'), packageLock([['a', 1], ['c', 3]]));
    writeFileSync(join(dir, '.provenancerc'), policy(publicKey, 'warn'));
    expect((await runCli(dir, ['check'])).code).toBe(0);
    expect(existsSync(store)).toBe(true);
    expect((await runCli(dir, ['check'], { PROVENANCE_GUARD_MODE: 'block' })).code).toBe(1);
    expect((await runCli(dir, ['check'])).code).toBe(0);
    writeFileSync(join(dir, '.provenancerc'), policy(publicKey, 'block'));
    expect((await runCli(dir, ['check'])).code).toBe(1);
    expect(existsSync(store)).toBe(false);

    writeFileSync(join(dir, 'package-lock.json'), packageLock([['a', 1], ['b', 2]]));
    expect((await runCli(dir, ['check'])).code).toBe(0);
    expect(existsSync(store)).toBe(true);
    writeFileSync(join(dir, 'package-lock.json'), packageLock([['a', 1], ['b', 2], ['c', 3]]));
    expect((await runCli(dir, ['check'])).code).toBe(1);

    writeFileSync(join(dir, 'package-lock.json'), packageLock([['a', 1], ['b', 2]]));
    expect((await runCli(dir, ['check'])).code).toBe(0);
    // A new feed in which b is weak.
    await buildFeed(dir, [good('a', 1), weak('b', 2)], 11);
    expect((await runCli(dir, ['check'])).code).toBe(1);
  });

  it('ignores a verdict it did not write: one signed with another secret (a pull request, another machine)', async () => {
    const { dir, store } = await project();
    expect((await runCli(dir, ['check'])).code).toBe(0);
    writeFileSync(join(dir, 'package-lock.json'), packageLock([['a', 1], ['c', 3]]));
    expect((await runCli(dir, ['check'])).code).toBe(1);
    // The attacker computes the exact key (every input is public) and signs with their own secret.
    const inputs = await resolveGuardInputs({ cwd: dir, env: { PROVENANCE_GUARD_CACHE_DIR: join(dir, '.cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, '.cache', 'state') } });
    const forged: VerdictInputs = {
      file: store, scope: 'check', lockfilePath: join(dir, 'package-lock.json'), lockfile: readFileSync(join(dir, 'package-lock.json')),
      config: inputs.config, feedPath: inputs.feedPath, stateDir: join(dir, '.attacker'), now: new Date(),
    };
    const fakePass: Report = { summary: { packages: 2, pass: 2, warn: 0, block: 0, skip: 0 }, packages: [] };
    storeVerdict(forged, fakePass);
    expect(reuseVerdict(forged)).toEqual(fakePass);
    expect((await runCli(dir, ['check'])).code).toBe(1);
    expect(reuseVerdict({ ...forged, stateDir: join(dir, '.cache') })).toBeUndefined();
  });
});

describe('reuseVerdict / storeVerdict', () => {
  async function inputsFor(dir: string, now: Date): Promise<VerdictInputs> {
    const config = await loadConfig({ cwd: dir, env: {} });
    return {
      file: verdictFileFor(dir, 'pnpm')!,
      scope: 'pnpm',
      lockfilePath: join(dir, 'package-lock.json'),
      lockfile: readFileSync(join(dir, 'package-lock.json')),
      config,
      feedPath: join(dir, 'feed'),
      stateDir: join(dir, '.cache'),
      now,
    };
  }
  const pass: Report = { summary: { packages: 1, pass: 1, warn: 0, block: 0, skip: 0 }, packages: [{ name: 'a', version: '1.0.0', verdict: 'pass', findings: [] }] };
  const block: Report = { summary: { packages: 1, pass: 0, warn: 0, block: 1, skip: 0 }, packages: [{ name: 'c', version: '1.0.0', verdict: 'block', findings: [] }] };

  it('ends with the day, the feed expiry and staleness, and refuses a rolled-back feed', async () => {
    const { dir } = await project();
    const now = new Date();
    const inputs = await inputsFor(dir, now);
    storeVerdict(inputs, pass);
    expect(reuseVerdict(inputs)).toEqual(pass);
    expect(reuseVerdict({ ...inputs, scope: 'yarn' })).toBeUndefined();
    expect(reuseVerdict({ ...inputs, now: new Date(now.getTime() + 24 * 3600_000) })).toBeUndefined();
    expect(reuseVerdict({ ...inputs, now: new Date(now.getTime() - 24 * 3600_000) })).toBeUndefined();
    const header = readPreamble(inputs.feedPath!).header;
    // Stale: maxAge shorter than the feed's age.
    const staleAt = Date.parse(header.generatedAt) + 1000;
    const shortAge = { ...inputs, config: { ...inputs.config, feed: { ...inputs.config.feed, maxAge: 1000 } }, now: new Date(staleAt - 500) };
    storeVerdict(shortAge, pass);
    expect(reuseVerdict(shortAge)).toEqual(pass);
    expect(reuseVerdict({ ...shortAge, now: new Date(staleAt + 1) })).toBeUndefined();
    // Expiry: a verdict stored before the feed expires ends with it, within the day (the feed
    // never goes stale here, so only its expiry can end it).
    const expiresAt = Date.parse(header.expiresAt);
    const neverStale = { ...inputs, config: { ...inputs.config, feed: { ...inputs.config.feed, maxAge: 100 * 365 * 24 * 3600_000 } } };
    const before = { ...neverStale, now: new Date(expiresAt - 60_000) };
    storeVerdict(before, pass);
    expect(reuseVerdict(before)).toEqual(pass);
    expect(new Date(expiresAt + 60_000).toISOString().slice(0, 10)).toBe(new Date(expiresAt - 60_000).toISOString().slice(0, 10));
    expect(reuseVerdict({ ...neverStale, now: new Date(expiresAt + 60_000) })).toBeUndefined();
    // Rollback: a newer serial of this key was accepted since.
    storeVerdict(inputs, pass);
    recordSerial(inputs.stateDir, header.keyId, header.serial + 1, 'f'.repeat(64), now);
    expect(reuseVerdict(inputs)).toBeUndefined();
  });

  it('is not stored under a feed that replaced the one the process evaluated with', async () => {
    const { dir, publicKey } = await project();
    const inputs = await inputsFor(dir, new Date());
    const evaluated = openFeed(inputs.feedPath!, { publicKeys: [publicKey], stateDir: inputs.stateDir });
    evaluated.close();
    storeVerdict(inputs, pass);
    expect(reuseVerdict(inputs)).toEqual(pass);
    // `feed update` during the install: the file now holds serial 11, which this report never saw.
    await buildFeed(dir, [good('a', 1), good('b', 2), weak('c', 3)], 11);
    storeVerdict(inputs, pass);
    expect(existsSync(inputs.file)).toBe(false);
    expect(reuseVerdict(inputs)).toBeUndefined();
    // Once the process evaluated with the new feed too, it cannot tell which one a report is of.
    openFeed(inputs.feedPath!, { publicKeys: [publicKey], stateDir: inputs.stateDir }).close();
    storeVerdict(inputs, pass);
    expect(existsSync(inputs.file)).toBe(false);
  });

  it('stores again under the key a verdict was reused by, and only under it', async () => {
    const { dir } = await project();
    const inputs = await inputsFor(dir, new Date());
    storeVerdict(inputs, pass, ['first']);
    const { key } = reuseStoredVerdict(inputs)!;
    storeVerdict(inputs, pass, ['second'], undefined, key);
    expect(reuseStoredVerdict(inputs)?.attachment).toEqual(['second']);
    // The feed changed since it was reused: the new key is not the one it was reused by.
    storeVerdict(inputs, pass, ['third'], undefined, 'f'.repeat(64));
    expect(reuseStoredVerdict(inputs)?.attachment).toEqual(['second']);
  });

  it('never stores a block, and a block removes the stored pass', async () => {
    const { dir } = await project();
    const inputs = await inputsFor(dir, new Date());
    storeVerdict(inputs, block);
    expect(existsSync(inputs.file)).toBe(false);
    storeVerdict(inputs, pass);
    expect(existsSync(inputs.file)).toBe(true);
    storeVerdict(inputs, block);
    expect(existsSync(inputs.file)).toBe(false);
    // A stored file edited to hold a block under a valid-looking envelope is not returned.
    storeVerdict(inputs, pass);
    const stored = readFileSync(inputs.file, 'utf8');
    expect(stored).toContain('"block":0');
    writeFileSync(inputs.file, stored.replace('"block":0', '"block":1'));
    expect(reuseVerdict(inputs)).toBeUndefined();
    // Nor one whose head was edited (another key or a later end), nor one cut short.
    storeVerdict(inputs, pass);
    const fresh = readFileSync(inputs.file, 'utf8');
    expect(reuseVerdict(inputs)).toEqual(pass);
    writeFileSync(inputs.file, fresh.replace(/"validUntil":"[^"]+"/, '"validUntil":"2999-01-01T00:00:00.000Z"'));
    expect(reuseVerdict(inputs)).toBeUndefined();
    writeFileSync(inputs.file, fresh.slice(0, -10));
    expect(reuseVerdict(inputs)).toBeUndefined();
    writeFileSync(inputs.file, fresh);
    expect(reuseVerdict(inputs)).toEqual(pass);
  });

  it('refuses, with this machine\'s MAC, a report that blocks, and never throws for a MAC that is no MAC', async () => {
    const { dir } = await project();
    const inputs = await inputsFor(dir, new Date());
    storeVerdict(inputs, pass);
    const fresh = readFileSync(inputs.file, 'utf8');
    const signed = fresh.slice(fresh.indexOf('\n') + 1);
    const resigned = (text: string) => `${createHmac('sha256', machineSecret(inputs.stateDir, false)!).update(text).digest('hex')}\n${text}`;
    // The envelope is authentic (signed as storeVerdict signs): only the report's block count stops it.
    expect(resigned(signed)).toBe(fresh);
    writeFileSync(inputs.file, resigned(signed.replace('"block":0', '"block":1')));
    expect(reuseVerdict(inputs)).toBeUndefined();
    // 64 characters that are not hex (a planted file): no MAC of 32 bytes to compare, not an error.
    writeFileSync(inputs.file, `${'z'.repeat(64)}\n${signed}`);
    expect(reuseVerdict(inputs)).toBeUndefined();
    writeFileSync(inputs.file, fresh);
    expect(reuseVerdict(inputs)).toEqual(pass);
  });

  it('is reused from a minute before it was stored until, and not at, the moment the feed expires', async () => {
    const { dir } = await project();
    const header = readPreamble(join(dir, 'feed')).header;
    const expiresAt = Date.parse(header.expiresAt);
    // Noon of the day before the feed expires, and a config that never finds the feed stale: only the expiry ends it that day.
    const day = new Date(expiresAt - 24 * 3600_000).toISOString().slice(0, 10);
    const noon = new Date(`${day}T12:00:00.000Z`);
    const base = await inputsFor(dir, noon);
    const inputs = { ...base, config: { ...base.config, feed: { ...base.config.feed, maxAge: 100 * 365 * 24 * 3600_000 } } };
    storeVerdict(inputs, pass);
    expect(reuseVerdict(inputs)).toEqual(pass);
    expect(reuseVerdict({ ...inputs, now: new Date(noon.getTime() - 60_000) })).toEqual(pass);
    expect(reuseVerdict({ ...inputs, now: new Date(noon.getTime() - 60_001) })).toBeUndefined();
    // Stored on the day it expires: valid until that instant, not at it.
    const lastDay = { ...inputs, now: new Date(expiresAt - 1000) };
    if (new Date(expiresAt).toISOString().slice(0, 10) === new Date(expiresAt - 1000).toISOString().slice(0, 10)) {
      storeVerdict(lastDay, pass);
      expect(reuseVerdict({ ...lastDay, now: new Date(expiresAt - 1) })).toEqual(pass);
      expect(reuseVerdict({ ...lastDay, now: new Date(expiresAt) })).toBeUndefined();
    }
  });

  it('keys a lockfile given in parts by every part and where each ends', async () => {
    const { dir } = await project();
    const inputs = { ...(await inputsFor(dir, new Date())), lockfile: [Buffer.from('ab'), Buffer.from('c')] };
    storeVerdict(inputs, pass);
    expect(reuseVerdict(inputs)).toEqual(pass);
    expect(reuseVerdict({ ...inputs, lockfile: [Buffer.from('ab'), Buffer.from('c')] })).toEqual(pass);
    for (const other of [[Buffer.from('a'), Buffer.from('bc')], [Buffer.from('abc')], [Buffer.from('ab'), Buffer.from('c'), Buffer.from('')], [Buffer.from('c'), Buffer.from('ab')]]) {
      expect(reuseVerdict({ ...inputs, lockfile: other })).toBeUndefined();
    }
    expect(reuseVerdict({ ...inputs, lockfile: 'abc' })).toBeUndefined();
  });

  it('keeps the output as printed, bytes as they were, under the same MAC', async () => {
    const { dir } = await project();
    const inputs = await inputsFor(dir, new Date());
    const printed = '{\n  "summary": {}\n}\n\u00e9\n';
    storeVerdict(inputs, pass, { a: 1 }, printed);
    const reused = reuseStoredVerdict(inputs);
    expect(reused).toEqual({ report: pass, attachment: { a: 1 }, key: expect.stringMatching(/^[0-9a-f]{64}$/), printed: Buffer.from(printed) });
    const fresh = readFileSync(inputs.file);
    // One changed byte of the output, a longer or shorter output, or a length that does not fit: not reused.
    const flipped = Buffer.from(fresh);
    flipped[flipped.length - 3] ^= 1;
    for (const edited of [flipped, Buffer.concat([fresh, Buffer.from('x')]), fresh.subarray(0, -1), Buffer.from(fresh.toString().replace(/"printedBytes":\d+/, '"printedBytes":99999'))]) {
      writeFileSync(inputs.file, edited);
      expect(reuseStoredVerdict(inputs)).toBeUndefined();
    }
    // Without an output, nothing printed comes back.
    storeVerdict(inputs, pass);
    expect(reuseStoredVerdict(inputs)).toEqual({ report: pass, attachment: undefined, key: expect.any(String) });
  });
});

describe('verdicts in the state directory (the pnpm hook\'s)', () => {
  it('one file per scope and project directory, named by the directory\'s absolute path', () => {
    const state = '/state';
    const file = stateVerdictFile(state, 'pnpm', '/work/app');
    expect(file).toMatch(/^\/state\/verdicts\/pnpm-[0-9a-f]{32}\.json$/);
    expect(stateVerdictFile(state, 'pnpm', '/work/app/')).toBe(file);
    expect(stateVerdictFile(state, 'pnpm', '/work/other')).not.toBe(file);
    expect(stateVerdictFile(state, 'yarn', '/work/app')).not.toBe(file);
  });

  it('pruning removes only verdicts not written for two days (none of them can match a key of today)', () => {
    const state = mkdtempSync(join(tmpdir(), 'pg-state-verdicts-'));
    dirs.push(state);
    const now = new Date('2026-12-01T12:00:00Z');
    const at = (file: string, ms: number) => {
      mkdirSync(join(state, 'verdicts'), { recursive: true });
      writeFileSync(file, 'x');
      utimesSync(file, new Date(ms), new Date(ms));
      return file;
    };
    const DAY = 24 * 3600 * 1000;
    const fresh = at(stateVerdictFile(state, 'pnpm', '/a'), now.getTime() - 2 * DAY + 60_000);
    const old = at(stateVerdictFile(state, 'pnpm', '/b'), now.getTime() - 2 * DAY - 60_000);
    pruneStateVerdicts(state, now);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(old)).toBe(false);
    // No directory yet: nothing to do, no error.
    expect(() => pruneStateVerdicts(join(state, 'none'), now)).not.toThrow();
  });

  it('storing a verdict there drops those of earlier days; one stored beside node_modules does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-state-store-'));
    dirs.push(dir);
    const state = join(dir, 'state');
    const old = stateVerdictFile(state, 'pnpm', '/elsewhere');
    mkdirSync(dirname(old), { recursive: true });
    writeFileSync(old, 'x');
    const longAgo = new Date(Date.now() - 3 * 24 * 3600 * 1000);
    utimesSync(old, longAgo, longAgo);
    const config = await loadConfig({ cwd: dir, env: {} });
    const inputs = (file: string): VerdictInputs => ({ file, scope: 'pnpm', lockfilePath: join(dir, 'pnpm-lock.yaml'), lockfile: 'lock', config, feedPath: undefined, stateDir: state, now: new Date() });
    const passing: Report = { summary: { packages: 0, pass: 0, warn: 0, block: 0, skip: 0 }, packages: [] };
    mkdirSync(join(dir, 'node_modules'));
    storeVerdict(inputs(join(dir, 'node_modules', '.provenance-guard', 'pnpm-verdict.json')), passing);
    expect(existsSync(join(dir, 'node_modules', '.provenance-guard', 'pnpm-verdict.json'))).toBe(true);
    expect(existsSync(old)).toBe(true);
    const file = stateVerdictFile(state, 'pnpm', dir);
    storeVerdict(inputs(file), passing);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(old)).toBe(false);
  });
});

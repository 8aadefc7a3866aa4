import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { runCli, type CliResult } from './helpers/cli';
import { cliProject, packageLock, policy, SHA } from './helpers/cli-project';

const CLI = join(__dirname, '..', 'dist', 'cli.cjs');

/** Runs the CLI in-process (fast) with a private cache dir. */
const cli = runCli;
type Result = CliResult;

/** Runs the built CLI as a user would. */
function bin(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Result {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: cwd, PROVENANCE_GUARD_CACHE_DIR: join(cwd, '.cache'), PROVENANCE_GUARD_STATE_DIR: join(cwd, '.cache', 'state'), NO_COLOR: '1', ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const RECORDS = [
  {
    name: 'good-pkg',
    version: '1.0.0',
    integrity: SHA(1),
    repository: { url: 'https://github.com/acme/good', commit: 'a'.repeat(40), status: 'attested' },
    rebuild: { verdict: 'reproducible', source: 'oss-rebuild' },
    scorecard: { score: 8.2, date: '2026-11-01', checks: { 'Dangerous-Workflow': 10 } },
  },
  {
    name: 'weak-pkg',
    version: '2.0.0',
    integrity: SHA(2),
    repository: { url: 'https://github.com/acme/weak', status: 'claimed' },
    rebuild: { verdict: 'reproducible' },
    scorecard: { score: 3.1, checks: { 'Dangerous-Workflow': 10 } },
  },
];

const SCORECARD = '{ minScore: 5, checks: { Dangerous-Workflow: 10 } }';
const POLICY = (publicKey: string, mode = 'block') => policy(publicKey, mode, SCORECARD);

/** A project with keys, a signed feed of RECORDS, a lockfile and a policy. */
function project(mode = 'block'): Promise<{ dir: string; publicKey: string }> {
  const lock = [
    { name: 'good-pkg', version: '1.0.0', integrity: SHA(1) },
    { name: 'weak-pkg', version: '2.0.0', integrity: SHA(2) },
    { name: 'unknown-pkg', version: '0.1.0', integrity: SHA(3) },
  ];
  return cliProject(RECORDS, lock, mode, SCORECARD);
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
});

describe('feed keygen', () => {
  test('writes a private key only its owner can read and prints the public key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-cli-'));
    const r = await cli(dir, ['feed', 'keygen', '--out-dir', 'k']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(readFileSync(join(dir, 'k', 'feed.pub'), 'utf8').trim());
    expect(statSync(join(dir, 'k', 'feed.key')).mode & 0o077).toBe(0);
    const again = await cli(dir, ['feed', 'keygen', '--out-dir', 'k']);
    expect(again.code).toBe(2);
  });
});

describe('check', () => {
  test('JSON report has exactly the SPEC shape and exit 1 when a package blocks', async () => {
    const { dir } = await project('block');
    const r = await cli(dir, ['check', '--format', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(['summary', 'packages']);
    expect(report.summary).toEqual({ packages: 3, pass: 1, warn: 1, block: 1, skip: 0 });
    const byName = Object.fromEntries(report.packages.map((p: { name: string }) => [p.name, p]));
    expect(byName['good-pkg']).toEqual({ name: 'good-pkg', version: '1.0.0', verdict: 'pass', findings: [] });
    expect(byName['weak-pkg'].verdict).toBe('block');
    expect(byName['weak-pkg'].findings).toEqual([{ rule: 'scorecard', severity: 'block', message: expect.stringContaining('3.1') }]);
    expect(byName['unknown-pkg'].verdict).toBe('warn');
    for (const p of report.packages) {
      expect(Object.keys(p)).toEqual(['name', 'version', 'verdict', 'findings']);
      for (const f of p.findings) expect(Object.keys(f)).toEqual(['rule', 'severity', 'message']);
    }
  });

  test('warn mode never exits 1', async () => {
    const { dir } = await project('warn');
    const r = await cli(dir, ['check', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).summary).toEqual({ packages: 3, pass: 1, warn: 2, block: 0, skip: 0 });
  });

  test('a JavaScript config is loaded by the built CLI (cosmiconfig, loaded on first use from node_modules)', async () => {
    const { dir, publicKey } = await project('block');
    rmSync(join(dir, '.provenancerc'));
    writeFileSync(join(dir, 'provenance.config.cjs'), `module.exports = { mode: 'warn', feed: { source: './feed', publicKeys: [${JSON.stringify(publicKey)}] }, rules: { scorecard: { minScore: 5 } }, unknown: 'warn' };\n`);
    const r = spawnSync(process.execPath, [CLI, 'check', '--format', 'json'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, PROVENANCE_GUARD_CACHE_DIR: join(dir, '.cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, '.cache', 'state') } });
    expect(r.stderr).toContain('provenance.config.cjs');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).summary).toEqual({ packages: 3, pass: 1, warn: 2, block: 0, skip: 0 });
  });

  test('PROVENANCE_GUARD_MODE overrides the file', async () => {
    const { dir } = await project('block');
    expect((await cli(dir, ['check'], { PROVENANCE_GUARD_MODE: 'warn' })).code).toBe(0);
    const off = await cli(dir, ['check', '--format', 'json'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(JSON.parse(off.stdout).summary.skip).toBe(3);
  });

  test('human output: a table of flagged packages with the rule and the override to add; NO_COLOR means no ANSI', async () => {
    const { dir } = await project('block');
    const r = await cli(dir, ['check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('1 blocked, 1 warned, 1 passed');
    expect(r.stdout).toMatch(/BLOCK\s+weak-pkg@2\.0\.0\s+\[scorecard\]/);
    expect(r.stdout).toMatch(/WARN\s+unknown-pkg@0\.1\.0\s+\[repository\]/);
    expect(r.stdout).toContain('- package: "weak-pkg@2.0.0"');
    expect(r.stdout).toContain('rules: [scorecard]');
    expect(r.stdout).not.toContain('good-pkg');
    expect(r.stdout).not.toMatch(/\u001b\[/);
    const colored = await cli(dir, ['check'], { NO_COLOR: '', FORCE_COLOR: '1' });
    expect(colored.stdout).toMatch(/\u001b\[/);
  });

  test('SARIF output lists each finding as a result in the lockfile', async () => {
    const { dir } = await project('block');
    const r = await cli(dir, ['check', '--format', 'sarif']);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    const results = sarif.runs[0].results;
    expect(results.find((x: { ruleId: string; level: string }) => x.ruleId === 'scorecard').level).toBe('error');
    expect(results.every((x: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) => x.locations[0]!.physicalLocation.artifactLocation.uri === 'package-lock.json')).toBe(true);
  });

  test('an integrity mismatch with the feed blocks', async () => {
    const { dir } = await project('block');
    writeFileSync(join(dir, 'package-lock.json'), packageLock([{ name: 'good-pkg', version: '1.0.0', integrity: SHA(9) }]));
    const r = await cli(dir, ['check', '--format', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).packages[0].findings).toEqual([{ rule: 'integrity', severity: 'block', message: expect.stringContaining('does not match') }]);
  });

  test('--lockfile, --config and --feed point elsewhere', async () => {
    const { dir } = await project('block');
    const other = mkdtempSync(join(tmpdir(), 'pg-cli-other-'));
    const r = await cli(other, ['check', '--lockfile', join(dir, 'package-lock.json'), '--config', join(dir, '.provenancerc'), '--feed', join(dir, 'feed'), '--format', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).summary.block).toBe(1);
  });
});

describe('a feed that cannot be trusted is refused with exit 2', () => {
  test('one byte flipped', async () => {
    const { dir } = await project();
    const out = join(dir, 'feed');
    const file = statSync(out).isDirectory() ? join(out, 'provenance.feed') : out;
    const bytes = readFileSync(file);
    bytes[bytes.length - 10] ^= 0x01;
    writeFileSync(file, bytes);
    const r = bin(dir, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('provenance-guard:');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(bin(dir, ['feed', 'verify', 'feed', '--public-key', 'keys/feed.pub']).code).toBe(2);
  });

  test('signed by another key', async () => {
    const { dir } = await project();
    const other = await cli(dir, ['feed', 'keygen', '--out-dir', 'other']);
    writeFileSync(join(dir, '.provenancerc'), POLICY(other.stdout.trim()));
    const r = await cli(dir, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/signature|key/i);
    expect((await cli(dir, ['feed', 'verify', 'feed', '--public-key', 'other/feed.pub'])).code).toBe(2);
    expect((await cli(dir, ['feed', 'verify', 'feed', '--public-key', 'keys/feed.pub'])).code).toBe(0);
  });

  test('older serial than one already accepted (rollback)', async () => {
    const { dir } = await project();
    await cli(dir, ['feed', 'build', '--records', 'records.ndjson', '--key', 'keys/feed.key', '--out', 'new', '--serial', '100']);
    await cli(dir, ['feed', 'build', '--records', 'records.ndjson', '--key', 'keys/feed.key', '--out', 'old', '--serial', '50']);
    expect((await cli(dir, ['check', '--feed', 'new'])).code).toBe(1);
    const r = await cli(dir, ['check', '--feed', 'old']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/serial|rollback|older/i);
  });

  test('expired', async () => {
    const { dir } = await project();
    await cli(dir, ['feed', 'build', '--records', 'records.ndjson', '--key', 'keys/feed.key', '--out', 'short', '--expires-in', '1s', '--serial', '1']);
    await new Promise((r) => setTimeout(r, 1200));
    const r = await cli(dir, ['check', '--feed', 'short']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expired/i);
  });
});

describe('bad input: a clear error naming the file, exit 2, no stack trace', () => {
  test('malformed .provenancerc', async () => {
    const { dir } = await project();
    writeFileSync(join(dir, '.provenancerc'), 'mode: [oops\n');
    const r = bin(dir, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PG_CONFIG_INVALID');
    expect(r.stderr).toContain(join(dir, '.provenancerc'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('invalid key in .provenancerc', async () => {
    const { dir } = await project();
    writeFileSync(join(dir, '.provenancerc'), 'mode: block\nrules: { scorecard: { minScore: ten } }\n');
    const r = bin(dir, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PG_CONFIG_INVALID');
    expect(r.stderr).toContain('rules.scorecard.minScore');
  });

  test('malformed lockfile', async () => {
    const { dir } = await project();
    writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion": 3, "packages": ');
    const r = bin(dir, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PG_LOCKFILE_PARSE');
    expect(r.stderr).toContain('package-lock.json');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('no lockfile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-cli-'));
    const r = await cli(dir, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PG_LOCKFILE_NOT_FOUND');
  });

  test('malformed records file names the line, and leaves no feed behind', async () => {
    const { dir } = await project();
    writeFileSync(join(dir, 'bad.ndjson'), `${JSON.stringify(RECORDS[0])}\n{"name":"Bad Name!","version":"1.0.0"}\n`);
    const r = bin(dir, ['feed', 'build', '--records', 'bad.ndjson', '--key', 'keys/feed.key', '--out', 'bad-feed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PG_RECORDS_INVALID');
    expect(r.stderr).toContain('bad.ndjson:2');
    expect(existsSync(join(dir, 'bad-feed', 'provenance.feed')) || existsSync(join(dir, 'bad-feed'))).toBe(false);
  });

  test('feed verify of a path that does not exist names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-cli-'));
    // A usable key: the feed path is what is missing.
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    writeFileSync(join(dir, 'k.pub'), Buffer.from(jwk.x!, 'base64url').toString('base64'));
    const r = await cli(dir, ['feed', 'verify', 'missing-feed', '--public-key', 'k.pub']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ERR_PG_FEED_NOT_FOUND: ${join(dir, 'missing-feed')}`);
  });

  test('usage errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-cli-'));
    expect((await cli(dir, ['check', '--format', 'xml'])).code).toBe(2);
    expect((await cli(dir, ['check', '--nope'])).code).toBe(2);
    expect((await cli(dir, ['explain'])).code).toBe(2);
    expect((await cli(dir, ['explain', 'left-pad'])).code).toBe(2);
    expect((await cli(dir, ['frobnicate'])).code).toBe(2);
    expect((await cli(dir, ['feed', 'build', '--records', 'x'])).code).toBe(2);
  });
});

describe('explain', () => {
  test('shows every piece of evidence and the rule that decided', async () => {
    const { dir } = await project('block');
    const r = await cli(dir, ['explain', 'weak-pkg@2.0.0']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('weak-pkg@2.0.0  BLOCK');
    expect(r.stdout).toMatch(/repository\s+claimed https:\/\/github.com\/acme\/weak/);
    expect(r.stdout).toMatch(/rebuild\s+reproducible/);
    expect(r.stdout).toMatch(/scorecard\s+3\.1/);
    expect(r.stdout).toMatch(/decided by\s+scorecard/);
    const good = await cli(dir, ['explain', 'good-pkg@1.0.0', '--format', 'json']);
    expect(good.code).toBe(0);
    const json = JSON.parse(good.stdout);
    expect(json.verdict).toBe('pass');
    expect(json.record.repository.status).toBe('attested');
    expect(json.decisions.map((d: { rule: string }) => d.rule)).toEqual(['integrity', 'repository', 'rebuild', 'scorecard', 'scorecard', 'contents']);
  });
});

describe('the README quick start', () => {
  test('keygen, build a feed from records, block a package in the lockfile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-quickstart-'));
    mkdirSync(join(dir, '.provenance'));
    const keygen = bin(dir, ['feed', 'keygen', '--out-dir', '.provenance/keys']);
    expect(keygen.code).toBe(0);
    writeFileSync(join(dir, 'records.ndjson'), RECORDS.map((r) => JSON.stringify(r)).join('\n'));
    expect(bin(dir, ['feed', 'build', '--records', 'records.ndjson', '--key', '.provenance/keys/feed.key', '--out', '.provenance/feed']).code).toBe(0);
    expect(bin(dir, ['feed', 'verify', '.provenance/feed', '--public-key', '.provenance/keys/feed.pub']).code).toBe(0);
    writeFileSync(join(dir, '.provenancerc'), `mode: block\nfeed:\n  publicKeys: ["${keygen.stdout.trim()}"]\nrules:\n  scorecard: { minScore: 5 }\n`);
    writeFileSync(join(dir, 'package-lock.json'), packageLock([{ name: 'weak-pkg', version: '2.0.0', integrity: SHA(2) }]));
    const r = bin(dir, ['check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BLOCK\s+weak-pkg@2\.0\.0\s+\[scorecard\]/);
  });
});

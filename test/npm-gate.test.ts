/**
 * The npm lockfile gate end to end (README "npm"): real npm 11 writes package-lock.json with
 * `npm install --package-lock-only --ignore-scripts` against a local verdaccio, the lockfile is
 * tampered with as a pull request could, the built `provenance-guard check` decides, and
 * `npm ci` runs only when it passes. A blocked package must leave no node_modules entry and
 * no postinstall marker. Each attack is also shown to work without the gate.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildFeed } from '../src/feed/build';
import { generateKeyPair } from '../src/feed/keys';
import type { FeedRecord } from '../src/types';
import { fixture, markerDir, markerScript, runCommand, type CommandResult } from './helpers/pm';
import { startRegistry, type PublishedPackage, type TestRegistry } from './helpers/registry';

const CLI = resolve(__dirname, '..', 'dist', 'cli.cjs');
const GOOD = '@pg-fixture/npm-good';
const EVIL = '@pg-fixture/npm-evil';
const BLOCKED = '@pg-fixture/npm-blocked';

let registry: TestRegistry;
let markers: string;
let root: string;
let feedPath: string;
let publicKey: string;
const published = new Map<string, PublishedPackage>();

const record = (p: PublishedPackage, rebuild: 'reproducible' | 'not-reproducible'): FeedRecord => ({
  name: p.name,
  version: p.version,
  integrity: p.integrity,
  repository: { url: `https://github.com/pg-fixture/${p.name.split('/')[1]}`, commit: 'a'.repeat(40), status: 'attested' },
  rebuild: { verdict: rebuild, source: 'oss-rebuild' },
  scorecard: { score: 8 },
});

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  registry = await startRegistry();
  markers = markerDir();
  root = mkdtempSync(join(tmpdir(), 'pg-npm-gate-'));
  for (const name of [GOOD, EVIL, BLOCKED]) published.set(name, await registry.publish(fixture(markers, { name, version: '1.0.0' })));
  const keys = generateKeyPair(join(root, 'keys'));
  publicKey = keys.publicKey;
  // The evil package is not in the feed; the blocked one fails the rebuild rule.
  const records = [record(published.get(GOOD)!, 'reproducible'), record(published.get(BLOCKED)!, 'not-reproducible')];
  feedPath = (await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: join(root, 'provenance.feed') })).path;
}, 120_000);

afterAll(async () => {
  await registry?.close();
  for (const dir of [root, markers]) if (dir) rmSync(dir, { recursive: true, force: true });
});

let counter = 0;

interface NpmProject {
  dir: string;
  npm(args: string[]): Promise<CommandResult>;
  lock(): { packages: Record<string, Record<string, unknown>> };
  writeLock(lock: unknown): void;
  /** `provenance-guard check && npm ci`: the gate as README "npm" shows it. */
  gate(): Promise<{ check: CommandResult; ci?: CommandResult }>;
  /** `provenance-guard <args>` (the npm wrapper). */
  wrapper(args: string[]): Promise<CommandResult>;
  ran(): string[];
  installed(name: string): boolean;
}

function npmProject(dependencies: Record<string, string>, policyExtra = ''): NpmProject {
  const dir = join(root, `project-${++counter}`);
  const home = join(root, `home-${counter}`);
  mkdirSync(dir, { recursive: true });
  mkdirSync(home, { recursive: true });
  const id = `npm${counter}-${process.pid}`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies }, null, 2));
  writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}/\n`);
  writeFileSync(
    join(dir, '.provenancerc'),
    `mode: block\nfeed:\n  source: ${JSON.stringify(feedPath)}\n  publicKeys: [${JSON.stringify(publicKey)}]\n  offline: true\nrules:\n  repository: { require: claimed }\n  rebuild: { require: reproducible }\n  scorecard: { minScore: 5 }\nunknown: block\n${policyExtra}`,
  );
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, npm_config_cache: join(home, '.npm'), npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', PG_PROJECT_ID: id, PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'), PROVENANCE_GUARD_STATE_DIR: join(home, 'pg-state'), NO_COLOR: '1' };
  const run = (command: string, args: string[]) => runCommand(command, args, { cwd: dir, env, timeoutMs: 120_000 });
  return {
    dir,
    npm: (args) => run('npm', args),
    lock: () => JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> },
    writeLock: (lock) => writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2)),
    async gate() {
      const check = await run(process.execPath, [CLI, 'check']);
      if (check.code !== 0) return { check };
      return { check, ci: await run('npm', ['ci']) };
    },
    wrapper: (args) => run(process.execPath, [CLI, ...args]),
    ran: () => readdirSync(markers).filter((f) => f.endsWith(`--${id}`)).map((f) => f.slice(0, -`--${id}`.length).replace('+', '/')),
    installed: (name) => existsSync(join(dir, 'node_modules', name)),
  };
}

/** The same project without the gate: what npm alone would do with the tampered lockfile. */
async function withoutGate(p: NpmProject): Promise<{ ci: CommandResult; copy: string }> {
  const copy = `${p.dir}-ungated`;
  cpSync(p.dir, copy, { recursive: true });
  const ci = await runCommand('npm', ['ci', '--ignore-scripts'], { cwd: copy, env: { PATH: process.env.PATH ?? '', HOME: join(copy, '.home'), npm_config_cache: join(copy, '.home/.npm'), npm_config_audit: 'false', npm_config_fund: 'false' } });
  return { ci, copy };
}

function sha1Sri(p: PublishedPackage): string {
  return `sha1-${Buffer.from(p.shasum, 'hex').toString('base64')}`;
}

async function lockedProject(dependencies: Record<string, string>, policyExtra = ''): Promise<NpmProject> {
  const p = npmProject(dependencies, policyExtra);
  const locked = await p.npm(['install', '--package-lock-only', '--ignore-scripts']);
  expect(locked.code, locked.stderr).toBe(0);
  return p;
}

function expectStopped(p: NpmProject, result: { check: CommandResult; ci?: CommandResult }, code: number, name: string): void {
  expect(result.check.code, result.check.stdout + result.check.stderr).toBe(code);
  expect(result.ci).toBeUndefined();
  expect(p.installed(name)).toBe(false);
  expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  expect(p.ran()).toEqual([]);
}

describe('npm 11 lockfile gate', () => {
  test('control: an untampered lockfile passes the gate and npm ci installs and runs the package', async () => {
    const p = await lockedProject({ [GOOD]: '1.0.0' });
    const result = await p.gate();
    expect(result.check.code, result.check.stdout + result.check.stderr).toBe(0);
    expect(result.ci?.code, result.ci?.stderr).toBe(0);
    expect(p.installed(GOOD)).toBe(true);
    expect(p.ran()).toEqual([`${GOOD}@1.0.0`]);
  });

  test('integrity not bound: sha1 of another tarball with resolved pointing to it is refused', async () => {
    const p = await lockedProject({ [GOOD]: '1.0.0' });
    const lock = p.lock();
    const evil = published.get(EVIL)!;
    // On another host (at the registry's path it would be judged as the evil package itself).
    Object.assign(lock.packages[`node_modules/${GOOD}`]!, { integrity: sha1Sri(evil), resolved: evil.tarball.replace('127.0.0.1', 'localhost') });
    p.writeLock(lock);
    const { ci, copy } = await withoutGate(p);
    expect(ci.code, ci.stderr).toBe(0);
    expect(readFileSync(join(copy, 'node_modules', GOOD, 'index.js'), 'utf8')).toContain(EVIL); // npm installed the other tarball
    const result = await p.gate();
    expectStopped(p, result, 1, GOOD);
    expect(result.check.stdout).toMatch(/BLOCK.*\sintegrity\s/);
  });

  test('the registry\'s own URL with another tarball\'s integrity: check refuses it as rule integrity under the key\'s name', async () => {
    const p = await lockedProject({ [GOOD]: '1.0.0' });
    const lock = p.lock();
    Object.assign(lock.packages[`node_modules/${GOOD}`]!, { resolved: published.get(GOOD)!.tarball, integrity: published.get(EVIL)!.integrity });
    p.writeLock(lock);
    // (npm itself would fail the download with EINTEGRITY, after its retries.)
    const result = await p.gate();
    expectStopped(p, result, 1, GOOD);
    expect(result.check.stdout).toMatch(/BLOCK  @pg-fixture\/npm-good@1\.0\.0\n\s+\[integrity\] integrity sha512-\S+ does not match the feed's sha512-/);
    expect(result.check.stdout).not.toContain('[source]'); // the registry's own URL: a registry package
  });

  test('a registry-shaped URL on another host is a tarball source, not the registry package', async () => {
    const p = await lockedProject({ [GOOD]: '1.0.0' });
    const lock = p.lock();
    const other = published.get(GOOD)!.tarball.replace('127.0.0.1', 'localhost');
    Object.assign(lock.packages[`node_modules/${GOOD}`]!, { resolved: other });
    p.writeLock(lock);
    const { ci } = await withoutGate(p);
    expect(ci.code, ci.stderr).toBe(0); // npm fetches from that host
    const result = await p.gate();
    expectStopped(p, result, 1, GOOD);
    expect(result.check.stdout).toMatch(/\[source\] installed from a tarball URL/);
  });

  test('a resolved URL that is the registry tarball of another package is that package: an excluded key skips nothing', async () => {
    const p = await lockedProject({ [GOOD]: '1.0.0' }, `exclude: [${JSON.stringify(GOOD)}]\n`);
    const lock = p.lock();
    const blocked = published.get(BLOCKED)!;
    Object.assign(lock.packages[`node_modules/${GOOD}`]!, { resolved: blocked.tarball, integrity: blocked.integrity });
    p.writeLock(lock);
    const { ci, copy } = await withoutGate(p);
    expect(ci.code, ci.stderr).toBe(0);
    expect(readFileSync(join(copy, 'node_modules', GOOD, 'index.js'), 'utf8')).toContain(BLOCKED); // npm fetched the URL
    const result = await p.gate();
    expectStopped(p, result, 1, GOOD);
    expect(result.check.stdout).toContain(`${BLOCKED}@1.0.0`);
    expect(result.check.stdout).toContain('[rebuild]');
    const wrapped = await p.wrapper(['npm', 'ci']);
    expect(wrapped.code, wrapped.stdout + wrapped.stderr).toBe(1);
    expect(wrapped.stdout + wrapped.stderr).toContain(`${BLOCKED}@1.0.0`);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  });

  test('a declared URL dependency that is the registry tarball of another package is named by that package: an excluded key skips nothing', async () => {
    const blocked = published.get(BLOCKED)!;
    const p = await lockedProject({ [GOOD]: blocked.tarball }, `exclude: [${JSON.stringify(GOOD)}]\n`);
    const { ci, copy } = await withoutGate(p);
    expect(ci.code, ci.stderr).toBe(0);
    expect(readFileSync(join(copy, 'node_modules', GOOD, 'index.js'), 'utf8')).toContain(BLOCKED);
    const result = await p.gate();
    expectStopped(p, result, 1, GOOD);
    expect(result.check.stdout).toContain(`${BLOCKED}@1.0.0 (as ${GOOD})`);
    expect(result.check.stdout).toContain('[source]');
  });

  test('a decoy empty lockfile beside the real one is an error, not "0 packages checked"', async () => {
    const p = await lockedProject({ [BLOCKED]: '1.0.0' });
    writeFileSync(join(p.dir, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n");
    const result = await p.gate();
    expectStopped(p, result, 2, BLOCKED);
    expect(result.check.stderr).toContain('pnpm-lock.yaml');
    rmSync(join(p.dir, 'pnpm-lock.yaml'));
    expectStopped(p, await p.gate(), 1, BLOCKED);
  });

  test('name spoofing: a name field posing as an excluded package does not skip the blocked one', async () => {
    const p = await lockedProject({ [BLOCKED]: '1.0.0' }, 'exclude: ["@acme/*"]\n');
    const lock = p.lock();
    Object.assign(lock.packages[`node_modules/${BLOCKED}`]!, { name: '@acme/internal', resolved: published.get(BLOCKED)!.tarball });
    p.writeLock(lock);
    const { ci, copy } = await withoutGate(p);
    expect(ci.code, ci.stderr).toBe(0);
    expect(existsSync(join(copy, 'node_modules', BLOCKED, 'index.js'))).toBe(true); // npm installs the blocked tarball
    const result = await p.gate();
    expectStopped(p, result, 1, BLOCKED);
    expect(result.check.stdout).toContain(BLOCKED);
  });

  test('a link outside the project is named by the path npm links it at, never by the target entry\'s name field', async () => {
    const p = npmProject({});
    const outside = `${p.dir}-lib`;
    mkdirSync(outside);
    writeFileSync(join(outside, 'package.json'), JSON.stringify({ name: 'pg-outside-lib', version: '1.0.0', scripts: { postinstall: markerScript(markers, 'pg-outside-lib', '1.0.0') } }));
    writeFileSync(join(p.dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { 'pg-outside-lib': `file:../${outside.split('/').pop()}` } }));
    writeFileSync(join(p.dir, '.provenancerc'), readFileSync(join(p.dir, '.provenancerc'), 'utf8') + 'exclude: ["@acme/*"]\n');
    expect((await p.npm(['install', '--package-lock-only', '--ignore-scripts'])).code).toBe(0);
    const lock = p.lock();
    const target = `../${outside.split('/').pop()}`;
    expect(lock.packages['node_modules/pg-outside-lib']).toMatchObject({ link: true, resolved: target });
    Object.assign(lock.packages[target]!, { name: '@acme/internal' });
    p.writeLock(lock);
    const { ci, copy } = await withoutGate(p);
    expect(ci.code, ci.stderr).toBe(0);
    expect(readFileSync(join(copy, 'node_modules', 'pg-outside-lib', 'package.json'), 'utf8')).toContain('pg-outside-lib'); // npm links the folder at the path
    const result = await p.gate();
    expectStopped(p, result, 1, 'pg-outside-lib');
    expect(result.check.stdout).toContain('pg-outside-lib');
    // The npm wrapper reads the lockfile with the same reader: refused the same way.
    const wrapped = await p.wrapper(['npm', 'ci']);
    expect(wrapped.code, wrapped.stdout + wrapped.stderr).toBe(1);
    expect(wrapped.stdout + wrapped.stderr).toContain('pg-outside-lib@1.0.0');
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    expect(p.ran()).toEqual([]);
  });

  test('no resolved: npm fetches the name field\'s package at the path, so that name decides (an excluded path name skips nothing)', async () => {
    const p = await lockedProject({ [GOOD]: '1.0.0' }, `exclude: [${JSON.stringify(GOOD)}]\n`);
    const lock = p.lock();
    const entry = lock.packages[`node_modules/${GOOD}`]!;
    delete entry.resolved;
    Object.assign(entry, { name: BLOCKED, integrity: published.get(BLOCKED)!.integrity });
    p.writeLock(lock);
    const { ci, copy } = await withoutGate(p);
    expect(ci.code, ci.stderr).toBe(0);
    // npm 11 (arborist reify: `${node.package.name}@${node.version}` when resolved is absent) installs the blocked package under GOOD's path
    expect(readFileSync(join(copy, 'node_modules', GOOD, 'index.js'), 'utf8')).toContain(BLOCKED);
    const result = await p.gate();
    expectStopped(p, result, 1, GOOD);
    expect(result.check.stdout).toContain(BLOCKED);
  });
});

/**
 * The Bun security scanner end to end: real Bun 1.4.4 against a local verdaccio, provenance-guard
 * installed from that registry as a devDependency and wired by `init --pm bun`, fixtures whose
 * postinstall leaves a marker. A refused install must leave no files of the blocked package, no
 * marker, package.json and bun.lock unchanged, and name each blocked name@version.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { initBun } from '../src/init/bun';
import { stateVerdictFile } from '../src/verdict-store';
import { VERSION } from '../src/version';
import { BUN_BIN, createBunProject, scannerPackage, type BunProject } from './helpers/bun';
import { runCli } from './helpers/cli';
import { createFixtureWorld, FIXTURE_NAMES, type FixtureWorld } from './helpers/install-fixtures';
import { cloneWithUnguardedLockfile, runCommand, type CommandResult } from './helpers/pm';

let world: FixtureWorld;
const projects: BunProject[] = [];

beforeAll(async () => {
  world = await createFixtureWorld([scannerPackage(VERSION)]);
}, 120_000);
afterAll(async () => world?.close());
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

function project(dependencies: Record<string, string>, rc = world.rc()): BunProject {
  const p = createBunProject({ registryUrl: world.registry.url, markers: world.markers, dependencies, trusted: FIXTURE_NAMES, provenancerc: rc });
  initBun(p.dir);
  projects.push(p);
  return p;
}

function expectRefused(p: BunProject, r: CommandResult, blocked: string[], before: { lock: string | undefined; manifest: string }): void {
  expect(r.code, r.output).not.toBe(0);
  for (const id of blocked) {
    const name = id.slice(0, id.lastIndexOf('@'));
    expect(p.installed(name), `${name} installed`).toBe(false);
    expect(r.output).toContain(id);
  }
  expect(r.output).toContain('[rebuild]');
  expect(p.ran()).toEqual([]);
  expect(p.lockfile()).toBe(before.lock);
  expect(p.packageJson()).toBe(before.manifest);
}

describe('bun install with provenance-guard/bun', () => {
  test('init --pm bun wires the scanner; a fresh install of allowed packages runs their postinstall', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' });
    expect(p.packageJson()).toContain(`"provenance-guard": "^${VERSION}"`);
    const r = await p.bun(['install']);
    expect(r.code, r.output).toBe(0);
    expect(p.installed('@pg-fixture/good')).toBe(true);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    expect(p.lockfile()).toContain('@pg-fixture/good@1.0.0');
  });

  test('fresh install: a blocked package never lands and no script runs', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' });
    const before = { lock: p.lockfile(), manifest: p.packageJson() };
    const r = await p.bun(['install']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], before);
    expect(p.installed('@pg-fixture/good')).toBe(false);
    expect(r.output).toMatch(/overrides:/);
  });

  test('transitive: a blocked package deep in the tree is refused', async () => {
    const p = project({ '@pg-fixture/parent': '1.0.0' });
    const r = await p.bun(['install']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], { lock: undefined, manifest: p.packageJson() });
    expect(p.installed('@pg-fixture/parent')).toBe(false);
  });

  test('an npm: alias is checked under the real name', async () => {
    const p = project({ innocent: 'npm:@pg-fixture/bad@1.0.0' });
    const r = await p.bun(['install']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], { lock: undefined, manifest: p.packageJson() });
    expect(p.installed('innocent')).toBe(false);
  });

  test('bun add: a blocked package is refused with package.json and bun.lock unchanged; an allowed one is added', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' });
    expect((await p.bun(['install'])).code).toBe(0);
    p.clearMarkers();
    const before = { lock: p.lockfile(), manifest: p.packageJson() };
    const r = await p.bun(['add', '@pg-fixture/mid@1.0.0']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], before);
    expect(p.installed('@pg-fixture/mid')).toBe(false);
    const ok = await p.bun(['add', '@pg-fixture/other@1.0.0']);
    expect(ok.code, ok.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/other@1.0.0']);
  });

  test('--frozen-lockfile with a committed bun.lock holding a blocked package; check reads bun.lock', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0', '@pg-fixture/mid': '1.0.0' });
    const before = { lock: await cloneWithUnguardedLockfile(p, (env) => p.bun(['install'], env), '@pg-fixture/bad@1.0.0'), manifest: p.packageJson() };
    const frozen = await p.bun(['install', '--frozen-lockfile']);
    expectRefused(p, frozen, ['@pg-fixture/bad@1.0.0'], before);
    expect(p.installed('@pg-fixture/good')).toBe(false);

    const check = await runCli(p.dir, ['check', '--lockfile', 'bun.lock', '--format', 'json']);
    expect(check.code, check.stderr).toBe(1);
    const report = JSON.parse(check.stdout) as { packages: { name: string; verdict: string }[] };
    expect(report.packages.find((x) => x.name === '@pg-fixture/bad')?.verdict).toBe('block');
    expect(report.packages.find((x) => x.name === '@pg-fixture/good')?.verdict).toBe('pass');
  });

  test('an unchanged frozen install reuses its stored scan; a policy change blocks at once and is never stored', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0', '@pg-fixture/other': '1.0.0' });
    const fresh = await p.bun(['install']);
    expect(fresh.code, fresh.output).toBe(0);
    const timing = { PROVENANCE_GUARD_TIMING: '1' };
    const store = stateVerdictFile(p.env.PROVENANCE_GUARD_STATE_DIR!, 'bun', p.dir);
    const evaluated = await p.bun(['install', '--frozen-lockfile'], timing);
    expect(evaluated.code, evaluated.output).toBe(0);
    expect(evaluated.output).toMatch(/timing: scanner [\d.]+ ms for \d+ packages/);
    expect(evaluated.output).not.toMatch(/verdict reused/);
    expect(existsSync(store)).toBe(true);
    const reused = await p.bun(['install', '--frozen-lockfile'], timing);
    expect(reused.code, reused.output).toBe(0);
    expect(reused.output).toMatch(/timing: scanner [\d.]+ ms for \d+ packages.*verdict reused/);

    // The same packages under a policy that refuses their host: blocked at once, nothing stored.
    const rc = join(p.dir, '.provenancerc');
    const policy = readFileSync(rc, 'utf8');
    writeFileSync(rc, policy.replace('allowedHosts: [github.com]', 'allowedHosts: [gitlab.com]'));
    for (let run = 0; run < 2; run++) {
      const strict = await p.bun(['install', '--frozen-lockfile'], timing);
      expect(strict.code, strict.output).not.toBe(0);
      expect(strict.output).toContain('@pg-fixture/good@1.0.0');
      expect(strict.output).not.toMatch(/verdict reused/);
      expect(existsSync(store)).toBe(false);
    }
    writeFileSync(rc, policy);
    expect((await p.bun(['install', '--frozen-lockfile'], timing)).output).not.toMatch(/verdict reused/);
    expect((await p.bun(['install', '--frozen-lockfile'], timing)).output).toMatch(/verdict reused/);

    // The stored scan lives in the state directory: an install after rm -rf node_modules reuses it.
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    const again = await p.bun(['install', '--frozen-lockfile'], timing);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/verdict reused/);
    expect(existsSync(join(p.dir, 'node_modules', '@pg-fixture', 'good', 'package.json'))).toBe(true);
  });

  test('warn mode lets everything through (no TTY) and prints the warnings', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0', '@pg-fixture/parent': '1.0.0' }, world.rc({ mode: 'warn' }));
    const r = await p.bun(['install']);
    expect(r.code, r.output).toBe(0);
    expect(p.installed('@pg-fixture/bad')).toBe(true);
    expect(p.ran()).toContain('@pg-fixture/bad@1.0.0');
    expect(r.output).toContain('provenance-guard warns about 1 package');
    expect(r.output).toContain('@pg-fixture/bad@1.0.0');
    expect(r.output).not.toContain('Installation cancelled');
  });

  // On a terminal the scanner returns its warnings to Bun, which asks (measured: the scanner's child process sees the TTY).
  test.skipIf(!existsSync('/usr/bin/script'))('warn mode on a terminal: Bun shows the warnings and asks; "y" installs', async () => {
    const p = project({ '@pg-fixture/parent': '1.0.0' }, world.rc({ mode: 'warn' }));
    const r = await runCommand('bash', ['-c', `printf 'y\\n' | script -qec ${JSON.stringify(`${BUN_BIN} install`)} /dev/null`], { cwd: p.dir, env: p.env });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('WARNING: @pg-fixture/bad');
    expect(r.output).toContain('Continue anyway?');
    expect(p.installed('@pg-fixture/bad')).toBe(true);
  });

  test('bun patch calls the scanner; bun pm trust and bun pm fetch do not (documented)', async () => {
    // Installed with the guard off and no trustedDependencies: the blocked package is in node_modules, its script not run.
    const p = createBunProject({ registryUrl: world.registry.url, markers: world.markers, dependencies: { '@pg-fixture/bad': '1.0.0' }, provenancerc: world.rc() });
    initBun(p.dir);
    projects.push(p);
    expect((await p.bun(['install'], { PROVENANCE_GUARD_MODE: 'off' })).code).toBe(0);
    expect(p.ran()).toEqual([]);
    const patch = await p.bun(['patch', '@pg-fixture/bad']);
    expect(patch.code, patch.output).not.toBe(0);
    expect(patch.output).toContain('@pg-fixture/bad@1.0.0');
    expect(p.ran()).toEqual([]);
    // No scanner call: the blocked package's postinstall runs.
    const trust = await p.bun(['pm', 'trust', '@pg-fixture/bad']);
    expect(trust.code, trust.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/bad@1.0.0']);
    // No scanner call: bun.lock's packages are downloaded into Bun's cache, nothing is installed.
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    rmSync(p.env.BUN_INSTALL_CACHE_DIR!, { recursive: true, force: true });
    const fetched = await p.bun(['pm', 'fetch']);
    expect(fetched.code, fetched.output).toBe(0);
    expect(existsSync(join(p.env.BUN_INSTALL_CACHE_DIR!, '@pg-fixture'))).toBe(true);
    expect(p.installed('@pg-fixture/bad')).toBe(false);
  });

  test('a config error fails the install closed in block mode', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' }, world.rc().replace(world.publicKey, 'AAAA'));
    const r = await p.bun(['install']);
    expect(r.code, r.output).not.toBe(0);
    expect(p.installed('@pg-fixture/good')).toBe(false);
    expect(p.ran()).toEqual([]);
    expect(r.output).toContain('fails closed');
  });
});

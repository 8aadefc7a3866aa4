/**
 * bun.lock entries shaped by a pull request, installed by real Bun 1.4 with the scanner
 * (`bun install --frozen-lockfile`) and read by `check`: both must name and classify what Bun
 * installs the same way (SPEC "Verdicts": the name of what will be installed decides; a tarball
 * not at the registry's path for that name@version is a tarball source).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { initBun } from '../src/init/bun';
import { parseBunLockText } from '../src/lockfile/bun';
import { VERSION } from '../src/version';
import { createBunProject, scannerPackage, type BunProject } from './helpers/bun';
import { runCli } from './helpers/cli';
import { createFixtureWorld, FIXTURE_NAMES, type FixtureWorld } from './helpers/install-fixtures';
import { cloneWithUnguardedLockfile, markerScript, runCommand } from './helpers/pm';
import { BUN_BIN } from './helpers/bun';
import { mkdirSync } from 'node:fs';

let world: FixtureWorld;
const projects: BunProject[] = [];

beforeAll(async () => {
  world = await createFixtureWorld([scannerPackage(VERSION)]);
}, 120_000);
afterAll(async () => world?.close());
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

const GOOD = '@pg-fixture/good';
const BAD = '@pg-fixture/bad';

async function lockedProject(extraRc: string): Promise<{ p: BunProject; lock: Record<string, unknown> & { packages: Record<string, unknown[]> } }> {
  const p = createBunProject({ registryUrl: world.registry.url, markers: world.markers, dependencies: { [GOOD]: '1.0.0' }, trusted: FIXTURE_NAMES, provenancerc: world.rc() + extraRc });
  initBun(p.dir);
  projects.push(p);
  await cloneWithUnguardedLockfile(p, (env) => p.bun(['install'], env), `${GOOD}@1.0.0`);
  // A cold cache: Bun links a cached name@version without looking at bun.lock's URL or integrity (README "Bun").
  rmSync(p.env.BUN_INSTALL_CACHE_DIR!, { recursive: true, force: true });
  const lock = parseBunLockText(p.lockfile()!) as Record<string, unknown> & { packages: Record<string, unknown[]> };
  return { p, lock };
}

async function checkJson(p: BunProject): Promise<{ code: number; packages: string[] }> {
  const r = await runCli(p.dir, ['check', '--lockfile', 'bun.lock', '--format', 'json']);
  const report = JSON.parse(r.stdout) as { packages: { name: string; version: string; verdict: string }[] };
  return { code: r.code, packages: report.packages.map((x) => `${x.name}@${x.version}:${x.verdict}`).sort() };
}

function expectNothingInstalled(p: BunProject): void {
  expect(existsSync(join(p.dir, 'node_modules', GOOD))).toBe(false);
  expect(existsSync(join(p.dir, 'node_modules', BAD))).toBe(false);
  expect(p.ran()).toEqual([]);
}

/** Undoes an unguarded install (node_modules, Bun's cache, markers) and writes `lock` again, for the guarded run. */
function startOver(p: BunProject, lock: unknown): void {
  rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
  rmSync(p.env.BUN_INSTALL_CACHE_DIR!, { recursive: true, force: true });
  p.clearMarkers();
  writeFileSync(join(p.dir, 'bun.lock'), JSON.stringify(lock, null, 2));
}

describe('bun.lock shapes: Bun, its scanner and check agree', () => {
  test('an entry whose resolution names another package than its key: both judge it under the resolution\'s name (the excluded key skips nothing)', async () => {
    const { p, lock } = await lockedProject(`exclude: [${JSON.stringify(GOOD)}]\n`);
    const entry = lock.packages[GOOD]!;
    // No URL: Bun fetches the resolution's name@version from the registry (with the key's URL it would
    // download that tarball instead, and fail bun.lock's integrity).
    lock.packages[GOOD] = [`${BAD}@1.0.0`, '', entry[2], world.published.get(BAD)!.integrity];
    writeFileSync(join(p.dir, 'bun.lock'), JSON.stringify(lock, null, 2));
    const ungated = await p.bun(['install', '--frozen-lockfile'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(ungated.code, ungated.output).toBe(0);
    expect(readFileSync(join(p.dir, 'node_modules', GOOD, 'package.json'), 'utf8')).toContain(BAD);
    startOver(p, lock);
    const frozen = await p.bun(['install', '--frozen-lockfile']);
    expect(frozen.code, frozen.output).not.toBe(0);
    expect(frozen.output).toContain(`FATAL: ${BAD}`);
    expectNothingInstalled(p);
    expect(await checkJson(p)).toEqual({ code: 1, packages: [`${BAD}@1.0.0:block`, `provenance-guard@${VERSION}:pass`] });
  });

  test('an entry whose URL is the registry tarball of another package: Bun installs that package, and both judge it as that registry package', async () => {
    const { p, lock } = await lockedProject(`exclude: [${JSON.stringify(GOOD)}]\n`);
    const entry = lock.packages[GOOD]!;
    lock.packages[GOOD] = [entry[0], world.published.get(BAD)!.tarball, entry[2], world.published.get(BAD)!.integrity];
    writeFileSync(join(p.dir, 'bun.lock'), JSON.stringify(lock, null, 2));
    const ungated = await p.bun(['install', '--frozen-lockfile'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(ungated.code, ungated.output).toBe(0);
    // Bun 1.4.4 downloads the URL: the blocked package's files and postinstall under the key's path.
    expect(readFileSync(join(p.dir, 'node_modules', GOOD, 'package.json'), 'utf8')).toContain(BAD);
    expect(p.ran()).toEqual([`${BAD}@1.0.0`]);
    startOver(p, lock);
    const frozen = await p.bun(['install', '--frozen-lockfile']);
    expect(frozen.code, frozen.output).not.toBe(0);
    expect(frozen.output).toContain(`FATAL: ${BAD}`);
    expect(frozen.output).toContain('[rebuild]');
    expectNothingInstalled(p);
    expect(await checkJson(p)).toEqual({ code: 1, packages: [`${BAD}@1.0.0:block`, `provenance-guard@${VERSION}:pass`] });
  });

  test('link:<name> (a folder registered with `bun link`) is a link from outside the project: the scanner and check refuse it under the source rule', async () => {
    const p = createBunProject({ registryUrl: world.registry.url, markers: world.markers, dependencies: { 'pg-linked': 'link:pg-linked' }, trusted: [...FIXTURE_NAMES, 'pg-linked'], provenancerc: world.rc() });
    initBun(p.dir);
    projects.push(p);
    const lib = join(p.dir, '..', 'lib');
    mkdirSync(lib);
    writeFileSync(join(lib, 'package.json'), JSON.stringify({ name: 'pg-linked', version: '1.0.0', scripts: { postinstall: markerScript(world.markers, 'pg-linked', '1.0.0') } }));
    expect((await runCommand(BUN_BIN, ['link'], { cwd: lib, env: p.env })).code).toBe(0);
    // Without the guard Bun links ../lib into node_modules and runs its postinstall.
    const ungated = await p.bun(['install'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(ungated.code, ungated.output).toBe(0);
    expect(p.ran()).toEqual(['pg-linked@1.0.0']);
    expect(p.lockfile()).toContain('"pg-linked@link:pg-linked"');
    const lock = p.lockfile()!;
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    p.clearMarkers();
    const r = await p.bun(['install', '--frozen-lockfile']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain('FATAL: pg-linked');
    expect(r.output).toContain('[source]');
    expect(p.installed('pg-linked')).toBe(false);
    expect(p.ran()).toEqual([]);
    expect(p.lockfile()).toBe(lock);
    expect(await checkJson(p)).toEqual({ code: 1, packages: ['pg-linked@0.0.0:block', `provenance-guard@${VERSION}:pass`] });
  });

  test('a URL dependency that is the registry tarball of another package: the scanner and check name it by that package', async () => {
    const url = world.published.get(BAD)!.tarball;
    const p = createBunProject({ registryUrl: world.registry.url, markers: world.markers, dependencies: { [GOOD]: url }, trusted: FIXTURE_NAMES, provenancerc: world.rc() + `exclude: [${JSON.stringify(GOOD)}]\n` });
    initBun(p.dir);
    projects.push(p);
    const ungated = await p.bun(['install'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(ungated.code, ungated.output).toBe(0);
    expect(readFileSync(join(p.dir, 'node_modules', GOOD, 'package.json'), 'utf8')).toContain(BAD);
    const lock = p.lockfile()!;
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    p.clearMarkers();
    const r = await p.bun(['install', '--frozen-lockfile']);
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toContain(`FATAL: ${BAD}`);
    expect(p.installed(GOOD)).toBe(false);
    expect(p.ran()).toEqual([]);
    expect(p.lockfile()).toBe(lock);
    expect(await checkJson(p)).toEqual({ code: 1, packages: [`${BAD}@1.0.0:block`, `provenance-guard@${VERSION}:pass`] });
  });
});

/**
 * `provenance-guard npm …` and `provenance-guard npx …` end to end: the built CLI driving real
 * npm 11 against a local verdaccio, fixtures whose postinstall leaves a marker. A refused
 * install leaves no files of the blocked package, no marker, package.json and package-lock.json
 * unchanged, and names each blocked name@version.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { createFixtureWorld, type FixtureWorld } from './helpers/install-fixtures';
import { createNpmProject, type NpmProject } from './helpers/npm';
import { fixture, type CommandResult } from './helpers/pm';

let world: FixtureWorld;
const projects: NpmProject[] = [];

beforeAll(async () => {
  world = await createFixtureWorld();
  // Published after the feed was built: no evidence (unknown: block).
  await world.registry.publish(fixture(world.markers, { name: '@pg-fixture/good', version: '1.1.0' }));
}, 120_000);
afterAll(async () => world?.close());
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

function project(dependencies: Record<string, string>, rc = world.rc()): NpmProject {
  const p = createNpmProject({ registryUrl: world.registry.url, markers: world.markers, dependencies, provenancerc: rc });
  projects.push(p);
  return p;
}

function expectRefused(p: NpmProject, r: CommandResult, blocked: string[], before: { lock: string | undefined; manifest: string }, rule = '[rebuild]'): void {
  expect(r.code, r.output).toBe(1);
  for (const id of blocked) {
    const name = id.slice(0, id.lastIndexOf('@'));
    expect(p.installed(name), `${name} installed`).toBe(false);
    expect(r.output).toContain(id);
  }
  expect(r.output).toContain(rule);
  expect(p.ran()).toEqual([]);
  expect(p.lockfile()).toBe(before.lock);
  expect(p.packageJson()).toBe(before.manifest);
  // No staging directory is left beside the project.
  expect(readdirSync(dirname(p.dir)).filter((e) => e.includes('provenance-guard'))).toEqual([]);
}

const snapshot = (p: NpmProject) => ({ lock: p.lockfile(), manifest: p.packageJson() });

describe('provenance-guard npm', () => {
  test('npm install: allowed packages install and run their postinstall', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' });
    const r = await p.guard(['npm', 'install']);
    expect(r.code, r.output).toBe(0);
    expect(p.installed('@pg-fixture/good')).toBe(true);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    expect(p.lockfile()).toContain('"node_modules/@pg-fixture/good"');
  });

  test('npm install: a blocked package never lands, no script runs, no lockfile is written', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0', '@pg-fixture/bad': '1.0.0' });
    const r = await p.guard(['npm', 'install']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], { lock: undefined, manifest: p.packageJson() });
    expect(p.installed('@pg-fixture/good')).toBe(false);
    expect(r.output).toMatch(/overrides:/);
  });

  test('transitive and npm: alias are refused under the real name', async () => {
    const p = project({ '@pg-fixture/parent': '1.0.0' });
    expectRefused(p, await p.guard(['npm', 'install']), ['@pg-fixture/bad@1.0.0'], { lock: undefined, manifest: p.packageJson() });
    const q = project({});
    const before = snapshot(q);
    const r = await q.guard(['npm', 'install', 'innocent@npm:@pg-fixture/bad@1.0.0']);
    expectRefused(q, r, ['@pg-fixture/bad@1.0.0'], before);
    expect(q.installed('innocent')).toBe(false);
  });

  test('npm install <pkg>: refused with package.json and package-lock.json unchanged; an allowed one is added', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' });
    expect((await p.guard(['npm', 'install'])).code).toBe(0);
    p.clearMarkers();
    const before = snapshot(p);
    const r = await p.guard(['npm', 'install', '@pg-fixture/mid@1.0.0']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], before);
    expect(p.installed('@pg-fixture/mid')).toBe(false);
    const ok = await p.guard(['npm', 'install', '@pg-fixture/other@1.0.0']);
    expect(ok.code, ok.output).toBe(0);
    // npm installed exactly the checked lockfile.
    expect(ok.output).not.toContain('after the check');
    expect(p.ran()).toEqual(['@pg-fixture/other@1.0.0']);
    expect(p.packageJson()).toContain('"@pg-fixture/other"');
    expect(p.lockfile()).toContain('"node_modules/@pg-fixture/other"');
  });

  test('npm ci with a committed lockfile holding a blocked package; check reads it too', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0', '@pg-fixture/mid': '1.0.0' });
    const seeded = await p.npm(['install', '--package-lock-only', '--ignore-scripts']);
    expect(seeded.code, seeded.output).toBe(0);
    const before = snapshot(p);
    const r = await p.guard(['npm', 'ci']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], before);
    expect(p.installed('@pg-fixture/good')).toBe(false);
    const check = await runCli(p.dir, ['check', '--lockfile', 'package-lock.json']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('@pg-fixture/bad@1.0.0');
  });

  test('an entry without resolved whose name field names a blocked package: npm ci and npm install refuse it under that name, as check does', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' }, world.rc() + 'exclude: ["@pg-fixture/good"]\n');
    expect((await p.npm(['install', '--package-lock-only', '--ignore-scripts'])).code).toBe(0);
    const lock = JSON.parse(p.lockfile()!) as { packages: Record<string, Record<string, unknown>> };
    const entry = lock.packages['node_modules/@pg-fixture/good']!;
    delete entry.resolved;
    Object.assign(entry, { name: '@pg-fixture/bad', integrity: world.published.get('@pg-fixture/bad')!.integrity });
    writeFileSync(join(p.dir, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n');
    const before = snapshot(p);
    for (const command of ['ci', 'install']) {
      const r = await p.guard(['npm', command]);
      expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], before);
      expect(p.installed('@pg-fixture/good')).toBe(false);
    }
    const check = await runCli(p.dir, ['check', '--lockfile', 'package-lock.json', '--format', 'json']);
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout).packages.map((x: { name: string; verdict: string }) => `${x.name}:${x.verdict}`)).toEqual(['@pg-fixture/bad:block']);
  });

  test('npm ci of a clean lockfile installs it', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0' });
    expect((await p.npm(['install', '--package-lock-only', '--ignore-scripts'])).code).toBe(0);
    const r = await p.guard(['npm', 'ci']);
    expect(r.code, r.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    // Run from an npm script: npm sets npm_config_prefix to its global prefix there, which is no project prefix.
    p.clearMarkers();
    const fromScript = await p.guard(['npm', 'ci'], { npm_config_prefix: '/usr', npm_config_global_prefix: '/usr' });
    expect(fromScript.code, fromScript.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    expect((await p.guard(['npm', 'ci'], { npm_config_prefix: join(p.dir, 'elsewhere'), npm_config_global_prefix: '/usr' })).code).toBe(2);
  });

  test('npm update to a version without evidence is refused; lockfile and node_modules keep the checked one', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0' });
    expect((await p.guard(['npm', 'install', '@pg-fixture/good@1.0.0', '--save-exact=false'])).code).toBe(0);
    // Pin the checked 1.0.0 under a ^1.0.0 range, as a lockfile made before 1.1.0 existed would.
    const lock = p.lockfile()!;
    expect(lock).toContain('"version": "1.0.0"');
    p.clearMarkers();
    const before = snapshot(p);
    const r = await p.guard(['npm', 'update']);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('@pg-fixture/good@1.1.0');
    expect(p.lockfile()).toBe(before.lock);
    expect(p.packageJson()).toBe(before.manifest);
    expect(p.ran()).toEqual([]);
  });

  test('what npm would read otherwise is refused before npm runs: abbreviations, an option that may swallow the command, a prefix, --no-save', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0' });
    expect((await p.guard(['npm', 'install', '@pg-fixture/good@1.0.0', '--save-exact=false'])).code).toBe(0);
    p.clearMarkers();
    const before = snapshot(p);
    for (const argv of [['u'], ['updat'], ['installTest', '@pg-fixture/bad@1.0.0'], ['--heading', 'run', 'install', '@pg-fixture/bad@1.0.0'], ['install', '--prefix', 'sub', '@pg-fixture/bad@1.0.0'], ['install', '--no-save', '@pg-fixture/good@1.1.0'], ['link', '@pg-fixture/bad@1.0.0']]) {
      const r = await p.guard(['npm', ...argv]);
      expect(r.code, `${argv.join(' ')}\n${r.output}`).toBe(2);
      expect(r.output).toContain('nothing was run');
    }
    expect(p.ran()).toEqual([]);
    expect(p.installed('@pg-fixture/bad')).toBe(false);
    expect(existsSync(join(p.dir, 'sub'))).toBe(false);
    expect(p.lockfile()).toBe(before.lock);
    expect(p.packageJson()).toBe(before.manifest);
  });

  test('package-lock=false in .npmrc: npm still installs the lockfile the guard checked', async () => {
    const p = project({ '@pg-fixture/good': '^1.0.0' });
    expect((await p.guard(['npm', 'install', '@pg-fixture/good@1.0.0', '--save-exact=false'])).code).toBe(0);
    writeFileSync(join(p.dir, '.npmrc'), `${readFileSync(join(p.dir, '.npmrc'), 'utf8')}package-lock=false\n`);
    for (const argv of [['ci'], ['install']]) {
      p.clearMarkers();
      rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
      const r = await p.guard(['npm', ...argv]);
      expect(r.code, r.output).toBe(0);
      expect(p.ran(), `${argv.join(' ')}\n${r.output}\n${p.lockfile()}`).toEqual(['@pg-fixture/good@1.0.0']);
    }
  });

  test('workspaces: npm install <pkg> -w refuses a blocked package and leaves the workspace manifest unchanged', async () => {
    const p = project({});
    const root = JSON.parse(p.packageJson()) as Record<string, unknown>;
    writeFileSync(join(p.dir, 'package.json'), JSON.stringify({ ...root, workspaces: ['packages/*'] }, null, 2) + '\n');
    mkdirSync(join(p.dir, 'packages/a'), { recursive: true });
    const wsManifest = JSON.stringify({ name: 'a', version: '1.0.0', dependencies: { '@pg-fixture/good': '1.0.0' } }, null, 2) + '\n';
    writeFileSync(join(p.dir, 'packages/a/package.json'), wsManifest);
    const first = await p.guard(['npm', 'install']);
    expect(first.code, first.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    p.clearMarkers();
    const before = snapshot(p);
    const r = await p.guard(['npm', 'install', '@pg-fixture/bad@1.0.0', '-w', 'a']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], before);
    expect(readFileSync(join(p.dir, 'packages/a/package.json'), 'utf8')).toBe(wsManifest);
    const ok = await p.guard(['npm', 'install', '@pg-fixture/other@1.0.0', '-w', 'a']);
    expect(ok.code, ok.output).toBe(0);
    expect(readFileSync(join(p.dir, 'packages/a/package.json'), 'utf8')).toContain('@pg-fixture/other');
    expect(p.ran()).toEqual(['@pg-fixture/other@1.0.0']);
  });

  test('workspaces named by globs npm expands (braces, **, a nested *, a negation) are staged as npm finds them', async () => {
    const p = project({});
    const root = JSON.parse(p.packageJson()) as Record<string, unknown>;
    writeFileSync(join(p.dir, 'package.json'), JSON.stringify({ ...root, workspaces: ['packages/{a,b}', 'tools/**', '!tools/skip', 'apps/*/pkg'] }, null, 2) + '\n');
    const manifests: Record<string, string> = {};
    const workspace = (dir: string, name: string, deps: Record<string, string> = {}) => {
      mkdirSync(join(p.dir, dir), { recursive: true });
      manifests[dir] = JSON.stringify({ name, version: '1.0.0', dependencies: deps }, null, 2) + '\n';
      writeFileSync(join(p.dir, dir, 'package.json'), manifests[dir]);
    };
    workspace('packages/a', 'a', { '@pg-fixture/good': '1.0.0' });
    workspace('packages/b', 'b', { a: '1.0.0' });
    workspace('packages/c', 'c-not-a-workspace', { '@pg-fixture/bad': '1.0.0' });
    workspace('tools/deep/t', 't');
    workspace('tools/skip', 'skip-not-a-workspace', { '@pg-fixture/bad': '1.0.0' });
    workspace('apps/web/pkg', 'web', { b: '1.0.0' });
    // No lockfile yet: the staging copy finds every workspace from the globs alone, so npm writes the refused addition there, not into the project.
    const fresh = snapshot(p);
    const refusedFirst = await p.guard(['npm', 'install', '@pg-fixture/bad@1.0.0', '-w', 'web']);
    expectRefused(p, refusedFirst, ['@pg-fixture/bad@1.0.0'], fresh);
    expect(readFileSync(join(p.dir, 'apps/web/pkg/package.json'), 'utf8')).toBe(manifests['apps/web/pkg']);
    const first = await p.guard(['npm', 'install']);
    expect(first.code, first.output).toBe(0);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    const lock = JSON.parse(p.lockfile()!) as { packages: Record<string, { link?: boolean; resolved?: string }> };
    // The workspaces npm links, each from inside the project; nothing of the folders the globs leave out.
    const links = Object.fromEntries(Object.entries(lock.packages).filter(([, e]) => e.link).map(([k, e]) => [k, e.resolved]));
    expect(links).toEqual({ 'node_modules/a': 'packages/a', 'node_modules/b': 'packages/b', 'node_modules/t': 'tools/deep/t', 'node_modules/web': 'apps/web/pkg' });
    expect(p.installed('@pg-fixture/bad')).toBe(false);
    p.clearMarkers();
    const before = snapshot(p);
    const r = await p.guard(['npm', 'install', '@pg-fixture/bad@1.0.0', '-w', 'web']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], before);
    const ok = await p.guard(['npm', 'install', '@pg-fixture/other@1.0.0', '-w', 'b']);
    expect(ok.code, ok.output).toBe(0);
    expect(ok.output).not.toContain('after the check');
    expect(readFileSync(join(p.dir, 'packages/b/package.json'), 'utf8')).toContain('@pg-fixture/other');
    for (const dir of ['packages/a', 'packages/c', 'tools/deep/t', 'tools/skip', 'apps/web/pkg']) expect(readFileSync(join(p.dir, dir, 'package.json'), 'utf8')).toBe(manifests[dir]);
    expect(p.ran()).toEqual(['@pg-fixture/other@1.0.0']);
  });

  test('file: dependencies outside the project resolve from the staging copy (and fall under the source rule)', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0', localdep: 'file:../localdep' }, world.rc() + 'exclude: [localdep]\n');
    mkdirSync(join(dirname(p.dir), 'localdep'), { recursive: true });
    writeFileSync(join(dirname(p.dir), 'localdep/package.json'), JSON.stringify({ name: 'localdep', version: '1.0.0' }));
    const r = await p.guard(['npm', 'install']);
    expect(r.code, r.output).toBe(0);
    expect(p.installed('localdep')).toBe(true);
    expect(p.ran()).toEqual(['@pg-fixture/good@1.0.0']);
    writeFileSync(join(p.dir, '.provenancerc'), world.rc());
    const before = snapshot(p);
    const refused = await p.guard(['npm', 'install', '@pg-fixture/other@1.0.0']);
    expect(refused.code, refused.output).toBe(1);
    expect(refused.output).toContain('[source]');
    expect(p.lockfile()).toBe(before.lock);
    expect(p.packageJson()).toBe(before.manifest);
  });

  test('warn mode lets everything through and shows the warnings', async () => {
    const p = project({ '@pg-fixture/good': '1.0.0', '@pg-fixture/parent': '1.0.0' }, world.rc({ mode: 'warn' }));
    const r = await p.guard(['npm', 'install']);
    expect(r.code, r.output).toBe(0);
    expect(p.installed('@pg-fixture/bad')).toBe(true);
    expect(p.ran()).toContain('@pg-fixture/bad@1.0.0');
    expect(r.output).toContain('provenance-guard warns about 1 package');
    expect(r.output).toContain('@pg-fixture/bad@1.0.0');
  });
});

describe('provenance-guard npx', () => {
  test('npx <pkg> of an allowed tool installs it (scripts included) and runs it in the caller directory', async () => {
    const p = project({});
    const r = await p.guard(['npx', '@pg-fixture/tool@1.0.0', 'hello']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('pg-tool ran hello');
    expect(p.ran()).toEqual(['@pg-fixture/tool@1.0.0']);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
  });

  test('npx <pkg> whose tree holds a blocked package is refused before anything is installed or run', async () => {
    const p = project({});
    const before = snapshot(p);
    const r = await p.guard(['npx', '--yes', '@pg-fixture/badtool@1.0.0']);
    expectRefused(p, r, ['@pg-fixture/bad@1.0.0'], before);
    expect(r.output).not.toContain('pg-badtool ran');
    const viaNpm = await p.guard(['npm', 'exec', '--package=@pg-fixture/badtool@1.0.0', '--', 'pg-badtool']);
    expectRefused(p, viaNpm, ['@pg-fixture/bad@1.0.0'], before);
  });
});

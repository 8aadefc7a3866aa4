/**
 * pnpm 10's config dependencies, pinned in pnpm-workspace.yaml (`name: "version+sha512-…"`): pnpm
 * installs them, and runs a `pnpm-plugin-*` one's pnpmfile, before any hook, so `check` reads
 * them beside pnpm-lock.yaml (test/pnpm-paths.test.ts installs one with real pnpm). A stored
 * verdict of `check` is keyed by that file too.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LockfileError } from '../src/errors';
import { readLockfile } from '../src/lockfile/index';
import { pinnedConfigDependencies } from '../src/lockfile/pnpm-workspace';
import { cliProject, SHA, type TestProject } from './helpers/cli-project';
import { runCli } from './helpers/cli';
import { thrown } from './helpers/errors';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-pnpm-pins-');

function workspace(yaml: string | undefined): string {
  const dir = tempDir();
  if (yaml !== undefined) writeFileSync(join(dir, 'pnpm-workspace.yaml'), yaml);
  return dir;
}

describe('pinnedConfigDependencies', () => {
  test('each `version+integrity` pin is that registry package; bare versions are pnpm 11+ (read from the lockfile)', () => {
    const dir = workspace(`packages: ['a']\nconfigDependencies:\n  '@acme/plugin': "1.2.0+${SHA(1)}"\n  bare: 2.0.0\n  weak: "1.0.0+sha1-deadbeef"\n  odd: "1.0.0+not-an-integrity"\n`);
    expect(pinnedConfigDependencies(dir)).toEqual([
      { name: '@acme/plugin', version: '1.2.0', source: 'registry', integrity: SHA(1) },
      { name: 'weak', version: '1.0.0', source: 'registry', integrity: 'sha1-deadbeef' },
      { name: 'odd', version: '1.0.0', source: 'registry', integrity: 'not-an-integrity' },
    ]);
  });

  test('no file, no key, an empty key: nothing', () => {
    expect(pinnedConfigDependencies(workspace(undefined))).toEqual([]);
    expect(pinnedConfigDependencies(workspace("packages: ['a']\n"))).toEqual([]);
    expect(pinnedConfigDependencies(workspace('configDependencies:\n'))).toEqual([]);
    expect(pinnedConfigDependencies(workspace(''))).toEqual([]);
  });

  test('read as pnpm reads the file: anchors and merge keys apply', () => {
    const dir = workspace(`pins: &pins\n  merged: "1.0.0+${SHA(2)}"\nconfigDependencies:\n  <<: *pins\n`);
    expect(pinnedConfigDependencies(dir)).toEqual([{ name: 'merged', version: '1.0.0', source: 'registry', integrity: SHA(2) }]);
  });

  test('what cannot be read is an error naming the file', () => {
    const code = (yaml: string) => {
      const e = thrown(LockfileError, () => pinnedConfigDependencies(workspace(yaml)));
      expect(e.message).toContain('pnpm-workspace.yaml');
      return e.code;
    };
    expect(code('configDependencies: [a]\n')).toBe('ERR_PG_LOCKFILE_INVALID');
    expect(code('configDependencies:\n  a: 1\n  a: 2\n')).toBe('ERR_PG_LOCKFILE_PARSE');
    expect(code(`configDependencies:\n  'Bad Name': "1.0.0+${SHA(1)}"\n`)).toBe('ERR_PG_LOCKFILE_ENTRY');
    expect(code(`configDependencies:\n  a: "latest+${SHA(1)}"\n`)).toBe('ERR_PG_LOCKFILE_ENTRY');
  });

  test('readLockfile adds them to a pnpm lockfile only', () => {
    const dir = workspace(`configDependencies:\n  plugin: "1.0.0+${SHA(3)}"\n`);
    writeFileSync(join(dir, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\nimporters:\n  .: {}\n");
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'app' } } }));
    expect(readLockfile(join(dir, 'pnpm-lock.yaml'))).toEqual([{ name: 'plugin', version: '1.0.0', source: 'registry', integrity: SHA(3) }]);
    expect(readLockfile(join(dir, 'package-lock.json'))).toEqual([]);
  });
});

describe('check', () => {
  const record = (name: string, n: number) => ({
    name, version: '1.0.0', integrity: SHA(n),
    repository: { url: `https://github.com/acme/${name}`, commit: 'a'.repeat(40), status: 'attested' },
    rebuild: { verdict: 'reproducible', source: 'oss-rebuild' },
    scorecard: { score: 8, date: '2026-11-01', checks: {} },
  });
  let project: TestProject;
  beforeAll(async () => {
    project = await cliProject([record('a', 1), record('plugin', 2)], []);
    renameSync(join(project.dir, 'package-lock.json'), join(project.dir, 'unused.json'));
    // An installed project: check stores its verdict beside node_modules.
    mkdirSync(join(project.dir, 'node_modules'));
    writeFileSync(join(project.dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { a: '1.0.0' } }));
    writeFileSync(join(project.dir, 'pnpm-lock.yaml'), `lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      a: {specifier: 1.0.0, version: 1.0.0}\npackages:\n  a@1.0.0:\n    resolution: {integrity: ${SHA(1)}}\nsnapshots:\n  a@1.0.0: {}\n`);
  }, 60_000);
  afterAll(() => project.cleanup());

  test('a config dependency pinned to other bytes than the feed vouches for blocks, also after a stored pass', async () => {
    const json = async () => {
      const r = await runCli(project.dir, ['check', '--format', 'json']);
      return { code: r.code, names: (JSON.parse(r.stdout) as { packages: { name: string; verdict: string }[] }).packages.map((p) => `${p.name}:${p.verdict}`).sort() };
    };
    expect(await json()).toEqual({ code: 0, names: ['a:pass'] });
    // A second run is answered from the stored verdict; the pin added next must not be.
    expect(await json()).toEqual({ code: 0, names: ['a:pass'] });
    writeFileSync(join(project.dir, 'pnpm-workspace.yaml'), `configDependencies:\n  plugin: "1.0.0+${SHA(9)}"\n`);
    expect(await json()).toEqual({ code: 1, names: ['a:pass', 'plugin:block'] });
    writeFileSync(join(project.dir, 'pnpm-workspace.yaml'), `configDependencies:\n  plugin: "1.0.0+${SHA(2)}"\n`);
    expect(await json()).toEqual({ code: 0, names: ['a:pass', 'plugin:pass'] });
    rmSync(join(project.dir, 'pnpm-workspace.yaml'));
    expect(await json()).toEqual({ code: 0, names: ['a:pass'] });
  }, 60_000);
});

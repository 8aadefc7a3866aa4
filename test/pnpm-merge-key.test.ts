/**
 * A merge key (`<<`) in pnpm-lock.yaml. pnpm 10 loads the file with js-yaml's default schema, where
 * `<<: {…}` adds the keys of that mapping; this reader's failsafe schema keeps `<<` as a key. A
 * dependency merged into an importer is then installed by pnpm and unseen by `check`: measured
 * here with real pnpm, `--frozen-lockfile --offline`, a `link:` to a folder outside the project.
 * pnpm never writes a merge key, so a lockfile with one is refused.
 */
import { existsSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { LockfileError } from '../src/errors';
import { parsePnpmYaml } from '../src/lockfile/index';
import { runCli } from './helpers/cli';
import { thrown } from './helpers/errors';
import { PNPM_BIN, runCommand } from './helpers/pm';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-pnpm-merge-');

const MERGED_LINK = `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      <<: {outside: {specifier: 'link:../outside', version: 'link:../outside'}}
`;

const REFUSED = /^.*pnpm-lock\.yaml: a merge key \(<<\): pnpm reads it as YAML 1\.1 does/;

describe('parsePnpmYaml', () => {
  test('a merge key anywhere is refused, however it is reached', () => {
    const refused = (text: string) => thrown(LockfileError, () => parsePnpmYaml(text, 'pnpm-lock.yaml'));
    expect(refused(MERGED_LINK).message).toMatch(REFUSED);
    expect(refused(MERGED_LINK).code).toBe('ERR_PG_LOCKFILE_PARSE');
    // Through an alias, in a second document, under a sequence.
    expect(refused("lockfileVersion: '9.0'\na: &x {b: 1}\npackages:\n  x@1.0.0:\n    <<: *x\n").message).toMatch(REFUSED);
    expect(refused("lockfileVersion: '9.0'\n---\nimporters:\n  .:\n    <<: {dependencies: {}}\n").message).toMatch(REFUSED);
    expect(refused("lockfileVersion: '9.0'\nl:\n  - a: 1\n  - <<: {b: 1}\n").message).toMatch(REFUSED);
  });

  test('`<<` in a value, or no `<<` at all, is read as before', () => {
    expect(parsePnpmYaml("lockfileVersion: '9.0'\npackages:\n  x@1.0.0:\n    deprecated: use y << x\n", 'pnpm-lock.yaml')).toEqual([{ lockfileVersion: '9.0', packages: { 'x@1.0.0': { deprecated: 'use y << x' } } }]);
    // Aliases share objects: each is walked once (2^40 paths here).
    const shared = ['a: &a0 {k: v}', ...Array.from({ length: 40 }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}, *a${i}]`)].join('\n');
    expect(parsePnpmYaml(`${shared}\nnote: '<<'\n`, 'pnpm-lock.yaml')).toHaveLength(1);
  });
});

test.each(['10', '12'] as const)('pnpm %s links what a merge key adds; check refuses the lockfile', async (version) => {
  const root = tempDir();
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(root, 'outside', 'package.json'), JSON.stringify({ name: 'outside', version: '1.0.0' }));
  const app = join(root, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { outside: 'link:../outside' } }));
  writeFileSync(join(app, 'pnpm-lock.yaml'), MERGED_LINK);
  const env = { PATH: process.env.PATH ?? '', HOME: join(root, 'home'), XDG_CACHE_HOME: join(root, 'cache'), npm_config_store_dir: join(root, 'store'), CI: 'true' };
  const pnpm = await runCommand(PNPM_BIN[version], ['install', '--frozen-lockfile', '--offline', '--ignore-pnpmfile'], { cwd: app, env });
  // pnpm takes the merged dependency as the importer's: the lockfile is up to date and the link is made.
  expect(pnpm.code, pnpm.stdout + pnpm.stderr).toBe(0);
  expect(existsSync(join(app, 'node_modules', 'outside')) && lstatSync(join(app, 'node_modules', 'outside')).isSymbolicLink()).toBe(true);

  const check = await runCli(app, ['check', '--lockfile', 'pnpm-lock.yaml']);
  expect(check.code, check.stdout + check.stderr).toBe(2);
  expect(check.stderr).toMatch(/ERR_PG_LOCKFILE_PARSE: .*pnpm-lock\.yaml: a merge key \(<<\)/);
}, 120_000);

/**
 * The cache directory is restored from pull-request jobs on CI: nothing in it may change a
 * verdict. Parsed lockfiles are not cached at all (see src/lockfile/index.ts), so a forged
 * entry in every place a parsed lockfile was ever kept changes nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { cliProject, SHA, type TestProject } from './helpers/cli-project';

let project: TestProject | undefined;
afterEach(() => project?.cleanup());

const RECORDS = [{ name: 'weak-pkg', version: '2.0.0', integrity: SHA(2), repository: { url: 'https://github.com/acme/weak', status: 'claimed' }, rebuild: { verdict: 'reproducible' }, scorecard: { score: 3.1 } }];
const LOCK = [{ name: 'weak-pkg', version: '2.0.0', integrity: SHA(2) }, { name: 'unknown-pkg', version: '0.1.0', integrity: SHA(3) }];

/** The key the removed cache used: sha256(version, kind, dir, bytes). */
function legacyKey(version: string, kind: string, dir: string, text: string): string {
  return createHash('sha256').update(`${version}\0${kind}\0${dir}\0`).update(text).digest('hex');
}

test('a forged parsed-lockfile cache entry never changes a verdict, and check writes none', async () => {
  project = await cliProject(RECORDS, LOCK);
  const { dir } = project;
  const cache = join(dir, '.cache');
  const before = await runCli(dir, ['check', '--format', 'json']);
  expect(before.code).toBe(1);
  expect(JSON.parse(before.stdout).summary).toEqual({ packages: 2, pass: 0, warn: 1, block: 1, skip: 0 });
  expect(existsSync(join(cache, 'lockfiles'))).toBe(false);

  const text = readFileSync(join(dir, 'package-lock.json'), 'utf8');
  for (const version of ['1', '2', '0.1.0']) {
    const entry = join(cache, 'lockfiles', `${legacyKey(version, 'npm', dir, text)}.json`);
    mkdirSync(dirname(entry), { recursive: true });
    writeFileSync(entry, '[]');
  }
  const after = await runCli(dir, ['check', '--format', 'json']);
  expect(after.code).toBe(1);
  expect(after.stdout).toBe(before.stdout);
});

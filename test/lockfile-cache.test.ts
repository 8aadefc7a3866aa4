import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { readLockfile } from '../src/lockfile/index';

const FIXTURE = join(__dirname, '..', 'fixtures', 'lockfiles', 'pnpm-v9');

function copy(): { dir: string; lockfile: string; cache: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pg-lockcache-'));
  cpSync(FIXTURE, dir, { recursive: true });
  return { dir, lockfile: join(dir, 'pnpm-lock.yaml'), cache: join(dir, '.cache') };
}

test('a cached parse gives the same packages, and a changed lockfile is parsed again', () => {
  const { lockfile, cache } = copy();
  const plain = readLockfile(lockfile);
  expect(readLockfile(lockfile, undefined, { cacheDir: cache })).toEqual(plain);
  const entries = readdirSync(join(cache, 'lockfiles'));
  expect(entries).toHaveLength(1);
  expect(readLockfile(lockfile, undefined, { cacheDir: cache })).toEqual(plain);

  // Poison the entry: a hit must come from the cache, not from a fresh parse.
  const entry = join(cache, 'lockfiles', entries[0]!);
  writeFileSync(entry, JSON.stringify([{ name: 'from-cache', version: '1.0.0', source: 'registry' }]));
  expect(readLockfile(lockfile, undefined, { cacheDir: cache }).map((p) => p.name)).toEqual(['from-cache']);

  // Any change to the lockfile's bytes is a miss.
  writeFileSync(lockfile, readFileSync(lockfile, 'utf8') + '\n');
  expect(readLockfile(lockfile, undefined, { cacheDir: cache })).toEqual(plain);
  expect(readdirSync(join(cache, 'lockfiles'))).toHaveLength(2);
});

test('an unreadable cache entry is ignored', () => {
  const { lockfile, cache } = copy();
  const plain = readLockfile(lockfile, undefined, { cacheDir: cache });
  const [entry] = readdirSync(join(cache, 'lockfiles'));
  writeFileSync(join(cache, 'lockfiles', entry!), '{ not json');
  expect(readLockfile(lockfile, undefined, { cacheDir: cache })).toEqual(plain);
});

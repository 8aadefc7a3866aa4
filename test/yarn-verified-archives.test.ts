/**
 * The Yarn plugin's record of cache archives this machine built from a verified tarball
 * (plugins/yarn/verified-archives.ts): what it answers, across instances (one per install) and
 * within one (Yarn asks twice per package, the answer is remembered).
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { archiveHash, verifiedArchives } from '../plugins/yarn/verified-archives';

const CHECKSUM = `10c0/${'ab'.repeat(64)}`;
const ID = '@scope/pkg@1.0.0';
const INTEGRITY = `sha512-${Buffer.alloc(64, 1).toString('base64')}`;

test('archiveHash is the hash after the cache key', () => {
  expect(archiveHash(CHECKSUM)).toBe('ab'.repeat(64));
  expect(archiveHash('cd'.repeat(64))).toBe('cd'.repeat(64));
});

test('a record binds the archive, the package and the expected integrity; a later install sees it', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'pg-archives-')), 'yarn-archives');
  const first = verifiedArchives(dir);
  expect(first.has(CHECKSUM, ID, INTEGRITY)).toBe(false);
  first.add(CHECKSUM, ID, INTEGRITY);
  // The same instance answered false before (its listing had no record): the record it just wrote is seen.
  expect(first.has(CHECKSUM, ID, INTEGRITY)).toBe(true);
  expect(readdirSync(dir)).toHaveLength(1);

  const next = verifiedArchives(dir);
  expect(next.has(CHECKSUM, ID, INTEGRITY)).toBe(true);
  expect(next.has(CHECKSUM, ID, INTEGRITY)).toBe(true);
  // The archive's hash is what is recorded, whatever Yarn's cache key in front of it.
  expect(next.has(`9/${'ab'.repeat(64)}`, ID, INTEGRITY)).toBe(true);
  expect(next.has(`10c0/${'ef'.repeat(64)}`, ID, INTEGRITY)).toBe(false);
  expect(next.has(CHECKSUM, '@scope/pkg@1.0.1', INTEGRITY)).toBe(false);
  expect(next.has(CHECKSUM, ID, `sha512-${Buffer.alloc(64, 2).toString('base64')}`)).toBe(false);
});

test('no record folder: nothing is verified, and the first record creates it', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'pg-archives-')), 'missing', 'yarn-archives');
  const archives = verifiedArchives(dir);
  expect(archives.has(CHECKSUM, ID, INTEGRITY)).toBe(false);
  archives.add(CHECKSUM, ID, INTEGRITY);
  expect(verifiedArchives(dir).has(CHECKSUM, ID, INTEGRITY)).toBe(true);
});

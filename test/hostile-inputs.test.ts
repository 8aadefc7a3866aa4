/**
 * Inputs built to crash a parser (100,000 nested brackets, a duration past the last
 * representable date) are errors that name the file: exit 2, a code, never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseDuration } from '../src/config/duration';
import { nestedDeeperThan } from '../src/nesting';

const CLI = join(__dirname, '..', 'dist', 'cli.cjs');
const DEEP = 100_000;
const dir = mkdtempSync(join(tmpdir(), 'pg-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bin(args: string[], cwd = dir): { code: number; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, PROVENANCE_GUARD_CACHE_DIR: join(dir, '.cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, '.cache', 'state'), NO_COLOR: '1' } });
  return { code: r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
}

function expectCleanError(r: { code: number; stderr: string }, file: string, code: string): void {
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(file);
  expect(r.stderr).toContain(code);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/internal error|RangeError/);
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  expect(bin(['feed', 'keygen', '--out-dir', 'k']).code).toBe(0);
  writeFileSync(join(dir, 'r.ndjson'), '{"name":"a","version":"1.0.0"}\n');
});

test('feed build --expires-in past the last representable date is a usage error', () => {
  const r = bin(['feed', 'build', '--records', 'r.ndjson', '--key', 'k/feed.key', '--out', 'f', '--expires-in', '99999999999d']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('ERR_PG_USAGE_INVALID_VALUE');
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(parseDuration('36500d')).toBe(36_500 * 86_400_000);
  expect(parseDuration('36501d')).toBeUndefined();
  expect(parseDuration('9'.repeat(400) + 'ms')).toBeUndefined();
});

test('a records line nested 100,000 deep names the file and line', () => {
  const file = join(dir, 'deep.ndjson');
  writeFileSync(file, `{"name":"a","version":"1.0.0"}\n{"name":"b","version":"1.0.0","x":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}\n`);
  expectCleanError(bin(['feed', 'build', '--records', file, '--key', 'k/feed.key', '--out', 'f2']), `${file}:2`, 'ERR_PG_RECORDS');
});

test.each([
  ['pnpm-lock.yaml', `lockfileVersion: '9.0'\nx: ${'['.repeat(DEEP)}\n`],
  ['pnpm-lock.yaml', `lockfileVersion: '9.0'\nx: ${'['.repeat(DEEP)}${']'.repeat(DEEP)}\n`],
  ['yarn.lock', `__metadata:\n  version: 8\nx: ${'['.repeat(DEEP)}\n`],
  ['package-lock.json', `{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"version":"1.0.0","x":${'['.repeat(DEEP)}`],
])('a %s nested 100,000 deep is a lockfile error naming the file', (name, text) => {
  const sub = mkdtempSync(join(dir, 'lock-'));
  writeFileSync(join(sub, name), text);
  expectCleanError(bin(['check', '--lockfile', name], sub), join(sub, name), 'ERR_PG_LOCKFILE_PARSE');
});

test('a .provenancerc nested 100,000 deep is a config error naming the file', () => {
  const sub = mkdtempSync(join(dir, 'cfg-'));
  mkdirSync(join(sub, '.git'));
  writeFileSync(join(sub, '.provenancerc'), `mode: ${'['.repeat(DEEP)}\n`);
  writeFileSync(join(sub, 'package-lock.json'), '{"lockfileVersion":3,"packages":{"":{}}}');
  expectCleanError(bin(['check'], sub), join(sub, '.provenancerc'), 'ERR_PG_CONFIG_INVALID');
});

test('nesting is measured without recursion', () => {
  let deep: unknown = 1;
  for (let i = 0; i < DEEP; i++) deep = [deep];
  expect(nestedDeeperThan(deep)).toBe(true);
  expect(nestedDeeperThan({ a: [{ b: 1 }] })).toBe(false);
  expect(nestedDeeperThan([[1]], 2)).toBe(false);
  expect(nestedDeeperThan([[[1]]], 2)).toBe(true);
});

/**
 * Every user error has a stable code, printed as `provenance-guard: CODE: message` (exit 2).
 * Each row is a real failure of the CLI; README.md "Error codes" lists the same codes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from './helpers/cli';

let dir: string;
const RECORD = '{"name":"a","version":"1.0.0"}';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pg-codes-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"app"}');
  expect((await runCli(dir, ['feed', 'keygen', '--out-dir', 'k'])).code).toBe(0);
  writeFileSync(join(dir, 'r.ndjson'), `${RECORD}\n`);
  expect((await runCli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key', 'k/feed.key', '--out', 'feed'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh project directory holding `files`. */
function project(files: Record<string, string>): string {
  const sub = mkdtempSync(join(dir, 'p-'));
  writeFileSync(join(sub, 'package.json'), '{"name":"app"}');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(sub, name, '..'), { recursive: true });
    writeFileSync(join(sub, name), content);
  }
  return sub;
}

const LOCK = '{"lockfileVersion":3,"packages":{"":{}}}';
const KEY = () => join(dir, 'k', 'feed.key');

const CASES: Array<[code: string, setup: () => { cwd: string; args: string[]; env?: NodeJS.ProcessEnv }]> = [
  ['ERR_PG_USAGE_UNKNOWN_COMMAND', () => ({ cwd: dir, args: ['frobnicate'] })],
  ['ERR_PG_USAGE_UNKNOWN_OPTION', () => ({ cwd: dir, args: ['check', '--no-such-flag'] })],
  ['ERR_PG_USAGE_MISSING_ARGUMENT', () => ({ cwd: dir, args: ['explain'] })],
  ['ERR_PG_USAGE_UNEXPECTED_ARGUMENT', () => ({ cwd: dir, args: ['check', 'extra'] })],
  ['ERR_PG_USAGE_INVALID_VALUE', () => ({ cwd: dir, args: ['check', '--format', 'xml'] })],
  ['ERR_PG_CONFIG_INVALID', () => ({ cwd: project({ '.provenancerc': 'mode: strict\n', 'package-lock.json': LOCK }), args: ['check'] })],
  ['ERR_PG_CONFIG_NOT_FOUND', () => ({ cwd: project({ 'package-lock.json': LOCK }), args: ['check', '--config', 'missing.yml'] })],
  ['ERR_PG_CONFIG_AMBIGUOUS', () => ({ cwd: project({ '.provenancerc': 'mode: warn\n', '.provenancerc.yml': 'mode: off\n', 'package-lock.json': LOCK }), args: ['check'] })],
  ['ERR_PG_CONFIG_EMPTY', () => ({ cwd: project({ '.provenancerc': '', 'package-lock.json': LOCK }), args: ['check'] })],
  ['ERR_PG_CONFIG_ENV', () => ({ cwd: project({ 'package-lock.json': LOCK }), args: ['check'], env: { PROVENANCE_GUARD_MODE: 'loud' } })],
  ['ERR_PG_LOCKFILE_NOT_FOUND', () => ({ cwd: project({}), args: ['check'] })],
  ['ERR_PG_LOCKFILE_PARSE', () => ({ cwd: project({ 'package-lock.json': '{ nope' }), args: ['check'] })],
  ['ERR_PG_LOCKFILE_UNSUPPORTED', () => ({ cwd: project({ 'package-lock.json': '{"lockfileVersion":1,"dependencies":{}}' }), args: ['check'] })],
  ['ERR_PG_LOCKFILE_INVALID', () => ({ cwd: project({ 'package-lock.json': '{"lockfileVersion":3,"packages":{"":{},"node_modules/a":42}}' }), args: ['check'] })],
  ['ERR_PG_RECORDS_NOT_FOUND', () => ({ cwd: dir, args: ['feed', 'build', '--records', 'none.ndjson', '--key', KEY(), '--out', 'f'] })],
  ['ERR_PG_RECORDS_PARSE', () => ({ cwd: project({ 'r.ndjson': '{ nope\n' }), args: ['feed', 'build', '--records', 'r.ndjson', '--key', KEY(), '--out', 'f'] })],
  ['ERR_PG_RECORDS_INVALID', () => ({ cwd: project({ 'r.ndjson': '{"name":"a","version":"latest"}\n' }), args: ['feed', 'build', '--records', 'r.ndjson', '--key', KEY(), '--out', 'f'] })],
  ['ERR_PG_RECORDS_DUPLICATE', () => ({ cwd: project({ 'r.ndjson': `${RECORD}\n${RECORD}\n` }), args: ['feed', 'build', '--records', 'r.ndjson', '--key', KEY(), '--out', 'f'] })],
  ['ERR_PG_FEED_KEY_EXISTS', () => ({ cwd: dir, args: ['feed', 'keygen', '--out-dir', 'k'] })],
  ['ERR_PG_FEED_KEY', () => ({ cwd: project({ 'r.ndjson': `${RECORD}\n`, 'bad.key': 'not a key' }), args: ['feed', 'build', '--records', 'r.ndjson', '--key', 'bad.key', '--out', 'f'] })],
  ['ERR_PG_FEED_KEY_NOT_FOUND', () => ({ cwd: dir, args: ['feed', 'verify', 'feed', '--public-key', 'missing.pub'] })],
  ['ERR_PG_FEED_KEY_INVALID', () => ({ cwd: project({ 'bad.pub': 'not a key' }), args: ['feed', 'verify', join(dir, 'feed'), '--public-key', 'bad.pub'] })],
  ['ERR_PG_FEED_NOT_FOUND', () => ({ cwd: dir, args: ['feed', 'verify', 'missing.feed', '--public-key', join(dir, 'k', 'feed.pub')] })],
  ['ERR_PG_FEED_FORMAT', () => ({ cwd: project({ 'x.feed': 'hello\n' }), args: ['feed', 'verify', 'x.feed', '--public-key', join(dir, 'k', 'feed.pub')] })],
  ['ERR_PG_INIT_CONFLICT', () => ({ cwd: project({ '.pnpmfile.cjs': 'module.exports = {};\n' }), args: ['init', '--pm', 'pnpm', '--method', 'pnpmfile'] })],
];

test.each(CASES)('%s', async (code, setup) => {
  const { cwd, args, env } = setup();
  const r = await runCli(cwd, args, env);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(new RegExp(`^provenance-guard: ${code}: `, 'm'));
});

test('README lists every code the tests assert', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  for (const [code] of CASES) expect(readme).toContain(`\`${code}\``);
  for (const code of ['ERR_PG_FEED_EXPIRY_RANGE', 'ERR_PG_EVIDENCE_SOURCE_FAILED', 'ERR_PG_LOCKFILE_OUT_OF_DATE', 'ERR_PG_INTERNAL']) expect(readme).toContain(`\`${code}\``);
});

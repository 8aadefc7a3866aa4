// Gaps a black-box audit of the CLI against SPEC.md found, sentence by sentence: each test is a
// user's command whose answer differed from what SPEC (or a pnpm/Yarn user) expects.
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-spec-');

describe('feed keygen --out-dir', () => {
  test('a path that is a file (or under one) is a usage error naming it, not an internal error', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'records.ndjson'), '');
    for (const outDir of ['records.ndjson', 'records.ndjson/keys']) {
      const r = await runCli(dir, ['feed', 'keygen', '--out-dir', outDir]);
      expect(r.code, outDir).toBe(2);
      expect(r.stderr, outDir).toMatch(/ERR_PG_USAGE_INVALID_VALUE: feed keygen: --out-dir records\.ndjson.*not a directory/);
      expect(r.stderr, outDir).not.toMatch(/internal error|\n\s+at /);
    }
  });
});

describe('check reads every lockfile in the directory', () => {
  test('a lockfile that is a symbolic link to nothing cannot be read: exit 2, never skipped beside a good one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { a: '1.0.0' } }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { a: '1.0.0' } }, 'node_modules/a': { version: '1.0.0' } } }));
    symlinkSync(join(dir, 'gone.yaml'), join(dir, 'pnpm-lock.yaml'));
    for (const args of [['check'], ['check', '--format', 'json'], ['explain', 'a@1.0.0']]) {
      const r = await runCli(dir, args, { PROVENANCE_GUARD_MODE: 'off' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`ERR_PG_LOCKFILE_UNREADABLE: ${join(dir, 'pnpm-lock.yaml')}: cannot be read (a symbolic link to a missing file)`);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });
});

describe('explain --lockfile', () => {
  test('a --lockfile that does not exist is exit 2 (as for check), not an explanation without the lockfile', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
    const r = await runCli(dir, ['explain', 'a@1.0.0', '--lockfile', 'nope/package-lock.json'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ERR_PG_LOCKFILE_NOT_FOUND: ${join(dir, 'nope', 'package-lock.json')}: no such file`);
    expect(r.stdout).toBe('');
  });
});

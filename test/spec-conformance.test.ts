// Gaps a black-box audit of the CLI against SPEC.md found, sentence by sentence: each test is a
// user's command whose answer differed from what SPEC (or a pnpm/Yarn user) expects.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
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

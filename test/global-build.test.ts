import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { BUNDLES, bundlesAreStale } from './global-build';

const root = mkdtempSync(join(tmpdir(), 'pg-stale-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function touch(path: string, seconds: number): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), '');
  utimesSync(join(root, path), seconds, seconds);
}

test('a bundle older than any source, or missing, is stale', () => {
  touch('src/policy/evaluate.ts', 1000);
  touch('plugins/pnpm/hooks.ts', 1000);
  for (const b of BUNDLES) touch(b, 2000);
  expect(bundlesAreStale(root)).toBe(false);
  touch('plugins/pnpm/hooks.ts', 3000);
  expect(bundlesAreStale(root)).toBe(true);
  touch('plugins/pnpm/hooks.ts', 1000);
  rmSync(join(root, BUNDLES[2]!));
  expect(bundlesAreStale(root)).toBe(true);
});

/** The built pnpm bundle and the config dependency package laid out next to it. */
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { ensurePnpmBundle, PNPM_BUNDLE, PNPM_CONFIG_DEPENDENCY_DIR } from './helpers/pm';

beforeAll(async () => {
  await ensurePnpmBundle();
}, 60_000);

test('the bundle requires nothing but node builtins', () => {
  const text = readFileSync(PNPM_BUNDLE, 'utf8');
  const required = [...text.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  expect(required.filter((m) => !builtins.has(m))).toEqual([]);
  expect(text).not.toMatch(/require\("(pacote|sigstore|@sigstore\/[^"]+|typescript)"\)/);
});

test('the bundle loads outside any node_modules and exports the hooks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-bundle-'));
  const out = execFileSync(process.execPath, ['-e', `const m = require(${JSON.stringify(PNPM_BUNDLE)}); console.log(Object.keys(m.hooks).sort().join(','))`], { cwd: dir, encoding: 'utf8' });
  expect(out.trim()).toBe('afterAllResolved,preResolution,readPackage');
});

test('the config dependency is publishable: the bundle as pnpmfile.cjs, no dependencies or scripts, our version', () => {
  const manifest = JSON.parse(readFileSync(join(PNPM_CONFIG_DEPENDENCY_DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
  const root = JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string };
  expect(manifest.name).toBe('pnpm-plugin-provenance-guard');
  expect(manifest.version).toBe(root.version);
  expect(manifest).not.toHaveProperty('dependencies');
  expect(manifest).not.toHaveProperty('scripts');
  expect(readFileSync(join(PNPM_CONFIG_DEPENDENCY_DIR, 'pnpmfile.cjs'))).toEqual(readFileSync(PNPM_BUNDLE));
});

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { runCli } from './helpers/cli';
import { loadConfig } from '../src/config/load';

async function init(dir: string, args: string[]) {
  return runCli(dir, ['init', ...args]);
}

test('init --pm yarn writes a valid .provenancerc and registers the plugin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-init-'));
  const r = await init(dir, ['--pm', 'yarn']);
  expect(r.code).toBe(0);
  const config = await loadConfig({ cwd: dir, env: {} });
  expect(config.filepath).toBe(join(dir, '.provenancerc'));
  expect(config.mode).toBe('warn');
  expect(existsSync(join(dir, '.yarn/plugins/@yarnpkg/plugin-provenance.cjs'))).toBe(true);
  const yarnrc = parse(readFileSync(join(dir, '.yarnrc.yml'), 'utf8'));
  expect(yarnrc.plugins).toEqual([expect.objectContaining({ path: '.yarn/plugins/@yarnpkg/plugin-provenance.cjs' })]);
});

test('init keeps an existing .provenancerc unless --force', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-init-'));
  writeFileSync(join(dir, '.provenancerc'), 'mode: block\n');
  const r = await init(dir, ['--pm', 'pnpm', '--method', 'pnpmfile']);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain('Kept the existing');
  expect(readFileSync(join(dir, '.provenancerc'), 'utf8')).toBe('mode: block\n');
  expect(readFileSync(join(dir, '.pnpmfile.cjs'), 'utf8')).toContain("require('provenance-guard/pnpmfile')");
  await init(dir, ['--pm', 'pnpm', '--method', 'pnpmfile', '--force']);
  expect(readFileSync(join(dir, '.provenancerc'), 'utf8')).toContain('mode: warn');
});

test('init --pm pnpm adds the config dependency to pnpm-workspace.yaml by default, keeping its comments', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-init-'));
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), '# our workspace\npackages:\n  - packages/*\n');
  const r = await init(dir, []);
  expect(r.code).toBe(0);
  const text = readFileSync(join(dir, 'pnpm-workspace.yaml'), 'utf8');
  expect(text).toContain('# our workspace');
  expect(parse(text).configDependencies).toHaveProperty('pnpm-plugin-provenance-guard');
});

test('init rejects an unknown package manager', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-init-'));
  expect((await init(dir, ['--pm', 'bun'])).code).toBe(2);
});

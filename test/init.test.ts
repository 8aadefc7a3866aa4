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
  expect(r.stderr).toMatch(/Kept .*\.provenancerc as it is/);
  expect(readFileSync(join(dir, '.provenancerc'), 'utf8')).toBe('mode: block\n');
  expect(readFileSync(join(dir, '.pnpmfile.cjs'), 'utf8')).toContain("require('provenance-guard/pnpmfile')");
  await init(dir, ['--pm', 'pnpm', '--method', 'pnpmfile', '--force']);
  expect(readFileSync(join(dir, '.provenancerc'), 'utf8')).toContain('mode: warn');
});

test('init --pm pnpm that cannot read the integrity of the config dependency: exit 2 and pnpm-workspace.yaml untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-init-'));
  writeFileSync(join(dir, '.npmrc'), 'registry=http://127.0.0.1:9/\n');
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), '# our workspace\npackages:\n  - packages/*\n');
  const r = await runCli(dir, ['init'], { HOME: dir, npm_config_userconfig: join(dir, '.npmrc') });
  expect(r.code).toBe(2);
  expect(readFileSync(join(dir, 'pnpm-workspace.yaml'), 'utf8')).toBe('# our workspace\npackages:\n  - packages/*\n');
});

test('init rejects an unknown package manager', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-init-'));
  expect((await init(dir, ['--pm', 'bun'])).code).toBe(2);
});

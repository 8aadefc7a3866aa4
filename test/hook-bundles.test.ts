/**
 * The hook bundles run inside the user's package manager, from the project: nothing in them may
 * load a module from the project's node_modules (code the guard has not checked, or that a
 * restored cache planted). js-yaml (inside Yarn's parsers) looks for an optional `esprima` when it
 * loads; scripts/esbuild-js-yaml.mjs removes that lookup from every bundle.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-hook-bundles-');
const BUNDLES = {
  pnpmfile: resolve(__dirname, '../plugins/pnpm/dist/pnpmfile.cjs'),
  'bun scanner': resolve(__dirname, '../plugins/bun/dist/scanner.cjs'),
};

test.each(Object.entries(BUNDLES))("the %s loads nothing from the project's node_modules (js-yaml's esprima)", (_name, bundle) => {
  const dir = tempDir();
  const marker = join(dir, 'planted-module-ran');
  mkdirSync(join(dir, 'node_modules', 'esprima'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'esprima', 'package.json'), JSON.stringify({ name: 'esprima', version: '4.0.1', main: 'index.js' }));
  writeFileSync(join(dir, 'node_modules', 'esprima', 'index.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); module.exports = { parse() {} };`);
  copyFileSync(bundle, join(dir, 'hook.cjs'));
  const run = spawnSync(process.execPath, ['-e', "require('./hook.cjs'); console.log('loaded')"], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } });
  expect(run.stdout.trim(), run.stderr).toBe('loaded');
  expect(existsSync(marker)).toBe(false);
  // Whenever js-yaml initialises (not always at load): the lookup is gone from the bundle itself.
  expect(readFileSync(bundle, 'utf8')).not.toMatch(/\("esprima"\)/);
});

test('loading the pnpmfile starts no module it does not need yet (pnpm 12 loads it in a process that only lists the hooks)', () => {
  const script = `const before = new Set(process.moduleLoadList); require(${JSON.stringify(BUNDLES.pnpmfile)}); console.log(JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m))))`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  const loaded = JSON.parse(run.stdout) as string[];
  // child_process (and with it net and the streams) only for `ps`, where /proc is missing; crypto and zlib on the first hook call.
  for (const name of ['child_process', 'net', 'crypto', 'zlib']) expect(loaded, run.stderr).not.toContain(`NativeModule ${name}`);
});

test('the Bun scanner ships every file it loads on first use, each without the esprima lookup', () => {
  const dir = dirname(BUNDLES['bun scanner']);
  const siblings = [...readFileSync(BUNDLES['bun scanner'], 'utf8').matchAll(/require\("\.\/([^"]+)"\)/g)].map((m) => m[1]!);
  // yaml (the config), cosmiconfig, semver, Yarn's parsers, ...: not parsed by Bun at every install.
  expect(siblings).toContain('scanner-yaml.cjs');
  const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: resolve(__dirname, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { files: { path: string }[] }[];
  const shipped = new Set(packed[0]!.files.map((f) => f.path));
  for (const file of siblings) {
    expect(shipped, file).toContain(`plugins/bun/dist/${file}`);
    expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/\("esprima"\)/);
  }
});

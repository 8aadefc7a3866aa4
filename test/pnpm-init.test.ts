import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CONFIG_DEPENDENCY_NAME, initPnpm, PNPMFILE_SHIM } from '../src/init/pnpm';
import { ConfigError } from '../src/errors';
import { VERSION } from '../src/version';

const tmp = () => mkdtempSync(join(tmpdir(), 'pg-pnpm-init-'));

test('config-dependency: adds the pin to pnpm-workspace.yaml and keeps comments and other keys', () => {
  const dir = tmp();
  const path = join(dir, 'pnpm-workspace.yaml');
  writeFileSync(path, '# our workspace\npackages:\n  - apps/* # the apps\nconfigDependencies:\n  other-plugin: 1.0.0+sha512-x\n');
  const result = initPnpm(dir, { method: 'config-dependency', version: '1.2.3', integrity: 'sha512-abc' });
  expect(result.changed).toEqual([path]);
  const text = readFileSync(path, 'utf8');
  expect(text).toContain('# our workspace');
  expect(text).toContain('- apps/* # the apps');
  expect(text).toContain('other-plugin: 1.0.0+sha512-x');
  expect(text).toContain(`${CONFIG_DEPENDENCY_NAME}: 1.2.3+sha512-abc`);
  // Idempotent.
  expect(initPnpm(dir, { method: 'config-dependency', version: '1.2.3', integrity: 'sha512-abc' }).changed).toEqual([]);
  expect(readFileSync(path, 'utf8')).toBe(text);
});

test('config-dependency: creates pnpm-workspace.yaml; without an integrity it pins the version and says what pnpm 10 needs', () => {
  const dir = tmp();
  const result = initPnpm(dir, { method: 'config-dependency' });
  expect(readFileSync(join(dir, 'pnpm-workspace.yaml'), 'utf8')).toBe(`configDependencies:\n  ${CONFIG_DEPENDENCY_NAME}: ${VERSION}\n`);
  expect(result.notes.join('\n')).toContain('pnpm add --config');
});

test('config-dependency: a broken pnpm-workspace.yaml is a ConfigError naming the file', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'configDependencies: [a, b]\n');
  expect(() => initPnpm(dir, { method: 'config-dependency' })).toThrow(ConfigError);
  expect(() => initPnpm(dir, { method: 'config-dependency' })).toThrow(/pnpm-workspace\.yaml: configDependencies/);
});

test('pnpmfile: writes the stable shim once, and refuses to overwrite another pnpmfile', () => {
  const dir = tmp();
  expect(initPnpm(dir, { method: 'pnpmfile' }).changed).toEqual([join(dir, '.pnpmfile.cjs')]);
  expect(readFileSync(join(dir, '.pnpmfile.cjs'), 'utf8')).toBe(PNPMFILE_SHIM);
  expect(initPnpm(dir, { method: 'pnpmfile' }).changed).toEqual([]);
  const other = tmp();
  writeFileSync(join(other, '.pnpmfile.cjs'), 'module.exports = { hooks: {} };\n');
  expect(() => initPnpm(other, { method: 'pnpmfile' })).toThrow(/already exists/);
});

/**
 * The lockfile on disk the pnpm hook checks for the commands no other hook reaches (`fetch`,
 * `rebuild`: plugins/pnpm/lockfile-gate.ts readDiskLockfile), read by the same parser as `check`
 * (src/lockfile/index.ts): the project document of a multi-document file, invalid or empty YAML
 * refused (fail closed), and a `# yarn lockfile v1` first line read as YAML, as pnpm reads it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockedPackages, readDiskLockfile } from '../plugins/pnpm/lockfile-gate';
import type { Guard } from '../src/guard';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-pnpm-disk-');
const SRI = `sha512-${Buffer.alloc(64, 7).toString('base64')}`;
const PROJECT = `lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      left-pad:\n        specifier: 1.3.0\n        version: 1.3.0\npackages:\n  left-pad@1.3.0:\n    resolution: {integrity: ${SRI}}\nsnapshots:\n  left-pad@1.3.0: {}\n`;

function project(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('readDiskLockfile', () => {
  it('reads the project document, the last of pnpm 11+\'s documents', () => {
    const env = `lockfileVersion: '9.0'\nimporters:\n  .:\n    configDependencies:\n      pnpm-plugin-provenance-guard:\n        specifier: 0.1.0\n        version: 0.1.0\n`;
    const dir = project({ 'pnpm-lock.yaml': `---\n${env}\n---\n${PROJECT}` });
    const found = readDiskLockfile(dir, 'fetch')!;
    expect(found.file).toBe(join(dir, 'pnpm-lock.yaml'));
    expect(Object.keys(found.lockfile.packages ?? {})).toEqual(['left-pad@1.3.0']);
  });

  it('rebuild: what is installed (node_modules/.pnpm/lock.yaml) before pnpm-lock.yaml; fetch: pnpm-lock.yaml only', () => {
    const dir = project({ 'pnpm-lock.yaml': PROJECT, 'node_modules/.pnpm/lock.yaml': PROJECT.replaceAll('left-pad', 'right-pad') });
    expect(Object.keys(readDiskLockfile(dir, 'rebuild')!.lockfile.packages ?? {})).toEqual(['right-pad@1.3.0']);
    expect(Object.keys(readDiskLockfile(dir, 'fetch')!.lockfile.packages ?? {})).toEqual(['left-pad@1.3.0']);
    expect(readDiskLockfile(tempDir(), 'fetch')).toBeUndefined();
  });

  it('refuses a lockfile that is not YAML, or empty, naming the file (fail closed)', () => {
    const bad = project({ 'pnpm-lock.yaml': `${PROJECT}  broken: [\n` });
    expect(() => readDiskLockfile(bad, 'fetch')).toThrow(/pnpm-lock\.yaml: invalid YAML at line \d+/);
    const empty = project({ 'pnpm-lock.yaml': '\n' });
    expect(() => readDiskLockfile(empty, 'fetch')).toThrow(/pnpm-lock\.yaml: cannot be read: empty file/);
  });

  it('refuses a lockfile whose document is a scalar or a list, rather than check another file or nothing', () => {
    for (const text of ['just text\n', '- a\n- b\n', `${PROJECT}---\n"the last document"\n`]) {
      expect(() => readDiskLockfile(project({ 'pnpm-lock.yaml': text }), 'fetch'), text).toThrow(/pnpm-lock\.yaml: cannot be read: expected a YAML mapping/);
    }
    // rebuild: node_modules/.pnpm/lock.yaml describes what is installed; a broken one is not replaced by pnpm-lock.yaml.
    const dir = project({ 'pnpm-lock.yaml': PROJECT, 'node_modules/.pnpm/lock.yaml': 'just text\n' });
    expect(() => readDiskLockfile(dir, 'rebuild')).toThrow(/lock\.yaml: cannot be read: expected a YAML mapping/);
    expect(readDiskLockfile(dir, 'fetch')?.file).toBe(join(dir, 'pnpm-lock.yaml'));
  });

  it('reads a lockfile that starts with "# yarn lockfile v1" as YAML, as pnpm and `check` do', () => {
    const text = PROJECT.replace(`    resolution: {integrity: ${SRI}}`, `    resolution:\n      integrity "${SRI}"`).replace("lockfileVersion: '9.0'", 'lockfileVersion: "9.0"');
    const plain = readDiskLockfile(project({ 'pnpm-lock.yaml': text }), 'fetch')!.lockfile;
    const headed = readDiskLockfile(project({ 'pnpm-lock.yaml': `# yarn lockfile v1\n${text}` }), 'fetch')!.lockfile;
    expect(headed).toEqual(plain);
    expect((plain.packages as Record<string, { resolution: unknown }>)['left-pad@1.3.0']!.resolution).toBe(`integrity "${SRI}"`);
  });
});

describe('lockedPackages', () => {
  it("names registry packages by pnpm's registries when the hook has them, not the lockfile directory's .npmrc", () => {
    const dir = tempDir();
    const url = 'https://mirror.example/left-pad/-/left-pad-1.3.0.tgz';
    const lockfile = { lockfileVersion: '9.0', importers: { '.': { dependencies: { 'left-pad': { specifier: '1.3.0', version: '1.3.0' } } } }, packages: { 'left-pad@1.3.0': { resolution: { integrity: SRI, tarball: url } } } };
    const guard = { config: { mode: 'block' } } as unknown as Guard;
    const fromPnpm = lockedPackages(guard, lockfile, dir, () => {}, { registries: { default: 'https://mirror.example/', scopes: {} } });
    expect(fromPnpm?.map((p) => [p.name, p.source])).toEqual([['left-pad', 'registry']]);
    // Without them, the directory's npm config (none here: registry.npmjs.org): the mirror's URL is a tarball.
    const fromDir = lockedPackages(guard, lockfile, dir, () => {});
    expect(fromDir?.map((p) => [p.name, p.source, p.resolved])).toEqual([['left-pad', 'tarball', url]]);
  });
});

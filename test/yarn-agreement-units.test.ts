/**
 * `provenance-guard check` (yarn.lock, src/lockfile/yarn.ts) and the Yarn plugin (its gate,
 * plugins/yarn/locators.ts, and its fetcher, fetch-guard.ts registryPackage) name and classify
 * the same Yarn locators alike (SPEC "Verdicts": the name of what is installed, derived from the
 * resolution; the registry only for the configured registry's own tarball URL of name@version).
 * Shapes an attacker controls: package.json specs, registry metadata (`__archiveUrl`) and
 * yarn.lock entries in a pull request. test/yarn-agreement.test.ts runs the ones whose effect
 * depends on Yarn through Yarn 4.18.1 itself.
 */
import { structUtils, type Descriptor, type DescriptorHash, type LocatorHash, type Package } from '@yarnpkg/core';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { registryPackage } from '../plugins/yarn/fetch-guard';
import { resolvedPackages } from '../plugins/yarn/locators';
import { packagesFromYarnLock } from '../src/lockfile/yarn';
import type { ResolvedPackage } from '../src/types';

const REGISTRY = 'http://127.0.0.1:4873/';
const registries = { default: REGISTRY, scopes: {} };
const PROJECT = '/work/nowhere/project';

function pkg(locator: string, version: string | null): Package {
  const l = structUtils.parseLocator(locator, true);
  return {
    ...l, version, languageName: 'node', linkType: 'HARD' as Package['linkType'], conditions: null,
    dependencies: new Map(), peerDependencies: new Map(), dependenciesMeta: new Map(), peerDependenciesMeta: new Map(), bin: new Map(),
  } as Package;
}

const show = (p: ResolvedPackage) => `${p.name}@${p.version}:${p.source}${p.alias ? ` as ${p.alias}` : ''}${p.resolved ? ` ${p.resolved}` : ''}`;

/** What the plugin's gate sees for Yarn's descriptor → locator (version: Yarn's package version). */
function pluginSees(descriptor: string, resolution: string, version: string): string[] {
  const d = structUtils.parseDescriptor(descriptor, true);
  const p = pkg(resolution, version);
  const view = {
    packages: [p],
    descriptors: new Map<DescriptorHash, Descriptor>([[d.descriptorHash, d]]),
    resolutions: new Map<DescriptorHash, LocatorHash>([[d.descriptorHash, p.locatorHash]]),
    projectDir: PROJECT,
    registries,
  };
  return resolvedPackages(view).map(show);
}

/** What `check` reads from the yarn.lock entry Yarn writes for it. */
function checkSees(descriptor: string, resolution: string, version: string): string[] {
  const text = `__metadata:\n  version: 8\n  cacheKey: 10c0\n\n${JSON.stringify(descriptor)}:\n  version: ${version}\n  resolution: ${JSON.stringify(resolution)}\n  checksum: 10c0/abc\n  languageName: node\n  linkType: hard\n`;
  return packagesFromYarnLock(text, PROJECT, 'yarn.lock', { registries }).map(show);
}

function agree(descriptor: string, resolution: string, version: string, expected: string): void {
  expect(checkSees(descriptor, resolution, version), 'check').toEqual([expected]);
  expect(pluginSees(descriptor, resolution, version), 'plugin').toEqual([expected]);
}

const fetched = (ident: string, reference: string) => registryPackage(structUtils.makeLocator(structUtils.parseIdent(ident), reference), registries);

describe('npm: aliases are the real package, installed under the alias', () => {
  test('plain and scoped', () => {
    agree('foo@npm:bar@1.0.0', 'bar@npm:1.0.0', '1.0.0', 'bar@1.0.0:registry as foo');
    agree('foo@npm:@pg-fixture/bar@1.0.0', '@pg-fixture/bar@npm:1.0.0', '1.0.0', '@pg-fixture/bar@1.0.0:registry as foo');
    agree('@pg-fixture/excluded@npm:@pg-fixture/evil@^1', '@pg-fixture/evil@npm:1.2.0', '1.2.0', '@pg-fixture/evil@1.2.0:registry as @pg-fixture/excluded');
  });

  test('a yarn.lock resolution edited to another package (or version) names what Yarn fetches, never the key or `version:`', () => {
    agree('@pg-fixture/good@npm:^1.0.0', '@pg-fixture/evil@npm:1.0.0', '9.9.9', '@pg-fixture/evil@1.0.0:registry as @pg-fixture/good');
  });
});

describe('an http(s) tarball: the configured registry\'s own URL of name@version is that registry package', () => {
  const barUrl = `${REGISTRY}@pg-fixture/bar/-/bar-1.0.0.tgz`;

  test('under its own name and under another (an alias); the `version:` a tarball\'s manifest claims does not decide', () => {
    agree(`@pg-fixture/bar@${barUrl}`, `@pg-fixture/bar@${barUrl}`, '1.0.0', '@pg-fixture/bar@1.0.0:registry');
    agree(`foo@${barUrl}`, `foo@${barUrl}`, '1.0.0', '@pg-fixture/bar@1.0.0:registry as foo');
    agree(`foo@${barUrl}`, `foo@${barUrl}`, '7.0.0', '@pg-fixture/bar@1.0.0:registry as foo');
    agree(`foo@${REGISTRY}@pg-fixture%2fbar/-/bar-1.0.0.tgz`, `foo@${REGISTRY}@pg-fixture%2fbar/-/bar-1.0.0.tgz`, '1.0.0', '@pg-fixture/bar@1.0.0:registry as foo');
    expect(fetched('foo', barUrl)).toEqual({ name: '@pg-fixture/bar', version: '1.0.0', url: barUrl });
  });

  test('another host, path, query, credentials or a scope served by another registry: a tarball of the locator\'s name', () => {
    for (const url of [
      'http://127.0.0.1:9999/@pg-fixture/bar/-/bar-1.0.0.tgz',
      `${REGISTRY}mirror/@pg-fixture/bar/-/bar-1.0.0.tgz`,
      `${barUrl}?v=1`,
      `${barUrl}#x`,
      'http://u:p@127.0.0.1:4873/@pg-fixture/bar/-/bar-1.0.0.tgz',
      `${REGISTRY}@pg-fixture/bar/-/other-1.0.0.tgz`,
      `${REGISTRY}@pg-fixture/bar/-/bar-1.0.0.tar.gz`,
      `${REGISTRY}@pg-fixture/bar/x/bar-1.0.0.tgz`,
    ]) {
      agree(`foo@${url}`, `foo@${url}`, '1.0.0', `foo@1.0.0:tarball ${url}`);
      expect(fetched('foo', url), url).toBeUndefined();
    }
    const scoped = { default: REGISTRY, scopes: { '@pg-fixture': 'http://127.0.0.1:5000/' } };
    expect(registryPackage(structUtils.makeLocator(structUtils.parseIdent('foo'), barUrl), scoped)).toBeUndefined();
  });
});

describe('npm: locators with `::__archiveUrl=` (registry metadata, or a yarn.lock entry in a pull request)', () => {
  test('the registry only when the archive URL is the registry\'s own for name@version', () => {
    const own = encodeURIComponent(`${REGISTRY}@pg-fixture/bar/-/bar-1.0.0.tgz`);
    agree('@pg-fixture/bar@npm:^1.0.0', `@pg-fixture/bar@npm:1.0.0::__archiveUrl=${own}`, '1.0.0', '@pg-fixture/bar@1.0.0:registry');
    const evil = 'http://127.0.0.1:9999/evil.tgz';
    agree('@pg-fixture/bar@npm:^1.0.0', `@pg-fixture/bar@npm:1.0.0::__archiveUrl=${encodeURIComponent(evil)}`, '1.0.0', `@pg-fixture/bar@1.0.0:tarball ${evil}`);
    // The registry's URL of another package (or version) is no more bar@1.0.0 than any other URL.
    for (const other of [`${REGISTRY}@pg-fixture/evil/-/evil-1.0.0.tgz`, `${REGISTRY}@pg-fixture/bar/-/bar-0.9.0.tgz`]) {
      agree('@pg-fixture/bar@npm:^1.0.0', `@pg-fixture/bar@npm:1.0.0::__archiveUrl=${encodeURIComponent(other)}`, '1.0.0', `@pg-fixture/bar@1.0.0:tarball ${other}`);
    }
  });

  test('inside a patch\'s source, too: Yarn fetches the source from the archive URL and patches it', () => {
    const evil = 'http://127.0.0.1:9999/evil.tgz';
    const source = `@pg-fixture/bar@npm:1.0.0::__archiveUrl=${encodeURIComponent(evil)}`;
    const patched = `@pg-fixture/bar@patch:${encodeURIComponent(source)}#./bar.patch::version=1.0.0&hash=abc&locator=root%40workspace%3A.`;
    agree('@pg-fixture/bar@patch:@pg-fixture/bar@npm%3A^1.0.0#./bar.patch', patched, '1.0.0', `@pg-fixture/bar@1.0.0:tarball ${evil}`);
  });
});

describe('patch:, local sources, exec: and git', () => {
  test('a patch of a registry package is that registry package (the patch file is the project\'s own)', () => {
    agree('typescript@patch:typescript@npm%3A^5#optional!builtin<compat/typescript>', 'typescript@patch:typescript@npm%3A5.9.3#optional!builtin<compat/typescript>::version=5.9.3&hash=5786d5', '5.9.3', 'typescript@5.9.3:registry');
  });

  test('a patch whose source is another package names the source (what Yarn downloads), under the patched name', () => {
    agree('@pg-fixture/good@patch:@pg-fixture/evil@npm%3A1.0.0#./x.patch', '@pg-fixture/good@patch:@pg-fixture/evil@npm%3A1.0.0#./x.patch::version=1.0.0&hash=abc&locator=root%40workspace%3A.', '1.0.0', '@pg-fixture/evil@1.0.0:registry as @pg-fixture/good');
    const url = 'https://example.test/evil-1.0.0.tgz';
    agree(`g@patch:evil@${encodeURIComponent(url)}#./x.patch`, `g@patch:evil@${encodeURIComponent(url)}#./x.patch::version=1.0.0&hash=abc&locator=root%40workspace%3A.`, '1.0.0', `evil@1.0.0:tarball as g ${url}`);
  });

  test('portal:, link: and file: outside the project; exec:; git', () => {
    agree('out@portal:../outside', 'out@portal:../outside::locator=root%40workspace%3A.', '2.0.0', 'out@2.0.0:link ../outside');
    agree('out@link:/elsewhere/dir', 'out@link:/elsewhere/dir::locator=root%40workspace%3A.', '0.0.0', 'out@0.0.0:link /elsewhere/dir');
    agree('t@file:../t.tgz', 't@file:../t.tgz::locator=root%40workspace%3A.', '1.0.0', 't@1.0.0:file ../t.tgz');
    agree('gen@exec:./gen.js', 'gen@exec:./gen.js::locator=root%40workspace%3A.', '1.0.0', 'gen@1.0.0:file exec:./gen.js');
    agree('g@https://github.com/pg-fixture/g.git#commit=abc', 'g@https://github.com/pg-fixture/g.git#commit=abc', '1.0.0', 'g@1.0.0:git https://github.com/pg-fixture/g.git#commit=abc');
    expect(fetched('g', 'https://github.com/pg-fixture/g.git#commit=abc')).toBeUndefined();
  });
});

test('a portal: or link: by absolute path outside the project: `check` reads the folder\'s version as Yarn does (yarn.lock records 0.0.0-use.local)', () => {
  const outside = mkdtempSync(join(tmpdir(), 'pg-outside-'));
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'package.json'), JSON.stringify({ name: 'out', version: '3.1.4' }));
  expect(checkSees(`out@portal:${outside}`, `out@portal:${outside}::locator=root%40workspace%3A.`, '0.0.0-use.local')).toEqual([`out@3.1.4:link ${outside}`]);
  expect(pluginSees(`out@portal:${outside}`, `out@portal:${outside}::locator=root%40workspace%3A.`, '3.1.4')).toEqual([`out@3.1.4:link ${outside}`]);
});

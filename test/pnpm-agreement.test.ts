/**
 * `check` (the pnpm-lock.yaml reader) and the pnpm hook's readPackage judge the same install
 * by the same name, version and source kind. Each case is what pnpm 10.34 and 12.21 were
 * measured to write into pnpm-lock.yaml and to hand readPackage for one package.json
 * (test/pnpm.test.ts installs the same cases with real pnpm).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createPnpmHooks } from '../plugins/pnpm/hooks';
import type { PnpmManifest } from '../plugins/pnpm/classify';
import { packagesFromPnpmLockfile } from '../src/lockfile/pnpm';
import type { Guard } from '../src/guard';
import type { Config } from '../src/config/types';
import type { PackageResult, ResolvedPackage } from '../src/types';

const REGISTRY = 'http://127.0.0.1:4873/';
const SHA = 'sha512-' + Buffer.alloc(64, 7).toString('base64');
const id = (p: ResolvedPackage) => `${p.name}@${p.version}:${p.source}`;

/** Everything the hook sends to the guard while pnpm resolves `dependencies` afresh and hands readPackage `arrivals`. */
async function hookSees(dependencies: Record<string, string>, arrivals: PnpmManifest[], lockfileDir = '/nowhere'): Promise<string[]> {
  const checked: ResolvedPackage[] = [];
  const guard = {
    config: { mode: 'warn' } as Config,
    feed: undefined,
    async check() { throw new Error('unused'); },
    async evaluate(packages: readonly ResolvedPackage[]) {
      checked.push(...packages);
      return packages.map((p): PackageResult & { decisions: []; waived: []; appliedOverrides: []; expiredOverrides: [] } => ({ name: p.name, version: p.version, verdict: 'pass', findings: [], decisions: [], waived: [], appliedOverrides: [], expiredOverrides: [] }));
    },
    close() {},
  } satisfies Guard;
  const hooks = createPnpmHooks({ createGuard: async () => guard, modeAfterFailure: async () => undefined, write: () => {}, env: {} });
  await hooks.readPackage({ name: 'root', version: '1.0.0', dependencies });
  await hooks.preResolution({ lockfileDir, registries: { default: REGISTRY }, wantedLockfile: { lockfileVersion: '9.0', importers: { '.': { dependencies: {}, specifiers: {} } } } });
  for (const manifest of arrivals) await hooks.readPackage(manifest);
  return [...new Set(checked.map(id))].sort();
}

function checkSees(lockfile: Record<string, unknown>, lockfileDir = '/nowhere'): string[] {
  return [...new Set(packagesFromPnpmLockfile({ lockfileVersion: '9.0', ...lockfile }, lockfileDir, 'pnpm-lock.yaml', { registries: { default: REGISTRY, scopes: {} } }).map(id))].sort();
}

describe('a tarball URL: the configured registry\'s own URL for name@version is that registry package, any other a tarball named by its key', () => {
  const barUrl = `${REGISTRY}@pg-fixture/bar/-/bar-1.0.0.tgz`;
  const bar = { name: '@pg-fixture/bar', version: '1.0.0', dist: { integrity: SHA, shasum: 'x', tarball: barUrl } };

  test('under an alias (`foo: <registry URL of bar>`): pnpm locks bar@1.0.0 with an integrity only', async () => {
    const lock = { importers: { '.': { dependencies: { foo: { specifier: barUrl, version: '@pg-fixture/bar@1.0.0' } } } }, packages: { '@pg-fixture/bar@1.0.0': { resolution: { integrity: SHA } } }, snapshots: { '@pg-fixture/bar@1.0.0': {} } };
    expect(checkSees(lock)).toEqual(['@pg-fixture/bar@1.0.0:registry']);
    expect(await hookSees({ foo: barUrl }, [bar])).toEqual(['@pg-fixture/bar@1.0.0:registry']);
  });

  test('under its own name', async () => {
    const lock = { importers: { '.': { dependencies: { '@pg-fixture/bar': { specifier: barUrl, version: '1.0.0' } } } }, packages: { '@pg-fixture/bar@1.0.0': { resolution: { integrity: SHA } } } };
    expect(checkSees(lock)).toEqual(['@pg-fixture/bar@1.0.0:registry']);
    expect(await hookSees({ '@pg-fixture/bar': barUrl }, [bar])).toEqual(['@pg-fixture/bar@1.0.0:registry']);
  });

  test('the registry\'s URL of another package whose tarball claims to be bar (or a URL off the registry\'s path): a tarball under the key', async () => {
    for (const url of [`${REGISTRY}@evil/x/-/x-1.0.0.tgz`, `${barUrl}?v=1`, `http://127.0.0.1:9999/@pg-fixture/bar/-/bar-1.0.0.tgz`]) {
      const key = `@pg-fixture/bar@${url}`;
      const lock = { importers: { '.': { dependencies: { foo: { specifier: url, version: key } } } }, packages: { [key]: { resolution: { integrity: SHA, tarball: url }, version: '1.0.0' } } };
      expect(checkSees(lock), url).toEqual(['foo@1.0.0:tarball']);
      expect(await hookSees({ foo: url }, [{ ...bar, dist: { ...bar.dist, tarball: url } }]), url).toEqual(['foo@1.0.0:tarball']);
    }
  });

  test('an npm: alias of the same package', async () => {
    const lock = { importers: { '.': { dependencies: { ali: { specifier: 'npm:@pg-fixture/bar@1.0.0', version: '@pg-fixture/bar@1.0.0' } } } }, packages: { '@pg-fixture/bar@1.0.0': { resolution: { integrity: SHA } } } };
    expect(checkSees(lock)).toEqual(['@pg-fixture/bar@1.0.0:registry']);
    expect(await hookSees({ ali: 'npm:@pg-fixture/bar@1.0.0' }, [bar])).toEqual(['@pg-fixture/bar@1.0.0:registry']);
  });
});

describe('a link: dependency outside the workspace is named by the key it is linked at, not by its folder\'s package.json', () => {
  const parent = mkdtempSync(join(tmpdir(), 'pg-agree-'));
  const project = join(parent, 'project');
  const outside = join(parent, 'outside');
  mkdirSync(project);
  mkdirSync(outside);
  const claims = { name: 'pnpm-plugin-provenance-guard', version: '2.0.0' };
  writeFileSync(join(outside, 'package.json'), JSON.stringify(claims));

  test('relative and absolute (pnpm 12 shows the target to readPackage without dist; pnpm 10 does not show it)', async () => {
    for (const spec of ['link:../outside', `link:${outside}`]) {
      const lock = { importers: { '.': { dependencies: { lnk: { specifier: spec, version: 'link:../outside' } } } } };
      expect(checkSees(lock, project), spec).toEqual(['lnk@2.0.0:link']);
      expect(await hookSees({ lnk: spec }, [claims], project), spec).toEqual(['lnk@2.0.0:link']);
    }
  });
});

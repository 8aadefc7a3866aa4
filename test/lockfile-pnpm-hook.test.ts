/**
 * The lockfile object a pnpmfile `preResolution` hook receives (`wantedLockfile`) is read by
 * packagesFromPnpmLockfile exactly like the pnpm-lock.yaml pnpm wrote — with real pnpm 10 and 12.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { packagesFromPnpmLockfile, readLockfile } from '../src/lockfile';
import type { ResolvedPackage } from '../src/types';
import { startRegistry, type TestRegistry } from './helpers/registry';

const ROOT = join(__dirname, '..');
const PNPM = {
  'pnpm 10': [join(ROOT, 'node_modules/.bin/pnpm')],
  'pnpm 12': [join(ROOT, 'node_modules/@pnpm/exe.linux-x64/pnpm')],
} as const;

let registry: TestRegistry;
const tmp = mkdtempSync(join(tmpdir(), 'pg-lockfile-hook-'));
beforeAll(async () => {
  registry = await startRegistry();
  await registry.publish({ name: '@pg-fixture/transitive', version: '1.0.0' });
  await registry.publish({ name: '@pg-fixture/transitive', version: '1.1.0' });
  await registry.publish({ name: '@pg-fixture/direct', version: '1.0.0', dependencies: { '@pg-fixture/transitive': '^1.1.0' } });
  await registry.publish({ name: '@pg-fixture/real', version: '1.2.0' });
  await registry.publish({ name: '@pg-fixture/with-peer', version: '1.0.0', manifest: { peerDependencies: { '@pg-fixture/transitive': '^1.0.0' } } });
  tarballed = (await registry.publish({ name: '@pg-fixture/tarballed', version: '1.0.0' })).tarball;
});
let tarballed: string;
afterAll(async () => {
  await registry?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

function sorted(packages: ResolvedPackage[]): ResolvedPackage[] {
  return [...packages].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

describe.each(Object.keys(PNPM) as (keyof typeof PNPM)[])('%s preResolution wantedLockfile', (pm) => {
  test('reads the same packages as the written pnpm-lock.yaml', async () => {
    const dir = join(tmp, pm.replace(' ', '-'), 'project');
    const dump = join(tmp, pm.replace(' ', '-'), 'wanted.json');
    write(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'hook-fixture',
        version: '0.0.0',
        private: true,
        dependencies: {
          '@pg-fixture/direct': '^1.0.0',
          '@pg-fixture/with-peer': '^1.0.0',
          '@pg-fixture/transitive': '~1.0.0',
          aliased: 'npm:@pg-fixture/real@^1.0.0',
          '@pg-fixture/ws-a': 'workspace:*',
          '@pg-fixture/tarballed': tarballed,
          '@pg-fixture/local-dir': 'file:./vendor/local-dir',
          '@pg-fixture/outside': 'link:../outside',
        },
      }),
    );
    write(join(dir, 'packages/ws-a/package.json'), JSON.stringify({ name: '@pg-fixture/ws-a', version: '1.0.0', dependencies: { '@pg-fixture/transitive': '1.0.0' } }));
    write(join(dir, 'vendor/local-dir/package.json'), JSON.stringify({ name: '@pg-fixture/local-dir', version: '1.0.0' }));
    write(join(dir, '../outside/package.json'), JSON.stringify({ name: '@pg-fixture/outside', version: '1.0.0' }));
    write(join(dir, 'pnpm-workspace.yaml'), "packages:\n  - 'packages/*'\nminimumReleaseAge: 0\npnpmfile: pnpmfile.cjs\n");
    write(join(dir, '.npmrc'), `registry=${registry.url}/\n`);
    write(
      join(dir, 'pnpmfile.cjs'),
      `const fs = require('fs');\nmodule.exports = { hooks: { preResolution(ctx) { fs.appendFileSync(${JSON.stringify(dump)}, JSON.stringify(ctx.wantedLockfile ?? null) + '\\n'); } } };\n`,
    );
    const env = { ...process.env, XDG_CACHE_HOME: join(tmp, 'xdg'), npm_config_cache: join(tmp, 'npm-cache') };
    const run = (args: string[]) =>
      promisify(execFile)(PNPM[pm][0], [...args, '--store-dir', join(tmp, pm.replace(' ', '-'), 'store'), '--ignore-scripts'], { cwd: dir, env, timeout: 120_000 });
    await run(['install']); // resolves and writes pnpm-lock.yaml
    // Measured: on a plain up-to-date `install` pnpm 12 hands preResolution an empty `{}`
    // (existsNonEmptyWantedLockfile: false); with --frozen-lockfile both pass the lockfile.
    await run(['install', '--frozen-lockfile']);
    const dumps = readFileSync(dump, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(dumps).toHaveLength(2);
    // Fresh install: no lockfile yet, so no dependency packages (at most the workspace project).
    expect(packagesFromPnpmLockfile(dumps[0], dir).filter((p) => p.source !== 'workspace')).toEqual([]);
    const wanted = dumps[1];
    expect(wanted).not.toBeNull();
    const fromHook = sorted(packagesFromPnpmLockfile(wanted, dir));
    const fromFile = sorted(readLockfile(join(dir, 'pnpm-lock.yaml')));
    expect(fromHook).toEqual(fromFile);
    expect(fromFile.map((p) => `${p.name}@${p.version}:${p.source}${p.alias ? `<${p.alias}` : ''}${p.integrity ? '+i' : ''}`)).toEqual([
      '@pg-fixture/direct@1.0.0:registry+i',
      '@pg-fixture/local-dir@1.0.0:file',
      '@pg-fixture/outside@1.0.0:link',
      '@pg-fixture/real@1.2.0:registry<aliased+i',
      // Declared by the registry's own URL: pnpm locks (and installs) the registry's package.
      '@pg-fixture/tarballed@1.0.0:registry+i',
      '@pg-fixture/transitive@1.0.0:registry+i',
      '@pg-fixture/transitive@1.1.0:registry+i',
      '@pg-fixture/with-peer@1.0.0:registry+i',
      '@pg-fixture/ws-a@1.0.0:workspace',
    ]);
  });
});

describe('pnpm 12 two-document pnpm-lock.yaml (env document with a config dependency)', () => {
  test('readLockfile reads the project document and the config dependencies of the env document', async () => {
    const plugin = await registry.publish({ name: '@pg-fixture/pnpm-plugin-cfg', version: '1.0.0', files: { 'pnpmfile.cjs': 'module.exports = {};\n' } });
    const dir = join(tmp, 'pnpm-12-env', 'project');
    write(join(dir, 'package.json'), JSON.stringify({ name: 'env-fixture', version: '0.0.0', private: true, dependencies: { '@pg-fixture/direct': '^1.0.0' } }));
    write(join(dir, 'pnpm-workspace.yaml'), `minimumReleaseAge: 0\nconfigDependencies:\n  '@pg-fixture/pnpm-plugin-cfg': 1.0.0\n`);
    write(join(dir, '.npmrc'), `registry=${registry.url}/\n`);
    const env = { ...process.env, XDG_CACHE_HOME: join(tmp, 'xdg'), npm_config_cache: join(tmp, 'npm-cache') };
    await promisify(execFile)(PNPM['pnpm 12'][0], ['install', '--store-dir', join(tmp, 'pnpm-12-env', 'store'), '--ignore-scripts'], { cwd: dir, env, timeout: 120_000 });
    const packages = sorted(readLockfile(join(dir, 'pnpm-lock.yaml')));
    expect(packages.map((p) => `${p.name}@${p.version}:${p.source}`)).toEqual([
      '@pg-fixture/direct@1.0.0:registry',
      '@pg-fixture/pnpm-plugin-cfg@1.0.0:registry',
      '@pg-fixture/transitive@1.1.0:registry',
    ]);
    expect(packages.find((p) => p.name === '@pg-fixture/pnpm-plugin-cfg')?.integrity).toBe(plugin.integrity);
  });
});

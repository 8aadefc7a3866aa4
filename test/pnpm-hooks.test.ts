/** The hook logic with a counting stand-in for the guard (the real one runs in test/pnpm.test.ts). */
import { expect, test } from 'vitest';
import { createPnpmHooks, type HookDependencies } from '../plugins/pnpm/hooks';
import type { Guard } from '../src/guard';
import type { Config } from '../src/config/types';
import { ConfigError } from '../src/errors';
import type { PackageResult, ResolvedPackage } from '../src/types';

function fakeGuard(verdicts: Record<string, PackageResult['verdict']>, mode: Config['mode'] = 'block', extra: Partial<HookDependencies> = {}) {
  const checked: ResolvedPackage[][] = [];
  let created = 0;
  const guard = {
    config: { mode } as Config,
    feed: undefined,
    async check(packages: readonly ResolvedPackage[]) {
      const results = await this.evaluate(packages);
      return { summary: { packages: results.length, pass: 0, warn: 0, block: 0, skip: 0 }, packages: results };
    },
    async evaluate(packages: readonly ResolvedPackage[]) {
      checked.push([...packages]);
      return packages.map((p) => {
        const verdict = verdicts[p.name] ?? 'pass';
        const result: PackageResult = { name: p.name, version: p.version, verdict, findings: verdict === 'pass' ? [] : [{ rule: 'rebuild', severity: verdict === 'block' ? 'block' : 'warn', message: `bad ${p.source}` }] };
        return { ...result, decisions: [], waived: [], appliedOverrides: [], expiredOverrides: [] };
      });
    },
    close() {},
  } satisfies Guard;
  const output: string[] = [];
  const hooks = createPnpmHooks({
    createGuard: async () => (created++, guard),
    modeAfterFailure: async () => undefined,
    write: (t) => void output.push(t),
    env: {},
    ...extra,
  });
  return { hooks, checked, output, created: () => created };
}

const reg = (name: string, version = '1.0.0') => ({ name, version, dist: { integrity: `sha512-${name}`, tarball: `http://r/${name}.tgz` } });

test('projects are skipped, each package is evaluated once, the guard is created once', async () => {
  const { hooks, checked, created } = fakeGuard({});
  await hooks.readPackage({ name: 'ws-a', version: '1.0.0', dependencies: { a: '^1.0.0', 'ws-b': 'workspace:*' } });
  await hooks.readPackage({ name: 'ws-b', version: '1.0.0' });
  await hooks.preResolution({ lockfileDir: '/nowhere', wantedLockfile: { lockfileVersion: '9.0', packages: {} } });
  await Promise.all([hooks.readPackage(reg('a')), hooks.readPackage(reg('a')), hooks.readPackage(reg('b'))]);
  await hooks.readPackage({ name: 'ws-b', version: '1.0.0' }); // pnpm 12 reads workspace projects again
  await hooks.readPackage({ name: 'a', version: '1.0.0' }); // pnpm 10 re-reads a known package without dist
  expect(created()).toBe(1);
  expect(checked.flat().map((p) => p.name).sort()).toEqual(['a', 'b']);
});

test('a blocked package throws one error with a code, a hint and no stack frames', async () => {
  const { hooks } = fakeGuard({ bad: 'block' });
  await hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { bad: '1.0.0' } });
  await hooks.preResolution({ lockfileDir: '/nowhere' });
  const error = await hooks.readPackage(reg('bad')).then(() => undefined, (e: unknown) => e as Error & { code: string; hint: string });
  expect(error?.code).toBe('ERR_PNPM_PROVENANCE_BLOCKED');
  expect(error?.message).toContain('bad@1.0.0');
  expect(error?.message).toContain('[rebuild]');
  expect(error?.hint).toBeTruthy();
  expect(error?.stack).not.toMatch(/\n\s+at /);
});

test('lockfile packages are checked in one batch in preResolution; removed dependencies are not', async () => {
  const { hooks, checked } = fakeGuard({ gone: 'block', deep: 'block' });
  await hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { keep: '^1.0.0' } });
  const lockfile = {
    lockfileVersion: '9.0',
    importers: { '.': { specifiers: {}, dependencies: { keep: '1.0.0', gone: '1.0.0' } } },
    packages: {
      'keep@1.0.0': { resolution: { integrity: 'sha512-k' }, dependencies: { deep: '2.0.0' } },
      'deep@2.0.0': { resolution: { integrity: 'sha512-d' } },
      'gone@1.0.0': { resolution: { integrity: 'sha512-g' } },
    },
  };
  const error = await hooks.preResolution({ lockfileDir: '/nowhere', wantedLockfile: lockfile }).then(() => undefined, (e: Error) => e);
  expect(checked).toHaveLength(1);
  expect(checked[0]!.map((p) => p.name).sort()).toEqual(['deep', 'keep']);
  expect(error?.message).toContain('deep@2.0.0');
  expect(error?.message).not.toContain('gone@');
});

test('warn mode collects warnings and prints them once', async () => {
  const { hooks, output } = fakeGuard({ meh: 'warn' }, 'warn');
  await hooks.readPackage({ name: 'root', version: '0.0.0' });
  await hooks.preResolution({ lockfileDir: '/nowhere' });
  await hooks.readPackage(reg('meh'));
  await hooks.readPackage(reg('meh'));
  hooks.afterAllResolved({});
  hooks.afterAllResolved({});
  // One banner line naming the config, then the warnings once.
  expect(output[0]).toBe('provenance-guard: no config file found in the project (defaults apply), mode warn\n');
  const warnings = output.slice(1);
  expect(warnings.join('')).toContain('meh@1.0.0');
  expect(warnings).toHaveLength(1);
  expect(warnings[0]!.match(/^WARN +meh@1\.0\.0$/gm)).toHaveLength(1);
});

test('a config error fails closed unless the mode is warn', async () => {
  const failing = (mode: 'warn' | undefined) => {
    const output: string[] = [];
    const hooks = createPnpmHooks({
      createGuard: async () => { throw new ConfigError('/p/.provenancerc: mode: must be block, warn or off'); },
      modeAfterFailure: async () => mode,
      write: (t) => void output.push(t),
      env: {},
    });
    return { hooks, output };
  };
  const closed = failing(undefined);
  await expect(closed.hooks.preResolution({ lockfileDir: '/p' })).rejects.toMatchObject({ code: 'ERR_PNPM_PROVENANCE_GUARD', message: expect.stringMatching(/^provenance-guard: ERR_PG_CONFIG: \/p\/\.provenancerc: mode/) });
  const open = failing('warn');
  await open.hooks.preResolution({ lockfileDir: '/p' });
  expect(open.output.join('')).toContain('.provenancerc: mode');
});

test('removedByCommand reads the names given to pnpm remove', async () => {
  const { removedByCommand } = await import('../plugins/pnpm/hooks');
  expect(removedByCommand(['remove', '@x/a', 'b@1', '--save-dev'])).toEqual(['@x/a', 'b']);
  expect(removedByCommand(['--filter', 'app', 'rm', 'c'])).toEqual(['c']);
  expect(removedByCommand(['install', '--frozen-lockfile'])).toEqual([]);
});

test('pnpm 12 style: details once on stderr, a short error naming each package and rule', async () => {
  const { hooks, output } = fakeGuard({ bad: 'block' }, 'block', { detailsOnStderr: true });
  await hooks.readPackage({ name: 'root', version: '0.0.0' });
  await hooks.preResolution({ lockfileDir: '/nowhere' });
  const errors = await Promise.all([hooks.readPackage(reg('bad')), hooks.readPackage(reg('bad'))].map((p) => p.then(() => undefined, (e: Error) => e)));
  expect(errors[0]?.message).toBe('provenance-guard blocked bad@1.0.0 [rebuild] (details and the override to add are above)');
  expect(output.filter((t) => t.includes('provenance-guard blocked 1 package'))).toHaveLength(1);
});

test('link: targets inside the project are workspace, outside they are checked (pnpm 12 shows them to readPackage)', async () => {
  const { hooks, checked } = fakeGuard({});
  await hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { inner: 'link:./libs/inner', outer: 'link:../../elsewhere/outer' } });
  await hooks.preResolution({ lockfileDir: '/work/project' });
  await hooks.readPackage({ name: 'inner', version: '1.0.0' });
  await hooks.readPackage({ name: 'outer', version: '1.0.0' });
  expect(checked.flat()).toEqual([{ name: 'outer', version: '1.0.0', source: 'link', resolved: 'link:../../elsewhere/outer' }]);
});

test('the short error lists at most ten packages', async () => {
  const { shortBlockedError } = await import('../plugins/pnpm/messages');
  const results: PackageResult[] = Array.from({ length: 12 }, (_, i) => ({ name: `p${i}`, version: '1.0.0', verdict: 'block', findings: [{ rule: 'scorecard', severity: 'block', message: 'low' }] }));
  const message = shortBlockedError(results).message;
  expect(message).toContain('p9@1.0.0 [scorecard], and 2 more');
  expect(message).not.toContain('p10@');
});

test('a git package posing as a workspace project (same name@version) is still checked', async () => {
  const { hooks, checked } = fakeGuard({});
  await hooks.readPackage({ name: 'app', version: '1.0.0', dependencies: { evil: 'github:x/evil' }, scripts: { build: 'tsc' } });
  await hooks.preResolution({ lockfileDir: '/nowhere' });
  await hooks.readPackage({ name: 'app', version: '1.0.0', dependencies: {}, scripts: { postinstall: 'node steal.js' } });
  await hooks.readPackage({ name: 'app', version: '1.0.0', scripts: { build: 'tsc' }, dependencies: { evil: 'github:x/evil' } }); // the project itself, read again
  // Checked under the key it installs under (node_modules/evil), not the name it claims.
  expect(checked.flat().map((p) => `${p.name}:${p.source}`)).toEqual(['evil:git']);
});

test('a git/tarball/file: package is checked under the dependency key it installs under, not its package.json name (exclude cannot be borrowed)', async () => {
  // The stand-in guard skips what `exclude` would: here the name init's default config excludes.
  const { hooks, checked } = fakeGuard({ 'pnpm-plugin-provenance-guard': 'skip', '@acme/internal': 'skip', evil: 'block', gx: 'block' });
  const url = 'http://files.example/x.tgz';
  await hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { evil: url, '@acme/internal': 'github:acme/internal', left: '^1.0.0' } });
  await hooks.preResolution({ lockfileDir: '/nowhere' });
  // The internal git package arrives first under its own name: it may still be the tarball (no resolution is shown), so both names are checked.
  const first = await hooks.readPackage({ name: '@acme/internal', version: '1.0.0' }).then(() => undefined, (e: Error) => e);
  expect(first?.message).toContain('evil@1.0.0');
  expect(checked.flat().map((p) => `${p.name}:${p.source}:${p.resolved}`)).toEqual(['@acme/internal:git:github:acme/internal', `evil:tarball:${url}`]);

  // Once every key has arrived, a package is checked under its own name only.
  const calm = fakeGuard({ '@acme/internal': 'skip' });
  await calm.hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { '@acme/a': 'github:acme/a', '@acme/internal': 'github:acme/internal' } });
  await calm.hooks.preResolution({ lockfileDir: '/nowhere' });
  await calm.hooks.readPackage({ name: '@acme/a', version: '1.0.0' });
  await calm.hooks.readPackage({ name: '@acme/internal', version: '2.0.0' });
  expect(calm.checked.flat().map((p) => `${p.name}@${p.version}`)).toEqual(['@acme/a@1.0.0', '@acme/internal@1.0.0', '@acme/internal@2.0.0']);

  // A tarball arriving with dist.tarball = a declared URL: exactly the keys that declared it.
  const url2 = 'http://files.example/y.tgz';
  const byUrl = fakeGuard({ 'pnpm-plugin-provenance-guard': 'skip', 'y-one': 'skip' });
  await byUrl.hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { 'y-one': url2, 'y-two': url2, gx: 'github:x/gx' } });
  await byUrl.hooks.preResolution({ lockfileDir: '/nowhere' });
  await byUrl.hooks.readPackage({ name: 'pnpm-plugin-provenance-guard', version: '9.9.9', dist: { integrity: 'sha512-y', tarball: url2 } });
  expect(byUrl.checked.flat().map((p) => `${p.name}:${p.source}`)).toEqual(['y-one:tarball', 'y-two:tarball']);

  // Resolved from registry metadata (dist) with a tarball on another host: named by the registry, never by a pending git key.
  const offHost = fakeGuard({ '@acme/internal': 'skip', left: 'block' });
  await offHost.hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { left: '^1.0.0', '@acme/internal': 'github:acme/internal' } });
  await offHost.hooks.preResolution({ lockfileDir: '/nowhere' });
  await expect(offHost.hooks.readPackage({ name: 'left', version: '1.0.0', dist: { integrity: 'sha512-l', tarball: 'http://elsewhere.example/left-1.0.0.tgz' } })).rejects.toThrow(/left@1\.0\.0/);
  expect(offHost.checked.flat().map((p) => `${p.name}:${p.source}`)).toEqual(['left:tarball']);

  // The lockfile names a locked git package by its key: a later arrival claiming that key's name is no longer ambiguous with it.
  const locked = fakeGuard({ gx: 'skip', evil: 'block' });
  await locked.hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { gx: 'github:x/gx', evil: url, plain: 'github:x/plain' } });
  const lockfile = {
    lockfileVersion: '9.0',
    importers: { '.': { dependencies: { gx: { specifier: 'github:x/gx', version: 'real-name@git+https://github.com/x/gx.git#' + 'b'.repeat(40) } } } },
    packages: { ['real-name@git+https://github.com/x/gx.git#' + 'b'.repeat(40)]: { resolution: { type: 'git', repo: 'https://github.com/x/gx.git', commit: 'b'.repeat(40) }, version: '1.0.0' } },
  };
  await locked.hooks.preResolution({ lockfileDir: '/nowhere', wantedLockfile: lockfile });
  // plain arrives under its own name; the locked gx is no candidate (it has its package), evil still is.
  await expect(locked.hooks.readPackage({ name: 'plain', version: '3.0.0' })).rejects.toThrow(/evil@3\.0\.0/);
  // A tarball claiming to be the locked gx@1.0.0 is checked as evil, the key it comes from.
  const posing = await locked.hooks.readPackage({ name: 'gx', version: '1.0.0' }).then(() => undefined, (e: Error) => e);
  expect(posing?.message).toContain('evil@1.0.0');
  expect(locked.checked.flat().map((p) => `${p.name}@${p.version}:${p.source}`)).toEqual(['gx@1.0.0:git', 'plain@3.0.0:git', 'evil@3.0.0:tarball', 'evil@1.0.0:tarball']);
});

test('re-reads of locked registry packages are skipped, unless a non-registry source could pose as them', async () => {
  const lockfile = {
    lockfileVersion: '9.0',
    importers: { '.': { specifiers: {}, dependencies: { lodash: '4.17.21' } } },
    packages: { 'lodash@4.17.21': { resolution: { integrity: 'sha512-l' } } },
  };
  const plain = fakeGuard({}, 'block', { argv: ['add', 'left-pad@1.3.0'] });
  await plain.hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { lodash: '^4.17.0' } });
  await plain.hooks.preResolution({ lockfileDir: '/nowhere', wantedLockfile: lockfile });
  await plain.hooks.readPackage({ name: 'lodash', version: '4.17.21' });
  expect(plain.checked.flat().map((p) => `${p.name}:${p.source}`)).toEqual(['lodash:registry']); // the preResolution batch only

  const posing = fakeGuard({}, 'block', { argv: ['add', 'github:evil/lodash'] });
  await posing.hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { lodash: '^4.17.0' } });
  await posing.hooks.preResolution({ lockfileDir: '/nowhere', wantedLockfile: lockfile });
  await posing.hooks.readPackage({ name: 'lodash', version: '4.17.21', scripts: { postinstall: 'node x.js' } });
  expect(posing.checked.flat().map((p) => `${p.name}:${p.source}`)).toEqual(['lodash:registry', 'lodash:git']);
});

test('addedByCommand reads the specs given to pnpm add', async () => {
  const { addedByCommand } = await import('../plugins/pnpm/hooks');
  expect(addedByCommand(['add', 'github:user/repo', '-D', 'x@1'])).toEqual(['github:user/repo', 'x@1']);
  expect(addedByCommand(['install'])).toEqual([]);
});

test('a lockfile whose keys the reachability walk cannot match is checked whole (fail safe)', async () => {
  const { hooks, checked } = fakeGuard({ bad: 'block' });
  await hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { bad: '^1.0.0' } });
  const lockfile = {
    lockfileVersion: '6.0',
    importers: { '.': { dependencies: { bad: { specifier: '^1.0.0', version: '1.0.0' } } } },
    packages: { '/bad@1.0.0': { resolution: { integrity: 'sha512-b' } } },
  };
  const error = await hooks.preResolution({ lockfileDir: '/nowhere', wantedLockfile: lockfile }).then(() => undefined, (e: Error) => e);
  expect(checked.flat().map((p) => p.name)).toEqual(['bad']);
  expect(error?.message).toContain('bad@1.0.0');
});

test('a filtered install refuses only what the selected projects reach; a held block is refused once a package in scope needs it', async () => {
  const { hooks, checked } = fakeGuard({ bad: 'block' }, 'block', { invocation: ['install', '--filter', 'ws-a'] });
  await hooks.readPackage({ name: 'root', version: '0.0.0' });
  await hooks.readPackage({ name: 'ws-a', version: '1.0.0', dependencies: { good: '^1.0.0' } });
  await hooks.readPackage({ name: 'ws-b', version: '1.0.0', dependencies: { bad: '^1.0.0' } });
  await hooks.preResolution({ lockfileDir: '/nowhere' });
  await hooks.readPackage(reg('bad')); // only ws-b uses it: resolved, never linked
  await hooks.readPackage({ ...reg('good'), dependencies: { helper: '^2.0.0' } });
  expect(checked.flat().map((p) => p.name).sort()).toEqual(['bad', 'good']);
  // A package ws-a reaches turns out to depend on the blocked one: refused now.
  const error = await hooks.readPackage({ ...reg('helper', '2.0.0'), dependencies: { bad: '1.0.0' } }).then(() => undefined, (e: Error) => e);
  expect(error?.message).toContain('bad@1.0.0');
});

test('a filtered frozen install checks the selected importers\' packages (and the projects they link to)', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'pg-hooks-filter-'));
  for (const [id, name] of [['packages/a', 'ws-a'], ['packages/b', 'ws-b'], ['packages/c', 'ws-c']]) {
    mkdirSync(join(dir, id!), { recursive: true });
    writeFileSync(join(dir, id!, 'package.json'), JSON.stringify({ name }));
  }
  const lockfile = {
    lockfileVersion: '9.0',
    importers: {
      'packages/a': { dependencies: { good: { specifier: '1.0.0', version: '1.0.0' }, 'ws-c': { specifier: 'workspace:*', version: 'link:../c' } } },
      'packages/b': { dependencies: { bad: { specifier: '1.0.0', version: '1.0.0' } } },
      'packages/c': { dependencies: { other: { specifier: '1.0.0', version: '1.0.0' } } },
    },
    packages: { 'good@1.0.0': { resolution: { integrity: 'sha512-g' } }, 'bad@1.0.0': { resolution: { integrity: 'sha512-b' } }, 'other@1.0.0': { resolution: { integrity: 'sha512-o' } } },
  };
  try {
    const run = async (filter: string) => {
      const { hooks, checked } = fakeGuard({ bad: 'block' }, 'block', { invocation: ['install', '--frozen-lockfile', '--filter', filter] });
      for (const [name, deps] of [['ws-a', { good: '1.0.0', 'ws-c': 'workspace:*' }], ['ws-b', { bad: '1.0.0' }], ['ws-c', { other: '1.0.0' }]] as const) {
        await hooks.readPackage({ name, version: '1.0.0', dependencies: deps });
      }
      const error = await hooks.preResolution({ lockfileDir: dir, wantedLockfile: lockfile }).then(() => undefined, (e: Error) => e);
      return { names: checked.flat().filter((p) => p.source !== 'workspace').map((p) => p.name).sort(), error };
    };
    expect(await run('ws-a')).toEqual({ names: ['good', 'other'], error: undefined });
    const b = await run('ws-b');
    expect(b.names).toEqual(['bad']);
    expect(b.error?.message).toContain('bad@1.0.0');
    // A selector this does not interpret checks the whole workspace.
    expect((await run('...ws-a')).names).toEqual(['bad', 'good', 'other']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dist-less package checked under several keys: blocks stop at once, warnings wait for the resolution to name each key\'s package', async () => {
  const root = { name: 'root', version: '0.0.0', dependencies: { gx: 'github:x/gx', gy: 'github:x/gy' } };
  const commit = 'c'.repeat(40);
  const resolved = {
    lockfileVersion: '9.0',
    importers: { '.': { dependencies: { gx: { specifier: 'github:x/gx', version: `real-x@git+https://github.com/x/gx.git#${commit}` }, gy: { specifier: 'github:x/gy', version: `real-y@git+https://github.com/x/gy.git#${commit}` } } } },
    packages: {
      [`real-x@git+https://github.com/x/gx.git#${commit}`]: { resolution: { type: 'git', repo: 'https://github.com/x/gx.git', commit }, version: '1.0.0' },
      [`real-y@git+https://github.com/x/gy.git#${commit}`]: { resolution: { type: 'git', repo: 'https://github.com/x/gy.git', commit }, version: '2.0.0' },
    },
  };
  const warnLines = (output: string[]) => output.join('').match(/^WARN +\S+@\S+$/gm)?.sort();

  const warn = fakeGuard({ gx: 'warn', gy: 'warn' }, 'warn');
  await warn.hooks.readPackage(root);
  await warn.hooks.preResolution({ lockfileDir: '/nowhere' });
  await warn.hooks.readPackage({ name: 'real-x', version: '1.0.0' });
  await warn.hooks.readPackage({ name: 'real-y', version: '2.0.0' });
  // Each arrival was checked under both keys (either could be it)...
  expect(warn.checked.flat().map((p) => `${p.name}@${p.version}`).sort()).toEqual(['gx@1.0.0', 'gx@2.0.0', 'gy@1.0.0', 'gy@2.0.0']);
  await warn.hooks.afterAllResolved(resolved);
  // ...but only what each key holds is reported.
  expect(warnLines(warn.output)).toEqual(['WARN   gx@1.0.0', 'WARN   gy@2.0.0']);

  // Block mode: a block under any candidate key stops the install at the first arrival (fail closed).
  const block = fakeGuard({ gy: 'block' });
  await block.hooks.readPackage(root);
  await block.hooks.preResolution({ lockfileDir: '/nowhere' });
  await expect(block.hooks.readPackage({ name: 'real-x', version: '1.0.0' })).rejects.toThrow(/gy@1\.0\.0/);
});

test('held warnings are printed by afterAllResolved when its lockfile cannot settle them (pnpm 12 kills its hook process: no exit)', async () => {
  const warn = fakeGuard({ gx: 'warn', gy: 'warn' }, 'warn');
  await warn.hooks.readPackage({ name: 'root', version: '0.0.0', dependencies: { gx: 'github:x/gx', gy: 'github:x/gy' } });
  await warn.hooks.preResolution({ lockfileDir: '/nowhere' });
  await warn.hooks.readPackage({ name: 'real-x', version: '1.0.0' });
  expect(warn.output.join('')).not.toMatch(/gx@1\.0\.0/);
  await warn.hooks.afterAllResolved({ lockfileVersion: '5.4' });
  expect(warn.output.join('').match(/^WARN +\S+@\S+$/gm)?.sort()).toEqual(['WARN   gx@1.0.0', 'WARN   gy@1.0.0']);
});

test('held warnings are printed when the process ends without a resolution to settle them (never lost)', async () => {
  const { VerdictLog } = await import('../plugins/pnpm/verdicts');
  const output: string[] = [];
  const log = new VerdictLog((t) => void output.push(t), false);
  log.rememberTentative({ name: 'gx', version: '1.0.0', verdict: 'warn', findings: [{ rule: 'source', severity: 'warn', message: 'git' }] });
  log.flushWarnings();
  expect(output.join('')).not.toContain('gx@1.0.0');
  log.flushWarnings(true);
  expect(output.join('')).toContain('gx@1.0.0');
});

test('afterAllResolved of a filtered install: links and held git packages of unselected projects do not fail it', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'pg-hooks-filter-links-'));
  for (const [id, name] of [['packages/a', 'ws-a'], ['packages/b', 'ws-b'], ['outside-b', 'claims']]) {
    mkdirSync(join(dir, id!), { recursive: true });
    writeFileSync(join(dir, id!, 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
  }
  const commit = 'd'.repeat(40);
  const resolved = {
    lockfileVersion: '9.0',
    importers: {
      'packages/a': { dependencies: { good: '1.0.0' } },
      'packages/b': { dependencies: { lnkb: 'link:../../../elsewhere-b', gb: `real@git+https://github.com/x/gb.git#${commit}`, gc: `real@git+https://github.com/x/gc.git#${commit}` } },
    },
    packages: {
      'good@1.0.0': { resolution: { integrity: 'sha512-g' } },
      [`real@git+https://github.com/x/gb.git#${commit}`]: { resolution: { type: 'git', repo: 'https://github.com/x/gb.git', commit }, version: '1.0.0' },
      [`real@git+https://github.com/x/gc.git#${commit}`]: { resolution: { type: 'git', repo: 'https://github.com/x/gc.git', commit }, version: '1.0.0' },
    },
  };
  try {
    const { hooks } = fakeGuard({ lnkb: 'block', gb: 'block', gc: 'block' }, 'block', { invocation: ['install', '--filter', 'ws-a'] });
    await hooks.readPackage({ name: 'ws-a', version: '1.0.0', dependencies: { good: '1.0.0' } });
    await hooks.readPackage({ name: 'ws-b', version: '1.0.0', dependencies: { lnkb: 'link:../../../elsewhere-b', gb: 'github:x/gb', gc: 'github:x/gc' } });
    await hooks.preResolution({ lockfileDir: dir });
    await hooks.readPackage({ name: 'real', version: '1.0.0' }); // ws-b's git packages: held, not thrown
    await expect(hooks.afterAllResolved(resolved)).resolves.toBe(resolved);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

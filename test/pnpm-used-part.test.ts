/**
 * The part of the wanted lockfile the pnpm hook checks (plugins/pnpm/lockfile-gate.ts usedPart):
 * what the projects in scope reach, the whole lockfile whenever the walk cannot tell (fail safe),
 * and nothing only for a filtered install whose projects depend on nothing.
 */
import { expect, test } from 'vitest';
import { usedPart } from '../plugins/pnpm/lockfile-gate';

const SRI = `sha512-${Buffer.alloc(64, 1).toString('base64')}`;
const entry = { resolution: { integrity: SRI } };
const lockfile = {
  lockfileVersion: '9.0',
  importers: {
    '.': { dependencies: { a: { specifier: '1.0.0', version: '1.0.0' } } },
    'packages/app': { dependencies: { b: { specifier: '1.0.0', version: '1.0.0' } } },
    'packages/empty': {},
  },
  packages: { 'a@1.0.0': entry, 'b@1.0.0': entry, 'c@1.0.0': entry, 'd@1.0.0': entry },
  snapshots: { 'a@1.0.0': { dependencies: { c: '1.0.0' } }, 'b@1.0.0': {}, 'c@1.0.0': {}, 'd@1.0.0': {} },
};

const keys = (part: { packages?: Record<string, unknown> }) => Object.keys(part.packages ?? {}).sort();

test('what the declared dependencies reach, and every package when no scope is given', () => {
  expect(usedPart(lockfile, undefined)).toBe(lockfile);
  expect(keys(usedPart(lockfile, { declared: new Set(['a', 'b']) }))).toEqual(['a@1.0.0', 'b@1.0.0', 'c@1.0.0']);
  expect(keys(usedPart(lockfile, { declared: new Set(['a']) }))).toEqual(['a@1.0.0', 'c@1.0.0']);
});

test('a walk that reaches nothing checks the whole lockfile (fail safe), unless a filtered install\'s projects depend on nothing', () => {
  expect(usedPart(lockfile, { declared: new Set(['no-such-dependency']) })).toBe(lockfile);
  expect(usedPart(lockfile, { declared: new Set() })).toBe(lockfile);
  expect(keys(usedPart(lockfile, { declared: new Set(['b']), importers: new Set(['packages/app']) }))).toEqual(['b@1.0.0']);
  expect(keys(usedPart(lockfile, { declared: new Set(['a', 'b']), importers: new Set(['packages/empty']) }))).toEqual([]);
});

test('a filtered install reaches the projects its projects link to (a trailing slash, a cycle), and a dependency named by its full path', () => {
  const linked = {
    lockfileVersion: '9.0',
    importers: {
      'packages/app': { dependencies: { lib: { specifier: 'link:../lib/', version: 'link:../lib/' }, c: { specifier: 'https://host.example/c.tgz', version: 'c@https://host.example/c.tgz' } } },
      'packages/lib': { dependencies: { app: { specifier: 'link:../app', version: 'link:../app' }, a: { specifier: '1.0.0', version: '1.0.0' } } },
      'packages/other': { dependencies: { b: { specifier: '1.0.0', version: '1.0.0' } } },
    },
    packages: { 'a@1.0.0': entry, 'b@1.0.0': entry, 'c@https://host.example/c.tgz': { resolution: { tarball: 'https://host.example/c.tgz' } }, 'd@1.0.0': entry },
    snapshots: { 'a@1.0.0': {}, 'b@1.0.0': {}, 'c@https://host.example/c.tgz': { dependencies: { d: '1.0.0' } }, 'd@1.0.0': {} },
  };
  const part = usedPart(linked, { declared: new Set(['lib', 'c', 'a', 'app', 'b']), importers: new Set(['packages/app']) });
  expect(keys(part)).toEqual(['a@1.0.0', 'c@https://host.example/c.tgz', 'd@1.0.0']);
});

test('a cycle among packages is walked once; optional dependencies and packages with peers are reached, in either lockfile form', () => {
  const cyclic = {
    lockfileVersion: '9.0',
    importers: { '.': { dependencies: { a: { specifier: '1.0.0', version: '1.0.0' } } } },
    packages: { 'a@1.0.0': entry, 'b@1.0.0': entry, 'p@2.0.0': entry, 'o@1.0.0': entry, 'x@1.0.0': entry },
    snapshots: {
      'a@1.0.0': { dependencies: { b: '1.0.0' } },
      'b@1.0.0': { dependencies: { a: '1.0.0', p: '2.0.0(b@1.0.0)' }, optionalDependencies: { o: '1.0.0' } },
      'p@2.0.0(b@1.0.0)': { dependencies: { a: '1.0.0' } },
      'o@1.0.0': {},
      'x@1.0.0': {},
    },
  };
  expect(keys(usedPart(cyclic, { declared: new Set(['a']) }))).toEqual(['a@1.0.0', 'b@1.0.0', 'o@1.0.0', 'p@2.0.0']);
  // As pnpm hands it to preResolution: one `packages` map keyed with the peers, no snapshots.
  const inMemory = {
    lockfileVersion: '9.0',
    importers: cyclic.importers,
    packages: Object.fromEntries(Object.entries(cyclic.snapshots).map(([k, v]) => [k, { ...entry, ...v }])),
  };
  expect(keys(usedPart(inMemory, { declared: new Set(['a']) }))).toEqual(['a@1.0.0', 'b@1.0.0', 'o@1.0.0', 'p@2.0.0(b@1.0.0)']);
});

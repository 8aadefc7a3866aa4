/**
 * A filtered pnpm install's scope (plugins/pnpm/selection.ts): a block outside it is held, one in
 * it fails the install. So every doubt must widen the scope: a filter that is not understood or
 * selects nothing means every project, and a range that is not semver matches every version.
 */
import { expect, test } from 'vitest';
import { InstallScope, selectedProjectNames } from '../plugins/pnpm/selection';

test('filters select the projects they name, literally but for `*`; anything else means every project', () => {
  const projects = ['my.app', 'myxapp', 'app', 'app-web', '@acme/api', 'lib'];
  expect(selectedProjectNames([], projects)).toBeUndefined();
  expect(selectedProjectNames(['my.app'], projects)).toEqual(new Set(['my.app']));
  expect(selectedProjectNames(['app*'], projects)).toEqual(new Set(['app', 'app-web']));
  expect(selectedProjectNames(['app...'], projects)).toEqual(new Set(['app']));
  expect(selectedProjectNames(['app-web...'], projects)).toEqual(new Set(['app-web']));
  // Without a scope, the scoped project of that name (as pnpm does).
  expect(selectedProjectNames(['api'], projects)).toEqual(new Set(['@acme/api']));
  expect(selectedProjectNames(['app', 'lib'], projects)).toEqual(new Set(['app', 'lib']));
  // A filter that selects nothing, or one not interpreted here (paths, globs of folders, exclusions, dependents), among others: every project.
  for (const filters of [['nothing-here'], ['app', 'nothing-here'], ['app', '{packages/*}'], ['./packages/app'], ['!app'], ['...app'], ['...']]) {
    expect(selectedProjectNames(filters, projects)).toBeUndefined();
  }
});

test('the scope holds what the selected projects and the projects they depend on declare, under every range declared', () => {
  const projects = new Map<string, Record<string, unknown>>([
    ['app', { name: 'app', dependencies: { lib: 'workspace:*', x: '^1.0.0', tagged: 'latest', odd: { not: 'a range' } } }],
    ['lib', { name: 'lib', dependencies: { y: '2.0.0', app: 'workspace:*' }, devDependencies: { x: '^2.0.0' } }],
    ['other', { name: 'other', dependencies: { z: '1.0.0' } }],
  ]);
  const scope = new InstallScope(new Set(['app']), projects);
  expect(scope.includes('x', '1.4.0')).toBe(true);
  // Two ranges for one name: each counts.
  expect(scope.includes('x', '2.1.0')).toBe(true);
  expect(scope.includes('x', '3.0.0')).toBe(false);
  // What a project it depends on declares.
  expect(scope.includes('y', '2.0.0')).toBe(true);
  // A prerelease a range could be resolved to, a tag, and a value that is no range: in scope.
  expect(scope.includes('x', '1.5.0-rc.1')).toBe(true);
  expect(scope.includes('tagged', '9.9.9')).toBe(true);
  expect(scope.includes('odd', '0.0.1')).toBe(true);
  // Another project's dependency, not reached: outside.
  expect(scope.includes('z', '1.0.0')).toBe(false);
  // An alias counts by the range its key declared.
  const aliased = new InstallScope(new Set(['a']), new Map([['a', { name: 'a', dependencies: { pad: 'npm:left-pad@^1.3.0' } }]]));
  expect(aliased.includes('left-pad', '1.3.1', ['pad'])).toBe(true);
  expect(aliased.includes('left-pad', '2.0.0', ['pad'])).toBe(false);
  // Grown by each package read in scope.
  expect(scope.grow({ name: 'y', dependencies: { w: '^3.0.0' } })).toEqual(['w']);
  expect(scope.includes('w', '3.2.0')).toBe(true);
});

import { expect, test } from 'vitest';
import { isValidPackageName, packageNameProblem } from '../src/package-name';

test.each([
  ['left-pad', undefined],
  ['@scope/pkg', undefined],
  ['a.b_c~d-e', undefined],
  ['@a-b/c.d', undefined],
  ['0', undefined],
  ['JSONStream', undefined], // capitals: an existing old package
  ["it's(ok)!", undefined],
  ['node_modules', /reserved/],
  ['favicon.ico', /reserved/],
  ['Node_Modules', /reserved/],
  ['.hidden', /starts with "\." or "_"/],
  ['_private', /starts with "\." or "_"/],
  ['@scope/.x', /not a valid npm package name/],
  ['@scope/_x', /not a valid npm package name/],
  ['@_scope/x', /not a valid npm package name/],
  ['a/b', /not a valid npm package name/],
  ['@s/x/y', /not a valid npm package name/],
  ['@s/', /not a valid npm package name/],
  ['a b', /not a valid npm package name/],
  ['a%20b', /not a valid npm package name/],
  [' a', /leading or trailing spaces/],
  ['', /empty/],
])('%j: %s', (name, problem) => {
  const found = packageNameProblem(name);
  if (problem === undefined) expect(found).toBeUndefined();
  else expect(found).toMatch(problem);
  expect(isValidPackageName(name)).toBe(problem === undefined);
});

test('a name that is not a string', () => {
  expect(packageNameProblem(42)).toBe('name must be a string');
});

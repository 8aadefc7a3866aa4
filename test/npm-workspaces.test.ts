/**
 * npm workspace globs against npm's own expansion: @npmcli/map-workspaces (what npm 11 runs,
 * here as @npmcli/arborist's dependency) on the same folders and patterns must find the same
 * workspace folders as the npm wrapper's staging (src/npm/workspaces.ts) and as the
 * package-lock.json reader's matcher (src/lockfile/npm-workspaces.ts) tells apart.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { workspaceMatcher } from '../src/lockfile/npm-workspaces';
import { matchWorkspaceFolders, workspacePatterns } from '../src/npm/workspaces';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const mapWorkspaces = require('@npmcli/map-workspaces') as (opts: { cwd: string; pkg: { workspaces: unknown } }) => Promise<Map<string, string>>;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A project with a package.json in each of `packages` (folders without one are made as plain folders). */
function layout(packages: readonly string[], folders: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-npm-ws-'));
  dirs.push(dir);
  for (const f of folders) mkdirSync(join(dir, f), { recursive: true });
  for (const p of packages) {
    mkdirSync(join(dir, p), { recursive: true });
    writeFileSync(join(dir, p, 'package.json'), JSON.stringify({ name: p.replace(/\//g, '-'), version: '1.0.0' }));
  }
  return dir;
}

const FOLDERS = ['packages/a', 'packages/b', 'packages/c', 'packages/c/nested', 'packages/node_modules/x', 'apps/web/pkg', 'apps/api/pkg', 'apps/api/other', 'tools/deep/t', 'tools/skip', 'tools/skip/inner', '.hidden/h', 'single'];

/** What the wrapper stages: matched folders holding a package.json. */
const ours = (dir: string, patterns: readonly string[]) => matchWorkspaceFolders(dir, patterns).filter((f) => existsSync(join(dir, f, 'package.json')));
const npms = async (dir: string, patterns: readonly string[]) => [...(await mapWorkspaces({ cwd: dir, pkg: { workspaces: patterns } })).values()].map((p) => relative(dir, p)).sort();

describe('npm workspace folders', () => {
  const cases: [string, string[], string[]][] = [
    ['a plain folder', ['single'], ['single']],
    ['dir/*', ['packages/*'], ['packages/a', 'packages/b', 'packages/c']],
    ['braces', ['packages/{a,b}'], ['packages/a', 'packages/b']],
    ['** (node_modules never)', ['packages/**'], ['packages/a', 'packages/b', 'packages/c', 'packages/c/nested']],
    ['a nested *', ['apps/*/pkg'], ['apps/api/pkg', 'apps/web/pkg']],
    ['a negation', ['tools/**', '!tools/skip'], ['tools/deep/t', 'tools/skip/inner']],
    ['a negation of a subtree', ['tools/**', '!tools/skip/**'], ['tools/deep/t']],
    ['a later pattern re-admits a negated folder', ['packages/*', '!packages/b', 'packages/b'], ['packages/a', 'packages/b', 'packages/c']],
    ['a negation first', ['!packages/a', 'packages/*'], ['packages/b', 'packages/c']],
    ['a negation that matches a pattern as text drops the whole pattern', ['packages/**', '!packages/*'], []],
    ['negations reach dot folders', ['.hidden/*', '!**/h'], []],
    ['a pattern naming a dot folder', ['.hidden/*'], ['.hidden/h']],
    ['!! is no negation', ['!!packages/a'], ['packages/a']],
    ['./ and / and a trailing slash', ['./packages/a', '/packages/b/', 'apps/web/pkg/'], ['apps/web/pkg', 'packages/a', 'packages/b']],
    ['character classes and ?', ['packages/[ab]', 'tools/?kip'], ['packages/a', 'packages/b', 'tools/skip']],
    ['extglob', ['packages/@(a|c)'], ['packages/a', 'packages/c']],
    ['dot folders are not matched by *', ['*/h'], []],
    ['a folder that does not exist', ['nowhere', 'nowhere/*'], []],
  ];
  for (const [what, patterns, expected] of cases) {
    test(`${what}: ${patterns.join(' ')}`, async () => {
      const dir = layout(FOLDERS.filter((f) => f !== 'apps/api/other'), ['apps/api/other']);
      expect(ours(dir, patterns)).toEqual(expected);
      expect(await npms(dir, patterns)).toEqual(expected);
      const isWorkspace = workspaceMatcher(patterns);
      expect(FOLDERS.filter(isWorkspace).sort()).toEqual(expected);
    });
  }

  test('the workspaces field: an array, { packages: [...] }, anything else none; non-strings dropped', () => {
    expect(workspacePatterns({ workspaces: ['a', 1, 'b/*'] })).toEqual(['a', 'b/*']);
    expect(workspacePatterns({ workspaces: { packages: ['x/{a,b}'], nohoist: ['y'] } })).toEqual(['x/{a,b}']);
    expect(workspacePatterns({ workspaces: 'packages/*' })).toEqual([]);
    expect(workspacePatterns({ workspaces: { packages: 'x' } })).toEqual([]);
    expect(workspacePatterns(null)).toEqual([]);
    expect(workspacePatterns({})).toEqual([]);
  });
});

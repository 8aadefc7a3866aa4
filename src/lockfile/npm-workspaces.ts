/**
 * npm's `workspaces` patterns, read as npm 11's @npmcli/map-workspaces 5 reads them, with the
 * same matcher (minimatch 10): `!` negations (an odd number of `!`), a later pattern re-admitting
 * what an earlier negation removed, a leading `/` or `./` dropped, each pattern matching folders
 * only (a trailing `/` added), `**` + `/node_modules/**` never. Braces, `**`, `?`, classes and
 * extglobs all count. The npm wrapper lists the folders with glob (src/npm/workspaces.ts); the
 * package-lock.json reader asks whether a folder entry is one (`workspaceMatcher`).
 */
import { Minimatch, minimatch } from 'minimatch';

export interface WorkspacePatterns {
  /** What to glob, each ending in `/` (folders only). */
  patterns: string[];
  /** What glob ignores: node_modules and the negations left after re-admissions. */
  ignore: string[];
}

/** The `workspaces` entries of a manifest or lockfile root (an array, or `{ packages: [...] }`); anything else none (npm reports a malformed one itself). */
export function workspacePatterns(manifest: unknown): string[] {
  const ws = manifest && typeof manifest === 'object' ? (manifest as { workspaces?: unknown }).workspaces : undefined;
  const list = Array.isArray(ws) ? ws : ws && typeof ws === 'object' && Array.isArray((ws as { packages?: unknown }).packages) ? (ws as { packages: unknown[] }).packages : [];
  return list.filter((p): p is string => typeof p === 'string');
}

/** map-workspaces' appendNegatedPatterns and getGlobPattern, step for step. */
export function splitWorkspacePatterns(all: readonly string[]): WorkspacePatterns {
  const patterns: string[] = [];
  const negated: string[] = [];
  for (const raw of all) {
    const bangs = /^!+/.exec(raw)?.[0] ?? '';
    const pattern = raw.slice(bangs.length).replace(/^\.?\/+/, '');
    if (bangs.length % 2 === 1) {
      negated.push(pattern);
      continue;
    }
    // A pattern removes the negations before it that it matches (['a/**', '!a/b/**', 'a/b/c'] keeps a/b/c).
    for (let i = 0; i < negated.length; i++) if (minimatch(pattern, negated[i]!)) negated.splice(i, 1);
    patterns.push(pattern);
  }
  for (const negation of negated) for (const pattern of minimatch.match(patterns, negation)) patterns.splice(patterns.indexOf(pattern), 1);
  const folders = patterns.map((p) => {
    const slashed = p.replace(/\\/g, '/');
    return slashed.endsWith('/') ? slashed : `${slashed}/`;
  });
  return { patterns: folders, ignore: ['**/node_modules/**', ...negated] };
}

/**
 * Whether a project-relative folder is one the patterns make a workspace, as glob decides it
 * when npm expands them on disk: matched by a pattern (dot segments only where the pattern
 * names them), not ignored (ignores also match dot segments, with or without a trailing `/`).
 */
export function workspaceMatcher(workspaces: readonly string[]): (folder: string) => boolean {
  const { patterns, ignore } = splitWorkspacePatterns(workspaces);
  if (patterns.length === 0) return () => false;
  const include = patterns.map((p) => new Minimatch(p));
  const exclude = ignore.map((p) => new Minimatch(p, { dot: true, nonegate: true, nocomment: true }));
  return (folder) => {
    const path = folder.replace(/\/+$/, '');
    if (path === '' || path === '.') return false;
    if (exclude.some((m) => m.match(path) || m.match(`${path}/`))) return false;
    return include.some((m) => m.match(`${path}/`));
  };
}

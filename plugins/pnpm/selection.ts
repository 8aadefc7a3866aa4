/**
 * What a filtered install (`pnpm install --filter ws-a`) puts on disk: the selected projects'
 * dependencies, not the whole workspace's (measured on 10.34.9 and 12.21.0: pnpm resolves
 * every project and writes the whole lockfile, but links and builds only the selected ones).
 * Packages only other projects use are resolved, never linked or run, so they are not refused.
 *
 * Selectors interpreted: a project name or a name glob (`@acme/*`), optionally with `...`
 * after it (its workspace dependencies too: those are followed anyway). Any other selector
 * (`...X`, `X^...`, `!X`, `./path`, `{dir}`, `[since]`) leaves the scope unknown and the whole
 * workspace is checked: over-blocking, never under-blocking.
 */
import { satisfies, validRange } from 'semver';

// Peers too: pnpm installs a project's peer dependencies (auto-install-peers).
const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

export interface ProjectManifest {
  name?: unknown;
  [field: string]: unknown;
}

function nameMatcher(selector: string): RegExp | undefined {
  const name = selector.endsWith('...') ? selector.slice(0, -3) : selector;
  if (name === '' || /^[.!^{[/]|\.\.\.|\^/.test(name)) return undefined;
  return new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/[*]/g, '.*')}$`);
}

const unscoped = (name: string): string => (name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name);

/**
 * Names of the selected projects; undefined when every project is in scope (no filter, one not
 * interpreted, or one that selects nothing here: then pnpm reads it some other way, and all is checked).
 * As pnpm does, a selector without a scope that names no project picks the scoped ones of that name
 * (`--filter app` selects `@acme/app`).
 */
export function selectedProjectNames(filters: readonly string[], projectNames: Iterable<string>): Set<string> | undefined {
  if (filters.length === 0) return undefined;
  const matchers = filters.map(nameMatcher);
  if (matchers.some((m) => m === undefined)) return undefined;
  const all = [...projectNames];
  const names = new Set<string>();
  for (const [i, matcher] of matchers.entries()) {
    let picked = all.filter((name) => matcher!.test(name));
    if (picked.length === 0 && !filters[i]!.startsWith('@')) picked = all.filter((name) => name.startsWith('@') && matcher!.test(unscoped(name)));
    if (picked.length === 0) return undefined;
    for (const name of picked) names.add(name);
  }
  return names;
}

function declaredDeps(manifest: ProjectManifest): [string, string][] {
  const out: [string, string][] = [];
  for (const field of DEP_FIELDS) {
    const deps = manifest[field];
    if (deps && typeof deps === 'object') for (const [name, range] of Object.entries(deps)) out.push([name, typeof range === 'string' ? range : '*']);
  }
  return out;
}

/**
 * The dependency names (with the ranges asked for) reachable from the selected projects, grown
 * as pnpm reads each package's manifest: a package is read only after its parent was, so
 * whether it is in scope is known when readPackage sees it.
 */
export class InstallScope {
  private readonly ranges = new Map<string, Set<string>>();

  constructor(selected: ReadonlySet<string>, projects: ReadonlyMap<string, ProjectManifest>) {
    const queue = [...selected];
    const seen = new Set<string>();
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      if (seen.has(name)) continue;
      seen.add(name);
      const manifest = projects.get(name);
      if (!manifest) continue;
      for (const [dep, range] of declaredDeps(manifest)) {
        if (projects.has(dep)) queue.push(dep);
        else this.addRange(dep, range);
      }
    }
  }

  private addRange(name: string, range: string): void {
    let set = this.ranges.get(name);
    if (!set) this.ranges.set(name, (set = new Set()));
    set.add(range);
  }

  /** Whether this name@version can be one the selected projects use (a range that is no semver range matches any version). */
  includes(name: string, version: string, aliases: readonly string[] = []): boolean {
    for (const key of [name, ...aliases]) {
      for (const range of this.ranges.get(key) ?? []) {
        const plain = range.startsWith('npm:') ? range.slice(range.lastIndexOf('@') + 1) : range;
        if (validRange(plain) === null || satisfies(version, plain, { includePrerelease: true })) return true;
      }
    }
    return false;
  }

  /** A package in scope was read: its dependencies are in scope too. Returns their names. */
  grow(manifest: ProjectManifest): string[] {
    const deps = declaredDeps(manifest);
    for (const [dep, range] of deps) this.addRange(dep, range);
    return deps.map(([dep]) => dep);
  }
}

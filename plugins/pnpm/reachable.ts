/**
 * Which wanted-lockfile packages an install can still use: those reachable from the
 * dependencies the projects still declare. A package the user just removed from package.json
 * (or `pnpm remove`s) is still in the wanted lockfile when preResolution runs; checking it
 * would make a blocked package impossible to remove.
 */
import { posix } from 'node:path';
import { isObject as isObj, type JsonObject as Obj } from '../../src/json';
import { refTarget } from '../../src/lockfile/pnpm';
import { packageKey } from '../../src/lockfile/source';

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

/**
 * `name@version(peer…)` keys of the lockfile's `packages` reachable from the declared dependency
 * names; undefined when unknown. With `importers` (a filtered install), only from those importers
 * and the workspace projects they link to.
 */
export function reachablePackageKeys(lockfile: Obj, declared: ReadonlySet<string>, importers?: ReadonlySet<string>): Set<string> | undefined {
  const selected = importers;
  const packages = lockfile.packages;
  const allImporters = lockfile.importers;
  const snapshots = isObj(lockfile.snapshots) ? lockfile.snapshots : undefined;
  if (!isObj(allImporters) || !isObj(packages) || declared.size === 0) return undefined;
  return walk(allImporters, packages, snapshots, declared, selected);
}

/** The selected importers and every importer they reach through `link:` dependencies (all when none is selected). */
function startImporters(importers: Obj, selected: ReadonlySet<string> | undefined): string[] {
  if (!selected) return Object.keys(importers);
  const seen = new Set<string>();
  const queue = [...selected].filter((id) => id in importers);
  for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    const importer = importers[id];
    if (!isObj(importer)) continue;
    for (const field of DEP_FIELDS) {
      const deps = importer[field];
      if (!isObj(deps)) continue;
      for (const value of Object.values(deps)) {
        const ref = isObj(value) ? value.version : value;
        if (typeof ref !== 'string' || !ref.startsWith('link:')) continue;
        const target = posix.normalize(posix.join(id, ref.slice('link:'.length))).replace(/\/$/, '') || '.';
        if (target in importers) queue.push(target);
      }
    }
  }
  return [...seen];
}

function walk(importers: Obj, packages: Obj, snapshots: Obj | undefined, declared: ReadonlySet<string>, selected: ReadonlySet<string> | undefined): Set<string> {
  const seen = new Set<string>();
  const queue: string[] = [];
  const visit = (name: string, ref: unknown): void => {
    if (typeof ref !== 'string' || ref.startsWith('link:')) return;
    // A ref is a version (`1.0.0(peer@1)`) or a full depPath (aliases, git, file: `real@…`).
    const target = refTarget(name, ref);
    const key = target.name === name && !ref.startsWith(`${name}@`) ? packageKey(name, ref) : ref;
    if (seen.has(key)) return;
    seen.add(key);
    queue.push(key);
  };
  for (const id of startImporters(importers, selected)) {
    const importer = importers[id];
    if (!isObj(importer)) continue;
    for (const field of DEP_FIELDS) {
      const deps = importer[field];
      if (!isObj(deps)) continue;
      for (const [name, value] of Object.entries(deps)) {
        if (!declared.has(name)) continue;
        visit(name, isObj(value) ? value.version : value);
      }
    }
  }
  while (queue.length > 0) {
    const key = queue.pop()!;
    for (const source of [packages[key], snapshots?.[key]]) {
      if (!isObj(source)) continue;
      for (const field of ['dependencies', 'optionalDependencies'] as const) {
        const deps = source[field];
        if (isObj(deps)) for (const [name, ref] of Object.entries(deps)) visit(name, ref);
      }
    }
  }
  return seen;
}

/**
 * Which wanted-lockfile packages an install can still use: those reachable from the
 * dependencies the projects still declare. A package the user just removed from package.json
 * (or `pnpm remove`s) is still in the wanted lockfile when preResolution runs; checking it
 * would make a blocked package impossible to remove.
 */
import { isObject as isObj, type JsonObject as Obj } from '../../src/json';
import { refTarget } from '../../src/lockfile/pnpm';
import { packageKey } from '../../src/lockfile/source';

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

/** `name@version(peer…)` keys of the lockfile's `packages` reachable from the declared dependency names; undefined when unknown. */
export function reachablePackageKeys(lockfile: Obj, declared: ReadonlySet<string>): Set<string> | undefined {
  const importers = lockfile.importers;
  const packages = lockfile.packages;
  const snapshots = isObj(lockfile.snapshots) ? lockfile.snapshots : undefined;
  if (!isObj(importers) || !isObj(packages) || declared.size === 0) return undefined;
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
  for (const importer of Object.values(importers)) {
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

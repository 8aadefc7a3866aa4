/** `name@version` lists for `feed build --packages`. */
import npa from 'npm-package-arg';
import { valid as validSemver } from 'semver';
import { UsageError } from '../errors';
import type { ResolvedPackage } from '../types';

/**
 * Parses `name@version` specs (each entry may itself be comma-separated) into registry
 * packages. Anything but an exact version is a UsageError naming the spec.
 */
export function parsePackageSpecs(list: readonly string[]): ResolvedPackage[] {
  const out: ResolvedPackage[] = [];
  const seen = new Set<string>();
  for (const entry of list) {
    for (const raw of entry.split(',')) {
      const spec = raw.trim();
      if (!spec) continue;
      let parsed: ReturnType<typeof npa>;
      try {
        parsed = npa(spec);
      } catch (error) {
        throw new UsageError(`invalid package spec "${spec}": ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
      }
      const version = parsed.rawSpec ? validSemver(parsed.rawSpec) : null;
      if (parsed.type !== 'version' || !parsed.name || !version) {
        throw new UsageError(`invalid package spec "${spec}": expected name@version with an exact version (e.g. left-pad@1.3.0)`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
      }
      const key = `${parsed.name}@${version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ name: parsed.name, version, source: 'registry' });
    }
  }
  return out;
}

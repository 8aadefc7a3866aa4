import { satisfies, valid as validSemver, validRange } from 'semver';

/**
 * Package patterns as `exclude` and `overrides` use them:
 * `name`, `@scope/*` (any `*` glob in the name), or `name@semver-range`.
 */
export interface PackagePattern {
  readonly source: string;
  matches(name: string, version: string): boolean;
}

const NAME_CHARS = /^(?:@[a-z0-9*~][a-z0-9*._~-]*\/)?[a-z0-9*~][a-z0-9*._~-]*$/i;

function splitPattern(pattern: string): { name: string; range?: string } {
  const at = pattern.indexOf('@', pattern.startsWith('@') ? 1 : 0);
  if (at === -1) return { name: pattern };
  return { name: pattern.slice(0, at), range: pattern.slice(at + 1) };
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/[*]/g, '[^/]*');
  return new RegExp(`^${escaped}$`);
}

export function parsePackagePattern(pattern: string): { pattern?: PackagePattern; problem?: string } {
  const { name, range } = splitPattern(pattern.trim());
  if (!NAME_CHARS.test(name)) {
    return { problem: `"${pattern}" is not a package pattern (expected name, @scope/*, or name@semver-range)` };
  }
  const scope = /^@([^/]*)\//.exec(name)?.[1];
  if (scope !== undefined && scope !== scope.toLowerCase()) {
    return { problem: `"${pattern}": npm scopes are lower case, so it would match no package (write "@${scope.toLowerCase()}/…")` };
  }
  if (range !== undefined && (range === '' || validRange(range) === null)) {
    return { problem: `"${pattern}": "${range}" is not a semver range` };
  }
  const nameMatch = name.includes('*') ? globToRegExp(name) : undefined;
  return {
    pattern: {
      source: pattern,
      matches(pkgName: string, version: string): boolean {
        const nameOk = nameMatch ? nameMatch.test(pkgName) : pkgName === name;
        if (!nameOk) return false;
        if (range === undefined) return true;
        return validSemver(version) !== null && satisfies(version, range, { includePrerelease: true });
      },
    },
  };
}

/** Compiles a validated pattern list; invalid patterns were rejected by config validation. */
export function compilePatterns(patterns: readonly string[]): PackagePattern[] {
  return patterns.flatMap((p) => {
    const { pattern } = parsePackagePattern(p);
    return pattern ? [pattern] : [];
  });
}

/**
 * npm package name rules, as validate-npm-package-name applies them to existing packages
 * (old packages may have capitals or be longer than 214 characters, so those are allowed).
 * One check for feed records and lockfile entries.
 */
import { valid as validSemver } from 'semver';

/**
 * The common shape (lowercase, URL-safe, at most a scope): valid unless reserved, by the rules
 * below. Nearly every name in a lockfile has it, and a first `check` asks three times a package:
 * in a cold process the full rules cost several µs a call.
 */
const COMMON_NAME = /^(?:@[a-z0-9-][a-z0-9._~-]*\/)?[a-z0-9-][a-z0-9._~-]*$/;

export function packageNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'name must be a string';
  if (COMMON_NAME.test(name) && name !== 'node_modules' && name !== 'favicon.ico') return undefined;
  if (name.length === 0) return 'name is empty';
  if (name.trim() !== name) return `name ${JSON.stringify(name)} has leading or trailing spaces`;
  if (name.startsWith('.') || name.startsWith('_')) return `name ${JSON.stringify(name)} starts with "." or "_"`;
  if (name.toLowerCase() === 'node_modules' || name.toLowerCase() === 'favicon.ico') return `name ${JSON.stringify(name)} is reserved`;
  const scoped = /^@([^/]+)\/([^/]+)$/.exec(name);
  const parts = scoped ? [scoped[1]!, scoped[2]!] : [name];
  if (!scoped && name.includes('/')) return `name ${JSON.stringify(name)} is not a valid npm package name`;
  for (const part of parts) {
    if (part.startsWith('.') || part.startsWith('_') || encodeURIComponent(part) !== part) {
      return `name ${JSON.stringify(name)} is not a valid npm package name`;
    }
  }
  return undefined;
}

export function isValidPackageName(name: string): boolean {
  return packageNameProblem(name) === undefined;
}

/** `name@1.2.3` (scoped names too) → its parts; undefined unless the version is exact. */
export function splitExactSpec(spec: string): { name: string; version: string } | undefined {
  const at = spec.lastIndexOf('@');
  const name = at > 0 ? spec.slice(0, at) : '';
  const version = at > 0 ? spec.slice(at + 1) : '';
  return name && validSemver(version) ? { name, version } : undefined;
}

/** Helpers shared by the lockfile readers. */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { LockfileError } from '../errors';
import { escapeControl } from '../report/escape';
import type { ResolvedPackage } from '../types';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** A plain semver version (what a registry publishes), not a URL, path or git reference. */
export function isSemver(version: string): boolean {
  return SEMVER.test(version);
}

/** Splits `name@rest` where the name may be scoped (`@scope/name@rest`). */
export function splitNameAt(spec: string): { name: string; rest: string } | undefined {
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  if (at <= 0) return undefined;
  return { name: spec.slice(0, at), rest: spec.slice(at + 1) };
}

/** True when `target` is `dir` itself or lies below it. */
export function isInside(dir: string, target: string): boolean {
  const rel = relative(resolve(dir), resolve(dir, target));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** name/version of a local folder's package.json, when it can be read. */
export function readLocalManifest(dir: string): { name?: string; version?: string } {
  try {
    const manifest: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!isObject(manifest)) return {};
    const out: { name?: string; version?: string } = {};
    const name = str(manifest.name);
    const version = str(manifest.version);
    if (name) out.name = name;
    if (version) out.version = version;
    return out;
  } catch {
    return {};
  }
}

/** A registry tarball URL: `<registry>/<name>/-/<basename>-<version>.tgz`. */
export function isRegistryTarballUrl(url: string, name: string, version: string): boolean {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url).pathname);
  } catch {
    return false;
  }
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return pathname.endsWith(`/${name}/-/${base}-${version}.tgz`);
}

export function isGitSpec(spec: string): boolean {
  return /^(git\+|git:|git@|ssh:|github:|gitlab:|bitbucket:|gist:)/.test(spec) || /\.git(#|$)/.test(spec) || spec.includes('#commit=');
}

/** Hosted-git tarballs (pnpm resolves hosted git dependencies to these). */
export function isHostedGitTarball(url: string): boolean {
  return /^https:\/\/(codeload\.github\.com|gitlab\.com\/[^?#]+\/-\/archive|bitbucket\.org\/[^?#]+\/get)\//.test(url);
}

/** Keeps the first package per name@version@source@resolved; fills a missing alias/integrity from later ones. */
export function dedupe(packages: ResolvedPackage[]): ResolvedPackage[] {
  const seen = new Map<string, ResolvedPackage>();
  for (const pkg of packages) {
    const key = `${pkg.name}@${pkg.version}\0${pkg.source}\0${pkg.resolved ?? ''}`;
    const prev = seen.get(key);
    if (!prev) {
      seen.set(key, pkg);
      continue;
    }
    if (prev.alias === undefined && pkg.alias !== undefined) prev.alias = pkg.alias;
    if (prev.integrity === undefined && pkg.integrity !== undefined) prev.integrity = pkg.integrity;
  }
  return [...seen.values()];
}

export function make(pkg: ResolvedPackage): ResolvedPackage {
  const out: ResolvedPackage = { name: pkg.name, version: pkg.version, source: pkg.source };
  if (pkg.integrity !== undefined) out.integrity = pkg.integrity;
  if (pkg.resolved !== undefined) out.resolved = pkg.resolved;
  if (pkg.alias !== undefined && pkg.alias !== pkg.name) out.alias = pkg.alias;
  return out;
}

/**
 * Throws the LockfileError for a problem in `file`. Problems quote lockfile keys, so control
 * characters in them are escaped here. The default code is ERR_PG_LOCKFILE_INVALID (content the
 * reader cannot use); parse, version and not-found problems pass their own.
 */
export function fail(file: string | undefined, problem: string, code = 'ERR_PG_LOCKFILE_INVALID'): never {
  throw new LockfileError(`${file ?? 'lockfile'}: ${escapeControl(problem)}`, file === undefined ? { code } : { file, code });
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

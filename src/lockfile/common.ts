/** Helpers shared by the lockfile readers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LockfileError } from '../errors';
import { isObject } from '../json';
import { packageNameProblem } from '../package-name';
import { escapeControl } from '../report/escape';
import type { ResolvedPackage } from '../types';
import { packageKey } from './source';

export { isObject, type JsonObject } from '../json';
export { isInside, splitNameAt } from './source';

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** A plain semver version (what a registry publishes), not a URL, path or git reference. */
export function isSemver(version: string): boolean {
  return SEMVER.test(version);
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

/**
 * Keeps the first package per name@version@source@resolved@integrity; fills a missing alias (how it
 * is shown) from later ones. Entries that differ in integrity stay apart: each is installed from
 * its own entry, so one without an integrity must never borrow another's (it would pass as bound
 * while npm fetches it by whatever its entry names).
 */
export function dedupe(packages: ResolvedPackage[]): ResolvedPackage[] {
  const seen = new Map<string, ResolvedPackage>();
  for (const pkg of packages) {
    const key = `${packageKey(pkg.name, pkg.version)}\0${pkg.source}\0${pkg.resolved ?? ''}\0${pkg.integrity ?? ''}`;
    const prev = seen.get(key);
    if (!prev) {
      seen.set(key, pkg);
      continue;
    }
    if (prev.alias === undefined && pkg.alias !== undefined) prev.alias = pkg.alias;
  }
  return [...seen.values()];
}

/**
 * A checked package: a name that is not a valid npm name, or a registry package whose version
 * is not a plain semver version, is an error naming the file and the entry (never evaluated).
 */
export function make(pkg: ResolvedPackage, where?: { file: string | undefined; entry: string }): ResolvedPackage {
  if (where) checkEntry(pkg, where.file, where.entry);
  const out: ResolvedPackage = { name: pkg.name, version: pkg.version, source: pkg.source };
  if (pkg.integrity !== undefined) out.integrity = pkg.integrity;
  if (pkg.resolved !== undefined) out.resolved = pkg.resolved;
  if (pkg.alias !== undefined && pkg.alias !== pkg.name) out.alias = pkg.alias;
  return out;
}

function checkEntry(pkg: ResolvedPackage, file: string | undefined, entry: string): void {
  if (pkg.source === 'workspace') return;
  const nameProblem = packageNameProblem(pkg.name);
  if (nameProblem) failEntry(file, entry, nameProblem);
  if (pkg.alias !== undefined && packageNameProblem(pkg.alias)) failEntry(file, entry, `alias ${JSON.stringify(pkg.alias)} is not a valid npm package name`);
  if (pkg.source === 'registry' && !isSemver(pkg.version)) failEntry(file, entry, `version ${JSON.stringify(pkg.version)} is not a semver version`);
}

/** An entry that cannot be trusted: ERR_PG_LOCKFILE_ENTRY, naming the file and the entry. */
export function failEntry(file: string | undefined, entry: string, problem: string): never {
  throw new LockfileError(`${file ?? 'lockfile'}: entry ${escapeControl(JSON.stringify(entry))}: ${escapeControl(problem)}`, { code: 'ERR_PG_LOCKFILE_ENTRY', ...(file === undefined ? {} : { file }) });
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
  // Past the end charCodeAt is NaN, never a newline: no length check needed.
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

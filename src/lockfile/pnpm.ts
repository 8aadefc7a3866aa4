/**
 * pnpm-lock.yaml v6 (`/name@1.0.0(peer@1.0.0)` keys) and v9 (`name@1.0.0` packages +
 * snapshots), and pnpm's in-memory lockfile (a pnpmfile `preResolution` hook's
 * `wantedLockfile`: v9 shape whose `packages` keys may carry peer suffixes).
 *
 * As pnpm itself does, the package name comes from the key (the dependency path), never from
 * an entry's `name:` field, which is read only for keys that carry no name; the version is the
 * entry's `version:` or the key's. A tarball URL is the registry only when it is the
 * configured registry's URL for that name@version (source.ts).
 *
 * A git, tarball or `file:` package's key carries the name in its own package.json (free text:
 * `pnpm-plugin-x@https://host/x.tgz`); pnpm installs it under each dependency key that refers to
 * it (`evil: pnpm-plugin-x@https://host/x.tgz` → node_modules/evil). Those keys are its names,
 * one package each, so `exclude` and `overrides` skip it only when they cover every one.
 */
import { join, posix, resolve } from 'node:path';
import type { ResolvedPackage } from '../types';
import { dedupe, fail, isInside, isObject, isSemver, make, readLocalManifest, str, type JsonObject } from './common';
import { npmRegistriesFor } from './registries';
import { classifySpec, packageKey, pnpmTarballSource, splitNameAt, type Registries, type SourceClass } from './source';

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

export interface PnpmReadOptions {
  /** Default: the npm configuration (.npmrc) of the lockfile's directory, as pnpm reads it. */
  registries?: Registries;
}

export interface DepPath {
  name: string;
  /** The version (or non-semver reference) without the peer/patch suffix. */
  version: string;
}

/**
 * The one parser of pnpm dependency paths: `name@version(peer@1)(peer@2)`, v6's `/name@version`,
 * and the refs in `dependencies` maps that name another package (`real@1.0.0`, aliases).
 */
export function parseDepPath(key: string): DepPath | undefined {
  const split = splitNameAt(key.startsWith('/') ? key.slice(1) : key);
  if (!split || split.rest === '') return undefined;
  return { name: split.name, version: stripPeers(split.rest) };
}

/** A dependency ref: a version of `depName` (`1.0.0(peer@1)`), or a dependency path naming another package. */
export function refTarget(depName: string, ref: string): DepPath {
  const bare = stripPeers(ref);
  if (/^[a-z+]+:/.test(bare) || !bare.includes('@')) return { name: depName, version: bare };
  return parseDepPath(bare) ?? { name: depName, version: bare };
}

/** A version, ref or dependency path without its peer suffix: `x(peer@1)(peer@2)` → `x`. */
export function stripPeers(version: string): string {
  const paren = version.indexOf('(');
  return paren === -1 ? version : version.slice(0, paren);
}

function checkVersion(lockfile: JsonObject, file: string | undefined): void {
  const raw = lockfile.lockfileVersion;
  // The in-memory lockfile always carries a version too; a missing one is not a pnpm lockfile.
  if (raw === undefined) fail(file, 'missing lockfileVersion (is this a pnpm-lock.yaml?)', 'ERR_PG_LOCKFILE_UNSUPPORTED');
  const version = String(raw);
  if (!/^(6|9)(\.\d+)?$/.test(version)) fail(file, `unsupported pnpm lockfileVersion ${version} (supported: 6.0, 6.1, 9.0)`, 'ERR_PG_LOCKFILE_UNSUPPORTED');
}

interface Context {
  lockfileDir: string;
  file: string | undefined;
  registries: Registries;
  /** `real@version` → the alias it is installed under. */
  aliases: Map<string, string>;
  /** `name@version` (as the refs name it) → every dependency key that refers to it. */
  installedAs: Map<string, Set<string>>;
}

function noteDeps(context: Context, deps: unknown): void {
  if (!isObject(deps)) return;
  for (const [depName, value] of Object.entries(deps)) {
    const ref = isObject(value) ? str(value.version) : str(value);
    if (!ref || ref.startsWith('link:')) continue;
    const target = refTarget(depName, ref);
    const id = packageKey(target.name, target.version);
    if (target.name !== depName) context.aliases.set(id, depName);
    let keys = context.installedAs.get(id);
    if (!keys) context.installedAs.set(id, (keys = new Set()));
    keys.add(depName);
  }
}

function readContext(lockfile: JsonObject, importers: JsonObject, packages: JsonObject, lockfileDir: string, file: string | undefined, registries: Registries): Context {
  const context: Context = { lockfileDir, file, registries, aliases: new Map(), installedAs: new Map() };
  for (const importer of Object.values(importers)) {
    if (!isObject(importer)) continue;
    for (const field of DEP_FIELDS) noteDeps(context, importer[field]);
  }
  for (const source of [packages, isObject(lockfile.snapshots) ? lockfile.snapshots : {}]) {
    for (const entry of Object.values(source)) {
      if (!isObject(entry)) continue;
      noteDeps(context, entry.dependencies);
      noteDeps(context, entry.optionalDependencies);
    }
  }
  return context;
}

/** git, a directory, a runtime binary, a tarball, or the registry (integrity only). */
function resolutionSource(key: string, name: string, version: string, resolution: JsonObject, context: Context): SourceClass {
  const tarball = str(resolution.tarball);
  if (resolution.type === 'git') {
    const repo = str(resolution.repo);
    const commit = str(resolution.commit);
    if (!repo || !commit) return fail(context.file, `git package "${key}" needs resolution.repo and resolution.commit`);
    return { source: 'git', resolved: `${repo}#${commit}` };
  }
  if (resolution.type === 'directory') {
    const directory = str(resolution.directory);
    if (!directory) return fail(context.file, `package "${key}" needs resolution.directory`);
    return { source: 'file', resolved: directory };
  }
  if (resolution.type === 'variations' || resolution.type === 'binary') {
    // A runtime such as `node@runtime:24.4.1`: platform binaries, not an npm package.
    const first: unknown = Array.isArray(resolution.variants) ? resolution.variants[0] : undefined;
    const url = str(resolution.url) ?? (isObject(first) && isObject(first.resolution) ? str(first.resolution.url) : undefined);
    return { source: 'tarball', resolved: url ?? version };
  }
  if (resolution.type !== undefined) return { source: 'file', resolved: String(resolution.type) };
  return pnpmTarballSource(tarball, name, version, context.registries);
}

function lockfilePackages(key: string, entry: unknown, context: Context): ResolvedPackage[] {
  if (!isObject(entry)) return fail(context.file, `package "${key}" must be a mapping`);
  const parsed = parseDepPath(key);
  const name = parsed?.name ?? str(entry.name);
  if (!name) return fail(context.file, `cannot read a package name from "${key}"`);
  const keyVersion = parsed?.version ?? key;
  const resolution = entry.resolution;
  if (!isObject(resolution)) return fail(context.file, `package "${key}" has no resolution`);
  let version = str(entry.version) ?? keyVersion;
  const kind = resolutionSource(key, name, version, resolution, context);
  if (kind.source === 'file' && resolution.type === 'directory' && !isSemver(version)) {
    version = readLocalManifest(join(context.lockfileDir, kind.resolved!)).version ?? version;
  }
  const integrity = str(resolution.integrity);
  const found = { version, source: kind.source, ...(integrity ? { integrity } : {}), ...(kind.resolved ? { resolved: kind.resolved } : {}) };
  if (kind.source !== 'registry') {
    // Not the registry's name@version: the name in its package.json decides nothing, the keys it is installed under do.
    const keys = context.installedAs.get(packageKey(name, keyVersion)) ?? context.installedAs.get(packageKey(name, version));
    if (keys) return [...keys].sort().map((installed) => make({ name: installed, ...found }, { file: context.file, entry: key }));
  }
  const alias = context.aliases.get(packageKey(name, keyVersion)) ?? context.aliases.get(packageKey(name, version));
  return [make({ name, ...found, ...(alias ? { alias } : {}) }, { file: context.file, entry: key })];
}

/**
 * A `link:` dependency outside the workspace, for `check` and the pnpm hook alike: named by the
 * key it is linked at (node_modules/<key>), as a git, tarball or `file:` package is; its folder's
 * package.json (free text, anything a path can reach) gives only the version. `target` is the
 * folder, relative to the lockfile's directory or absolute.
 */
export function linkPackage(depName: string, target: string, ref: string, lockfileDir: string): ResolvedPackage {
  const manifest = readLocalManifest(resolve(lockfileDir, target));
  return { name: depName, version: manifest.version ?? ref, source: 'link', resolved: target };
}

/** `link:` dependencies of the importers: into the project → workspace folders, else link packages (linkPackage). */
function linkedPackages(importers: JsonObject, context: Context, workspaceNames: Map<string, string>): ResolvedPackage[] {
  const importerIds = new Set(Object.keys(importers).map((id) => posix.normalize(id)));
  const out: ResolvedPackage[] = [];
  for (const [importerId, importer] of Object.entries(importers)) {
    if (!isObject(importer)) continue;
    for (const field of DEP_FIELDS) {
      const deps = importer[field];
      if (!isObject(deps)) continue;
      for (const [depName, value] of Object.entries(deps)) {
        const ref = isObject(value) ? str(value.version) : str(value);
        if (!ref?.startsWith('link:')) continue;
        const kind = classifySpec(ref, { projectDir: context.lockfileDir, from: importerId });
        const target = kind.resolved ?? ref;
        if (kind.source === 'workspace' || importerIds.has(target) || isInside(context.lockfileDir, target)) {
          if (!workspaceNames.has(target)) workspaceNames.set(target, depName);
          continue;
        }
        out.push(make(linkPackage(depName, target, ref, context.lockfileDir), { file: context.file, entry: `${importerId}: ${depName}` }));
      }
    }
  }
  return out;
}

/** Workspace projects (importers other than the root) and `link:` dependencies. */
function localPackages(importers: JsonObject, context: Context): ResolvedPackage[] {
  const workspaceNames = new Map<string, string>();
  const out = linkedPackages(importers, context, workspaceNames);
  for (const id of new Set([...Object.keys(importers).map((i) => posix.normalize(i)), ...workspaceNames.keys()])) {
    if (id === '.') continue;
    const manifest = readLocalManifest(join(context.lockfileDir, id));
    out.push(make({ name: manifest.name ?? workspaceNames.get(id) ?? id, version: manifest.version ?? '0.0.0', source: 'workspace', resolved: id }));
  }
  return out;
}

export function packagesFromPnpmLockfile(lockfile: unknown, lockfileDir: string, file?: string, options: PnpmReadOptions = {}): ResolvedPackage[] {
  if (!isObject(lockfile)) return fail(file, 'expected a YAML mapping at the top level');
  // pnpm 12 hands a preResolution hook `{}` when it has no (or skips its) wanted lockfile.
  if (Object.keys(lockfile).length === 0) return [];
  checkVersion(lockfile, file);
  const packages = lockfile.packages ?? {};
  const importers = lockfile.importers ?? (isObject(lockfile.dependencies) || isObject(lockfile.devDependencies) ? { '.': lockfile } : {});
  if (!isObject(packages)) return fail(file, '"packages" must be a mapping');
  if (!isObject(importers)) return fail(file, '"importers" must be a mapping');
  const context = readContext(lockfile, importers, packages, lockfileDir, file, options.registries ?? npmRegistriesFor(lockfileDir));
  const out = Object.entries(packages).flatMap(([key, entry]) => lockfilePackages(key, entry, context));
  out.push(...localPackages(importers, context));
  return dedupe(out);
}

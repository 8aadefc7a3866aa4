/**
 * pnpm-lock.yaml v6 (`/name@1.0.0(peer@1.0.0)` keys) and v9 (`name@1.0.0` packages +
 * snapshots), and pnpm's in-memory lockfile (a pnpmfile `preResolution` hook's
 * `wantedLockfile`: v9 shape whose `packages` keys may carry peer suffixes).
 */
import { join, posix } from 'node:path';
import type { ResolvedPackage, SourceKind } from '../types';
import { dedupe, fail, isHostedGitTarball, isInside, isObject, isSemver, make, readLocalManifest, splitNameAt, str, type JsonObject } from './common';

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

/** `name@version(peer@1)(peer@2)` → name and version without the peer/patch suffix. */
function parseDepPath(key: string, v6: boolean): { name: string; version: string } | undefined {
  let path = key;
  if (v6 && path.startsWith('/')) path = path.slice(1);
  const split = splitNameAt(path);
  if (!split) return undefined;
  return { name: split.name, version: stripPeers(split.rest) };
}

function stripPeers(version: string): string {
  const paren = version.indexOf('(');
  return paren === -1 ? version : version.slice(0, paren);
}

function checkVersion(lockfile: JsonObject, file: string | undefined): boolean {
  const raw = lockfile.lockfileVersion;
  // The in-memory lockfile always carries a version too; a missing one is not a pnpm lockfile.
  if (raw === undefined) fail(file, 'missing lockfileVersion (is this a pnpm-lock.yaml?)', 'ERR_PG_LOCKFILE_UNSUPPORTED');
  const version = String(raw);
  if (/^6(\.\d+)?$/.test(version)) return true;
  if (/^9(\.\d+)?$/.test(version)) return false;
  return fail(file, `unsupported pnpm lockfileVersion ${version} (supported: 6.0, 6.1, 9.0)`, 'ERR_PG_LOCKFILE_UNSUPPORTED');
}

export function packagesFromPnpmLockfile(lockfile: unknown, lockfileDir: string, file?: string): ResolvedPackage[] {
  if (!isObject(lockfile)) return fail(file, 'expected a YAML mapping at the top level');
  // pnpm 12 hands a preResolution hook `{}` when it has no (or skips its) wanted lockfile.
  if (Object.keys(lockfile).length === 0) return [];
  const v6 = checkVersion(lockfile, file);
  const packages = lockfile.packages ?? {};
  const importers = lockfile.importers ?? (isObject(lockfile.dependencies) || isObject(lockfile.devDependencies) ? { '.': lockfile } : {});
  if (!isObject(packages)) return fail(file, '"packages" must be a mapping');
  if (!isObject(importers)) return fail(file, '"importers" must be a mapping');

  // Aliases: a dependency whose resolved version is `real@1.0.0` (v6: `/real@1.0.0`).
  const aliases = new Map<string, string>();
  // Registry packages that a project declared by tarball URL (pnpm stores them as registry ones).
  const urlDeclared = new Map<string, string>();
  // The file format has `{specifier, version}` per dependency; pnpm's in-memory importers keep
  // `dependencies: {name: version}` next to `specifiers: {name: specifier}`.
  const noteDeps = (deps: unknown, withSpecifier: boolean, specifiers?: unknown): void => {
    if (!isObject(deps)) return;
    for (const [depName, value] of Object.entries(deps)) {
      const ref = withSpecifier && isObject(value) ? str(value.version) : str(value);
      if (!ref || ref.startsWith('link:')) continue;
      const bare = stripPeers(ref);
      if (!/^[a-z+]+:/.test(bare) && bare.includes('@')) {
        const target = parseDepPath(bare, true);
        if (target && target.name !== depName) aliases.set(`${target.name}@${target.version}`, depName);
      }
      const specifier = withSpecifier ? (isObject(value) ? str(value.specifier) : isObject(specifiers) ? str(specifiers[depName]) : undefined) : undefined;
      if (specifier && /^https?:/.test(specifier) && isSemver(bare)) urlDeclared.set(`${depName}@${bare}`, specifier);
    }
  };
  for (const importer of Object.values(importers)) {
    if (!isObject(importer)) continue;
    for (const field of DEP_FIELDS) noteDeps(importer[field], true, importer.specifiers);
  }
  const snapshotSources = [packages, isObject(lockfile.snapshots) ? lockfile.snapshots : {}];
  for (const source of snapshotSources) {
    for (const entry of Object.values(source)) {
      if (!isObject(entry)) continue;
      noteDeps(entry.dependencies, false);
      noteDeps(entry.optionalDependencies, false);
    }
  }

  const out: ResolvedPackage[] = [];
  for (const [key, entry] of Object.entries(packages)) {
    if (!isObject(entry)) return fail(file, `package "${key}" must be a mapping`);
    const parsed = parseDepPath(key, v6);
    const name = str(entry.name) ?? parsed?.name;
    if (!name) return fail(file, `cannot read a package name from "${key}"`);
    const keyVersion = parsed?.version ?? key;
    const resolution = entry.resolution;
    if (!isObject(resolution)) return fail(file, `package "${key}" has no resolution`);
    const integrity = str(resolution.integrity);
    const tarball = str(resolution.tarball);
    let source: SourceKind;
    let resolved: string | undefined;
    let version = str(entry.version) ?? keyVersion;
    if (resolution.type === 'git') {
      const repo = str(resolution.repo);
      const commit = str(resolution.commit);
      if (!repo || !commit) return fail(file, `git package "${key}" needs resolution.repo and resolution.commit`);
      source = 'git';
      resolved = `${repo}#${commit}`;
    } else if (resolution.type === 'directory') {
      const directory = str(resolution.directory);
      if (!directory) return fail(file, `package "${key}" needs resolution.directory`);
      source = 'file';
      resolved = directory;
      if (!isSemver(version)) version = readLocalManifest(join(lockfileDir, directory)).version ?? version;
    } else if (resolution.type === 'variations' || resolution.type === 'binary') {
      // A runtime such as `node@runtime:24.4.1`: platform binaries, not an npm package.
      const variants = Array.isArray(resolution.variants) ? resolution.variants : [];
      const first: unknown = variants[0];
      const url = str(resolution.url) ?? (isObject(first) && isObject(first.resolution) ? str(first.resolution.url) : undefined);
      source = 'tarball';
      resolved = url ?? keyVersion;
    } else if (tarball) {
      if (tarball.startsWith('file:')) source = 'file';
      else if (isHostedGitTarball(tarball)) source = 'git';
      else if (!integrity || !isSemver(keyVersion)) source = 'tarball';
      else source = 'registry'; // a package from a non-default registry keeps its tarball URL
      if (source !== 'registry') resolved = tarball;
    } else if (integrity) {
      source = 'registry';
    } else {
      return fail(file, `package "${key}" has a resolution without integrity, tarball, git or directory`);
    }
    const declaredUrl = source === 'registry' ? urlDeclared.get(`${name}@${version}`) : undefined;
    if (declaredUrl) {
      source = 'tarball';
      resolved = declaredUrl;
    }
    const alias = aliases.get(`${name}@${keyVersion}`) ?? aliases.get(`${name}@${version}`);
    out.push(make({ name, version, source, ...(integrity ? { integrity } : {}), ...(resolved ? { resolved } : {}), ...(alias ? { alias } : {}) }));
  }

  // Workspace projects (importers other than the root) and `link:` dependencies.
  const importerIds = new Set(Object.keys(importers).map((id) => posix.normalize(id)));
  const linkNames = new Map<string, string>();
  for (const [importerId, importer] of Object.entries(importers)) {
    if (!isObject(importer)) continue;
    for (const field of DEP_FIELDS) {
      const deps = importer[field];
      if (!isObject(deps)) continue;
      for (const [depName, value] of Object.entries(deps)) {
        const ref = isObject(value) ? str(value.version) : str(value);
        if (!ref?.startsWith('link:')) continue;
        const target = posix.normalize(posix.join(importerId, ref.slice('link:'.length)));
        if (importerIds.has(target) || isInside(lockfileDir, target)) {
          if (!linkNames.has(target)) linkNames.set(target, depName);
          continue;
        }
        const manifest = readLocalManifest(join(lockfileDir, target));
        out.push(make({ name: manifest.name ?? depName, version: manifest.version ?? ref, source: 'link', resolved: target }));
      }
    }
  }
  for (const id of new Set([...importerIds, ...linkNames.keys()])) {
    if (id === '.') continue;
    const manifest = readLocalManifest(join(lockfileDir, id));
    out.push(make({ name: manifest.name ?? linkNames.get(id) ?? id, version: manifest.version ?? '0.0.0', source: 'workspace', resolved: id }));
  }
  return dedupe(out);
}

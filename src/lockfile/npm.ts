/** package-lock.json / npm-shrinkwrap.json, lockfileVersion 2 and 3 (the `packages` map). */
import { posix } from 'node:path';
import type { ResolvedPackage, SourceKind } from '../types';
import { dedupe, fail, isGitSpec, isInside, isObject, isRegistryTarballUrl, make, str, type JsonObject } from './common';

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

/** The installed-as name of `…/node_modules/<name>`. */
function nameFromPath(path: string): string | undefined {
  const at = path.lastIndexOf('node_modules/');
  if (at === -1) return undefined;
  return path.slice(at + 'node_modules/'.length) || undefined;
}

/** Matches a folder against the root's `workspaces` globs (`*` one segment, `**` any depth). */
function workspaceMatcher(patterns: string[]): (path: string) => boolean {
  const regexes = patterns.map((pattern) => {
    const clean = posix.normalize(pattern.replace(/^\.\//, '')).replace(/\/$/, '');
    const source = clean
      .split('/')
      .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
      .join('/');
    return new RegExp(`^${source}$`);
  });
  return (path) => regexes.some((r) => r.test(path));
}

function rootWorkspaces(root: JsonObject | undefined): string[] {
  const ws = root?.workspaces;
  if (Array.isArray(ws)) return ws.filter((w): w is string => typeof w === 'string');
  if (isObject(ws) && Array.isArray(ws.packages)) return ws.packages.filter((w): w is string => typeof w === 'string');
  return [];
}

export function packagesFromPackageLock(lockfile: unknown, lockfileDir: string, file?: string): ResolvedPackage[] {
  if (!isObject(lockfile)) return fail(file, 'expected a JSON object at the top level');
  const version = lockfile.lockfileVersion;
  if (version === 1 || (version === undefined && isObject(lockfile.dependencies))) {
    return fail(file, 'lockfileVersion 1 (npm 6 and older) is not supported; run `npm install --package-lock-only` with npm 7+ to upgrade it to version 3', 'ERR_PG_LOCKFILE_UNSUPPORTED');
  }
  if (version !== 2 && version !== 3) return fail(file, `unsupported package-lock lockfileVersion ${JSON.stringify(version)} (supported: 2, 3)`, 'ERR_PG_LOCKFILE_UNSUPPORTED');
  const packages = lockfile.packages;
  if (!isObject(packages)) return fail(file, `lockfileVersion ${version} without a "packages" map`);
  const root = isObject(packages['']) ? packages[''] : undefined;
  const isWorkspace = workspaceMatcher(rootWorkspaces(root));

  // Every URL a package declared as a dependency spec: a tarball URL dependency keeps its
  // `resolved` even when it has the registry's `/-/` form.
  const urlSpecs = new Set<string>();
  for (const entry of Object.values(packages)) {
    if (!isObject(entry)) continue;
    for (const field of DEP_FIELDS) {
      const deps = entry[field];
      if (!isObject(deps)) continue;
      for (const spec of Object.values(deps)) if (typeof spec === 'string' && /^https?:/.test(spec)) urlSpecs.add(spec);
    }
  }

  // Names the link entries give their targets (for targets without a `name`).
  const linkNames = new Map<string, string>();
  for (const [path, entry] of Object.entries(packages)) {
    if (!isObject(entry) || entry.link !== true) continue;
    const target = str(entry.resolved);
    const name = nameFromPath(path);
    if (target && name && !linkNames.has(target)) linkNames.set(posix.normalize(target), name);
  }

  const out: ResolvedPackage[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (path === '') continue;
    if (!isObject(entry)) return fail(file, `package "${path}" must be an object`);
    if (entry.link === true) continue; // a symlink to a folder entry, reported there
    const installedAs = nameFromPath(path);
    const name = str(entry.name) ?? installedAs ?? linkNames.get(posix.normalize(path));
    if (!name) return fail(file, `package "${path}" has no name`);
    const entryVersion = str(entry.version);
    const integrity = str(entry.integrity);
    const resolved = str(entry.resolved);

    if (installedAs === undefined) {
      // A folder of the project or outside it: a workspace, a `file:` folder, or a link target.
      const folder = posix.normalize(path);
      const source: SourceKind = !isInside(lockfileDir, folder) ? 'link' : isWorkspace(folder) ? 'workspace' : 'file';
      out.push(make({ name, version: entryVersion ?? '0.0.0', source, resolved: folder }));
      continue;
    }
    if (!entryVersion) return fail(file, `package "${path}" has no version`);
    let source: SourceKind = 'registry';
    let keepResolved = false;
    if (resolved === undefined) source = 'registry'; // npm may omit registry URLs (omit-lockfile-registry-resolved)
    else if (isGitSpec(resolved)) source = 'git';
    else if (resolved.startsWith('file:')) source = 'file';
    else if (/^https?:/.test(resolved)) source = urlSpecs.has(resolved) || !isRegistryTarballUrl(resolved, name, entryVersion) ? 'tarball' : 'registry';
    else source = 'file';
    if (source !== 'registry') keepResolved = true;
    out.push(
      make({
        name,
        version: entryVersion,
        source,
        ...(integrity ? { integrity } : {}),
        ...(keepResolved && resolved ? { resolved } : {}),
        ...(installedAs !== name ? { alias: installedAs } : {}),
      }),
    );
  }
  return dedupe(out);
}

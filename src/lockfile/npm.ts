/**
 * package-lock.json / npm-shrinkwrap.json, lockfileVersion 2 and 3 (the `packages` map).
 *
 * The name that decides is the one npm installs: the entry's path (`node_modules/<name>`),
 * except that an entry without `resolved` is fetched from the registry by its `name` field.
 * With a `resolved`, a `name` field that differs from the path is an alias only when some
 * package declares that dependency as `npm:<name>@…`; otherwise it is ignored (npm places the
 * tarball at the path whatever the field says). A `resolved` URL is the registry only when it is the
 * configured registry's URL for that name@version (source.ts).
 */
import { posix } from 'node:path';
import type { ResolvedPackage } from '../types';
import { dedupe, fail, isInside, isObject, make, str, type JsonObject } from './common';
import { workspaceMatcher, workspacePatterns } from './npm-workspaces';
import { classifySpec, declaredUrlSource, DEFAULT_REGISTRIES, splitNameAt, urlPackage, type Registries, type SourceClass } from './source';

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

export interface NpmReadOptions {
  registries?: Registries;
}

/** What the lockfile's packages declare, needed to read the others. */
interface Context {
  lockfileDir: string;
  file: string | undefined;
  registries: Registries;
  /** URLs declared as dependency specs: such a dependency stays a tarball whatever its URL. */
  urlSpecs: Set<string>;
  /** `installedAs\0real` for every `installedAs: npm:real@…` dependency spec. */
  aliases: Set<string>;
  /** Link target folder → the names the links to it give it (npm links the folder at each). */
  linkNames: Map<string, string[]>;
  isWorkspace: (folder: string) => boolean;
}

/** The installed-as name of `…/node_modules/<name>`. */
function nameFromPath(path: string): string | undefined {
  const at = path.lastIndexOf('node_modules/');
  if (at === -1) return undefined;
  return path.slice(at + 'node_modules/'.length) || undefined;
}

/** The `packages` map of a supported lockfile version. */
function packagesMap(lockfile: unknown, file: string | undefined): JsonObject {
  if (!isObject(lockfile)) return fail(file, 'expected a JSON object at the top level');
  const version = lockfile.lockfileVersion;
  if (version === 1 || (version === undefined && isObject(lockfile.dependencies))) {
    return fail(file, 'lockfileVersion 1 (npm 6 and older) is not supported; run `npm install --package-lock-only` with npm 7+ to upgrade it to version 3', 'ERR_PG_LOCKFILE_UNSUPPORTED');
  }
  if (version !== 2 && version !== 3) return fail(file, `unsupported package-lock lockfileVersion ${JSON.stringify(version)} (supported: 2, 3)`, 'ERR_PG_LOCKFILE_UNSUPPORTED');
  const packages = lockfile.packages;
  if (!isObject(packages)) return fail(file, `lockfileVersion ${version} without a "packages" map`);
  return packages;
}

function noteDeclarations(entry: JsonObject, urlSpecs: Set<string>, aliases: Set<string>): void {
  for (const field of DEP_FIELDS) {
    const deps = entry[field];
    if (!isObject(deps)) continue;
    for (const [depName, spec] of Object.entries(deps)) {
      if (typeof spec !== 'string') continue;
      if (/^https?:/.test(spec)) urlSpecs.add(spec);
      if (spec.startsWith('npm:')) aliases.add(`${depName}\0${splitNameAt(spec.slice(4))?.name ?? spec.slice(4)}`);
    }
  }
}

function readContext(packages: JsonObject, lockfileDir: string, file: string | undefined, registries: Registries): Context {
  const root = isObject(packages['']) ? packages[''] : undefined;
  const context: Context = { lockfileDir, file, registries, urlSpecs: new Set(), aliases: new Set(), linkNames: new Map(), isWorkspace: workspaceMatcher(workspacePatterns(root)) };
  for (const [path, entry] of Object.entries(packages)) {
    if (!isObject(entry)) continue;
    noteDeclarations(entry, context.urlSpecs, context.aliases);
    const target = entry.link === true ? str(entry.resolved) : undefined;
    const name = nameFromPath(path);
    if (target && name) {
      const names = context.linkNames.get(posix.normalize(target)) ?? [];
      if (!names.includes(name)) names.push(name);
      context.linkNames.set(posix.normalize(target), names);
    }
  }
  return context;
}

/**
 * A folder of the project or outside it: a workspace, a `file:` folder, or a link target. npm
 * symlinks it at each `node_modules/<name>` link entry that points to it: those paths are the
 * names it is installed as, one package each. The folder entry's own `name` field is free text
 * (npm links the folder whatever it says): it names only a folder no link points to.
 */
function folderPackages(path: string, entry: JsonObject, context: Context): ResolvedPackage[] {
  const folder = posix.normalize(path);
  const linked = context.linkNames.get(folder);
  const names = linked ?? [str(entry.name)];
  const source = !isInside(context.lockfileDir, folder) ? 'link' : context.isWorkspace(folder) ? 'workspace' : 'file';
  return names.map((name) => {
    if (!name) return fail(context.file, `package "${path}" has no name`);
    return make({ name, version: str(entry.version) ?? '0.0.0', source, resolved: folder }, { file: context.file, entry: path });
  });
}

/**
 * The name npm installs at `installedAs`. Without a `resolved` npm 11 fetches
 * `<name field>@<version>` from the registry (arborist reify: `node.package.name`, which a
 * lockfile entry's `name` sets) and places it at the path: that name is what is installed,
 * declared or not. With a `resolved` npm fetches that URL under the path's name, so a `name`
 * field is the real name only of a declared alias (the URL is then judged for that name).
 */
function installedName(installedAs: string, entry: JsonObject, context: Context): { name: string; alias?: string } {
  const claimed = str(entry.name);
  if (claimed === undefined || claimed === installedAs) return { name: installedAs };
  if (str(entry.resolved) === undefined) return { name: claimed, alias: installedAs };
  if (context.aliases.has(`${installedAs}\0${claimed}`)) return { name: claimed, alias: installedAs };
  return { name: installedAs };
}

/** The source of an entry, and the registry package it is when its URL is the registry's tarball of another name@version. */
function installedSource(resolved: string | undefined, name: string, version: string, context: Context): SourceClass & { name?: string; version?: string } {
  // npm may omit registry URLs (omit-lockfile-registry-resolved): it fetches name@version from the configured registry.
  if (resolved === undefined) return { source: 'registry' };
  if (context.urlSpecs.has(resolved)) return declaredUrlSource(resolved, context.registries, { npm: true });
  if (/^https?:/i.test(resolved)) return urlPackage(resolved, name, version, context.registries, { npm: true });
  const kind = classifySpec(resolved, { projectDir: context.lockfileDir });
  // Keep npm's own spelling (`file:…`, `git+ssh://…`) for the report.
  return kind.source === 'registry' ? { source: 'file', resolved } : { source: kind.source, resolved };
}

function installedPackage(path: string, installedAs: string, entry: JsonObject, context: Context): ResolvedPackage {
  const version = str(entry.version);
  if (!version) return fail(context.file, `package "${path}" has no version`);
  const claimed = installedName(installedAs, entry, context);
  const kind = installedSource(str(entry.resolved), claimed.name, version, context);
  // npm fetches `resolved` as it is: a registry tarball of another name@version installs that package.
  const name = kind.name ?? claimed.name;
  const alias = name === claimed.name ? claimed.alias : installedAs;
  const integrity = str(entry.integrity);
  return make(
    { name, version: kind.version ?? version, source: kind.source, ...(integrity ? { integrity } : {}), ...(kind.resolved ? { resolved: kind.resolved } : {}), ...(alias ? { alias } : {}) },
    { file: context.file, entry: path },
  );
}

export function packagesFromPackageLock(lockfile: unknown, lockfileDir: string, file?: string, options: NpmReadOptions = {}): ResolvedPackage[] {
  const packages = packagesMap(lockfile, file);
  const context = readContext(packages, lockfileDir, file, options.registries ?? DEFAULT_REGISTRIES);
  const out: ResolvedPackage[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (path === '') continue;
    if (!isObject(entry)) return fail(file, `package "${path}" must be an object`);
    if (entry.link === true) continue; // a symlink to a folder entry, reported there
    const installedAs = nameFromPath(path);
    if (installedAs === undefined) out.push(...folderPackages(path, entry, context));
    else out.push(installedPackage(path, installedAs, entry, context));
  }
  return dedupe(out);
}

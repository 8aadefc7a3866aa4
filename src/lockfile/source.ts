/**
 * Where a dependency comes from: the one classifier of source kinds and registry identity,
 * used by the three lockfile readers, the pnpm hook and the Yarn plugin. It reads every
 * form a package manager writes: npm `resolved` values, pnpm specifiers and resolutions,
 * Yarn descriptors and locator references (with their `::locator=…` bindings and `patch:`
 * wrappers). npm-package-arg decides the npm forms (git, URL, path, range).
 */
import { isAbsolute, posix, relative, resolve } from 'node:path';
import npa from 'npm-package-arg';
import { valid as validSemver } from 'semver';
import { isValidPackageName } from '../package-name';
import type { SourceKind } from '../types';

export interface SourceClass {
  source: SourceKind;
  /** URL, path (relative to the project root when it can be) or git reference; absent for registry. */
  resolved?: string;
}

export interface SpecContext {
  /** The project root (lockfile directory); absolute paths are inside only when below it. */
  projectDir?: string;
  /** Folder, relative to the project root, of the package that declares the spec (default: the root). */
  from?: string;
}

/** Registries the user configured, each with a trailing slash. */
export interface Registries {
  default: string;
  /** `@scope` → registry. */
  scopes: Readonly<Record<string, string>>;
  /**
   * npm's `replace-registry-host` (default `npmjs`: registry.npmjs.org; `always`; `never`; or a
   * host name): lockfile URLs on that host are fetched from the configured registry instead.
   * Only npm does this; pnpm and Yarn fetch a recorded URL as it is.
   */
  replaceHost?: string;
}

export const PUBLIC_REGISTRY = 'https://registry.npmjs.org/';
export const DEFAULT_REGISTRIES: Registries = Object.freeze({ default: PUBLIC_REGISTRY, scopes: Object.freeze({}) });

/** One key for a package version everywhere (dedupe, lookups, caches). */
export function packageKey(name: string, version: string): string {
  return `${name}@${version}`;
}

/** Yarn's `body::key=value&…` bindings split off a reference. */
export function splitBindings(reference: string): { body: string; params: URLSearchParams } {
  const at = reference.indexOf('::');
  if (at === -1) return { body: reference, params: new URLSearchParams() };
  return { body: reference.slice(0, at), params: new URLSearchParams(reference.slice(at + 2)) };
}

/** Splits `name@rest` where the name may be scoped (`@scope/name@rest`). */
export function splitNameAt(spec: string): { name: string; rest: string } | undefined {
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  if (at <= 0) return undefined;
  return { name: spec.slice(0, at), rest: spec.slice(at + 1) };
}

/** The folder a Yarn binding `locator=name@workspace:path` names, else the context's. */
function bindingFolder(params: URLSearchParams, context: SpecContext): string {
  const parent = splitNameAt(params.get('locator') ?? '');
  if (parent?.rest.startsWith('workspace:')) return parent.rest.slice('workspace:'.length) || '.';
  return context.from ?? '.';
}

/** True when `target` (absolute, or relative to `dir`) is `dir` itself or lies below it. */
export function isInside(dir: string, target: string): boolean {
  const rel = relative(resolve(dir), resolve(dir, target));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** A path relative to the project root (or absolute when it was), and whether it stays inside. */
function localPath(path: string, folder: string, context: SpecContext): { path: string; inside: boolean } {
  if (isAbsolute(path)) {
    if (context.projectDir === undefined || !isInside(context.projectDir, path)) return { path, inside: false };
    return { path: posix.normalize(relative(resolve(context.projectDir), path).split('\\').join('/') || '.'), inside: true };
  }
  const joined = posix.normalize(posix.join(folder, path));
  return { path: joined, inside: joined !== '..' && !joined.startsWith('../') };
}

/** `patch:<inner spec, url-encoded>#<patch file>` → the inner spec, which decides the source. */
function unpatch(spec: string): string {
  let current = spec;
  while (current.startsWith('patch:')) {
    const hash = current.indexOf('#');
    const inner = splitNameAt(decodeURIComponent(current.slice('patch:'.length, hash === -1 ? undefined : hash)));
    if (!inner) break;
    current = inner.rest;
  }
  return current;
}

const HOSTED_GIT_TARBALL = /^https:\/\/(codeload\.github\.com|gitlab\.com\/[^?#]+\/-\/archive|bitbucket\.org\/[^?#]+\/get)\//;
const YARN_GIT = /#commit=|^(git\+|git:|ssh:|github:|gitlab:|bitbucket:)/;

/** The local protocols of pnpm and Yarn: `workspace:`, `link:`, `portal:`, `file:`. */
function localSpec(spec: string, context: SpecContext): SourceClass | undefined {
  const colon = spec.indexOf(':');
  const protocol = colon === -1 ? '' : spec.slice(0, colon + 1);
  if (protocol !== 'workspace:' && protocol !== 'link:' && protocol !== 'portal:' && protocol !== 'file:') return undefined;
  const { body, params } = splitBindings(spec.slice(protocol.length));
  const folder = bindingFolder(params, context);
  if (protocol === 'workspace:') {
    // `workspace:^1.0.0` (a range) or a Yarn locator `workspace:packages/a`.
    const isPath = body === '.' || body.includes('/') || body.startsWith('.');
    return isPath ? { source: 'workspace', resolved: posix.normalize(body) } : { source: 'workspace' };
  }
  const { path, inside } = localPath(body.split('#')[0]!, folder, context);
  if (protocol === 'file:') return { source: 'file', resolved: path };
  // A link into the project itself is part of the workspace; one leaving it is a source of code.
  return inside ? { source: 'workspace', resolved: path } : { source: 'link', resolved: path };
}

/** An http(s) URL: a hosted-git archive or repository is git, anything else a tarball (registry identity is decided with urlSource). */
function urlSpec(url: string): SourceClass {
  if (HOSTED_GIT_TARBALL.test(url)) return { source: 'git', resolved: url };
  // Only the hosts hosted-git-info knows can be a repository URL (and npa costs a parse per entry).
  const gitHost = /^https?:\/\/(www\.)?(github\.com|gitlab\.com|bitbucket\.org|gist\.github\.com)\//i.test(url);
  return gitHost && npaType(url) === 'git' ? { source: 'git', resolved: url } : { source: 'tarball', resolved: url };
}

/** npm-package-arg's type of a bare spec, or of a whole `name@spec` argument (`pnpm add left-pad@1.3.0`). */
function npaType(spec: string): string | undefined {
  const named = splitNameAt(spec);
  try {
    return named && named.rest !== '' && isValidPackageName(named.name) ? npa(spec, '/').type : npa.resolve('x', spec, '/').type;
  } catch {
    return undefined;
  }
}

/**
 * The source a dependency spec, npm `resolved` value or Yarn locator reference points at.
 * Ranges, versions, tags, `npm:` and `jsr:` are the registry (a URL may still be the registry:
 * see urlSource). Unknown protocols (`exec:`, third-party resolvers) are never the registry.
 */
export function classifySpec(raw: string, context: SpecContext = {}): SourceClass {
  const spec = unpatch(raw.trim());
  if (spec.startsWith('virtual:')) return classifySpec(spec.slice(spec.indexOf('#') + 1), context);
  // An `npm:` alias is the registry only when its range is one (`npm:x@git+https://…` clones, and runs x's prepack).
  if (spec.startsWith('npm:')) return aliasTarget(spec.slice('npm:'.length), context);
  if (spec.startsWith('jsr:') || spec.startsWith('catalog:')) return { source: 'registry' };
  const local = localSpec(spec, context);
  if (local) return local;
  const { body } = splitBindings(spec);
  if (/^https?:\/\//i.test(body)) return urlSpec(body);
  if (YARN_GIT.test(body)) return { source: 'git', resolved: body };
  const type = npaType(body);
  if (type === 'git') return { source: 'git', resolved: body };
  if (type === 'remote') return { source: 'tarball', resolved: body };
  if (type === 'file' || type === 'directory') {
    if (/^[a-z][a-z0-9+.-]*:/i.test(body) && !body.startsWith('file:')) return { source: 'file', resolved: body };
    return { source: 'file', resolved: localPath(body.replace(/^file:/, ''), context.from ?? '.', context).path };
  }
  if (type === 'range' || type === 'version' || type === 'tag' || type === 'alias') return { source: 'registry' };
  return { source: 'file', resolved: body };
}

/**
 * A Bun specifier or bun.lock resolution: as classifySpec, except `link:<name>`, which in Bun names
 * a package registered with `bun link` (a folder in Bun's global link registry, outside the
 * project: measured with Bun 1.4.4, its postinstall runs), never a path as in pnpm and Yarn. The
 * one decision for `check` of bun.lock and the Bun scanner.
 */
export function classifyBunSpec(spec: string, context: SpecContext = {}): SourceClass {
  if (spec.startsWith('link:')) return { source: 'link', resolved: spec };
  return classifySpec(spec, context);
}

/** What an `npm:` alias's `name@range` (or bare range, in a Yarn locator) points at. */
function aliasTarget(inner: string, context: SpecContext): SourceClass {
  const named = splitNameAt(inner);
  const range = named && isValidPackageName(named.name) ? named.rest : inner;
  if (range === '' || range.startsWith('npm:')) return { source: 'registry' };
  const target = classifySpec(range, context);
  return target.source === 'registry' ? { source: 'registry' } : target;
}

/** The registry the user configured for `name` (its scope's, else the default). */
export function registryFor(name: string, registries: Registries): string {
  if (name.startsWith('@')) {
    const scoped = registries.scopes[name.slice(0, name.indexOf('/'))];
    if (scoped) return scoped;
  }
  return registries.default;
}

/** npm's replace-registry-host: the URL npm really fetches for a lockfile's `resolved`. */
export function npmFetchUrl(url: string, registries: Registries): string {
  const mode = registries.replaceHost ?? 'npmjs';
  if (mode === 'never') return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const host = mode === 'npmjs' ? 'registry.npmjs.org' : mode;
  if (mode !== 'always' && parsed.host !== host) return url;
  return new URL(parsed.pathname, registries.default).href;
}

/** registry.yarnpkg.com serves registry.npmjs.org (Yarn treats them as one registry, so do we). */
function sameAsNpmjs(url: string): string {
  return url.replace(/^https:\/\/registry\.yarnpkg\.com(?=$|\/)/i, 'https://registry.npmjs.org');
}

/**
 * True when `url` is the tarball the configured registry for `name` serves for name@version:
 * `<registry><name>/-/<unscoped name>-<version>.tgz` (the scope's slash may be encoded).
 */
export function isRegistryTarball(url: string, name: string, version: string, registries: Registries): boolean {
  const parsed = parsedUrl(url);
  return parsed !== undefined && isRegistryTarballUrl(parsed, name, version, registries);
}

function parsedUrl(url: string): URL | undefined {
  try {
    return new URL(sameAsNpmjs(url));
  } catch {
    return undefined;
  }
}

function isRegistryTarballUrl(parsed: URL, name: string, version: string, registries: Registries): boolean {
  if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') return false;
  const rest = pathUnder(parsed, registryFor(name, registries));
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return rest === `${name}/-/${base}-${version}.tgz`;
}

interface RegistryBase {
  origin: string;
  /** The registry's path, ending in `/`. */
  prefix: string;
}

/**
 * Registry URLs as parsed, by their text: a lockfile of thousands of tarball URLs names a handful
 * of registries (parsing one for every package was most of reading a bun.lock under Bun).
 */
const registryBases = new Map<string, RegistryBase | null>();
const REGISTRY_BASES_MAX = 64;

function registryBase(registry: string): RegistryBase | undefined {
  let base = registryBases.get(registry);
  if (base === undefined) {
    const url = parsedUrl(registry);
    base = url ? { origin: url.origin, prefix: url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/` } : null;
    if (registryBases.size >= REGISTRY_BASES_MAX) registryBases.clear();
    registryBases.set(registry, base);
  }
  return base ?? undefined;
}

/** The decoded path of `url` below `registry` (same origin, under its path); undefined when it is not there. */
function pathUnder(url: URL, registry: string): string | undefined {
  const base = registryBase(registry);
  if (!base || url.origin !== base.origin || !url.pathname.startsWith(base.prefix)) return undefined;
  try {
    return decodeURIComponent(url.pathname.slice(base.prefix.length));
  } catch {
    return undefined;
  }
}

/**
 * The source of a package recorded with a tarball URL: the registry only when it is the
 * configured registry's own URL for name@version (after npm's host rewrite when `npm`).
 */
export function urlSource(url: string, name: string, version: string, registries: Registries, options: { npm?: boolean } = {}): SourceClass {
  const kind = classifySpec(url);
  if (kind.source !== 'tarball') return kind;
  const fetched = options.npm ? npmFetchUrl(url, registries) : url;
  return isRegistryTarball(fetched, name, version, registries) ? { source: 'registry' } : { source: 'tarball', resolved: url };
}

/**
 * The package a tarball URL is when it is a configured registry's own tarball path
 * (`<registry><name>/-/<unscoped name>-<version>.tgz`, the registry being the one configured for
 * that name: `<registry>@scope/bar/-/bar-1.0.0.tgz` → @scope/bar@1.0.0), whatever name an entry
 * files it under: that registry serves that name@version there. undefined for any other URL
 * (another host or path, a query, credentials, a registry not configured for that scope).
 */
export function registryTarballPackage(url: string, registries: Registries): { name: string; version: string } | undefined {
  const parsed = parsedUrl(url);
  if (!parsed) return undefined;
  for (const registry of new Set([registries.default, ...Object.values(registries.scopes)])) {
    const rest = pathUnder(parsed, registry);
    if (rest === undefined) continue;
    // Read off the path, then confirmed by isRegistryTarball (the registry configured for that name, no query or credentials).
    const match = /^((?:@[^/]+\/)?([^/]+))\/-\/\2-([^/]+)\.tgz$/.exec(rest);
    if (!match) continue;
    const [, name, , version] = match as unknown as [string, string, string, string];
    if (validSemver(version) !== version || !isValidPackageName(name)) continue;
    if (isRegistryTarballUrl(parsed, name, version, registries)) return { name, version };
  }
  return undefined;
}

/**
 * npm and Bun fetch a lockfile's tarball URL as it is, under the entry's key: when that URL is the
 * registry's tarball of another name@version, what is installed is that registry package, so it
 * is judged (named, excluded, looked up, integrity-bound) as that package, not as a tarball of the
 * key's name. Otherwise as urlSource.
 */
export function urlPackage(url: string, name: string, version: string, registries: Registries, options: { npm?: boolean } = {}): SourceClass & { name: string; version: string } {
  const kind = urlSource(url, name, version, registries, options);
  if (kind.source !== 'tarball') return { ...kind, name, version };
  const other = registryTarballPackage(options.npm ? npmFetchUrl(url, registries) : url, registries);
  return other ? { source: 'registry', ...other } : { ...kind, name, version };
}

/**
 * A tarball URL a dependency declares as its spec: a tarball source even at a registry's path, but
 * when it is a registry's tarball of some name@version, that package is what npm and Bun install
 * (Bun 1.4.4 even passes the scanner that name): it is named by it, so `exclude`, `overrides`
 * and the feed see the package that lands, never the key it is declared under.
 */
export function declaredUrlSource(url: string, registries: Registries, options: { npm?: boolean } = {}): SourceClass & { name?: string; version?: string } {
  const other = registryTarballPackage(options.npm ? npmFetchUrl(url, registries) : url, registries);
  return { source: 'tarball', resolved: url, ...(other ?? {}) };
}

/**
 * The source of a pnpm package from the tarball its resolution (lockfile) or its `dist`
 * (readPackage) names, for `check` and the pnpm hook alike: no tarball is the registry's
 * name@version; a relative one is resolved against the package's registry; an http(s) URL is
 * the registry only when it is that registry's own URL for name@version (urlSource), whoever
 * declared it and under whatever key. pnpm itself locks such a URL dependency as the registry
 * package (integrity only, no tarball) and fetches it from the registry by name@version, bound
 * by that integrity to the feed's record: it is that package, not a tarball of the key's name.
 * Any other URL (another host, path, query, or a tarball whose package.json claims a name the
 * URL is not for) is a `tarball`, and borrows no registry package's evidence.
 */
export function pnpmTarballSource(tarball: string | undefined, name: string, version: string, registries: Registries): SourceClass {
  if (tarball === undefined) return { source: 'registry' };
  if (tarball.startsWith('file:')) return { source: 'file', resolved: tarball };
  let url: string;
  try {
    url = new URL(tarball, registryFor(name, registries)).href;
  } catch {
    return { source: 'tarball', resolved: tarball };
  }
  const kind = urlSource(url, name, version, registries);
  return kind.source === 'tarball' ? { source: 'tarball', resolved: tarball } : kind;
}

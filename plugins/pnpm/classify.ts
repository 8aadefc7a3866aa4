/**
 * Turns what pnpm hands to `readPackage` into a ResolvedPackage. pnpm passes no resolution
 * with the manifest, so the source is read from the manifest and from the specifiers that
 * parents declared (readPackage sees every parent before its children).
 */
import { withTrailingSlash } from '../../src/npmrc';
import { npmRegistriesFor } from '../../src/lockfile/registries';
import { classifySpec, pnpmTarballSource, type Registries } from '../../src/lockfile/source';
import type { ResolvedPackage, SourceKind } from '../../src/types';

export interface PnpmManifest {
  name?: string;
  version?: string;
  dist?: { integrity?: string; tarball?: string; shasum?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [field: string]: unknown;
}

const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'devDependencies'] as const;
const PLAIN_RANGE = /^[\^~]?\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/**
 * The kind of source a dependency specifier points at (src/lockfile/source.ts decides);
 * undefined for registry ranges, tags and `npm:` aliases. `link:` into the project is `workspace`.
 */
export function specKind(spec: string): Exclude<SourceKind, 'registry'> | undefined {
  const { source } = classifySpec(spec);
  return source === 'registry' ? undefined : source;
}

/** What parents declared, remembered across readPackage calls. */
export class DeclaredSpecs {
  /** Dependency key → non-registry specifiers declared under that key. */
  private readonly byKey = new Map<string, Set<string>>();
  /** Tarball URL declared anywhere → the keys declaring it (a URL dependency may arrive with `dist.tarball` equal to it). */
  private readonly urls = new Map<string, Set<string>>();
  /** Real name → alias keys (`alias: npm:real@range`), every one declared (two projects may alias it differently). */
  private readonly aliases = new Map<string, Set<string>>();

  note(manifest: PnpmManifest): void {
    for (const field of DEP_FIELDS) {
      const deps = manifest[field];
      if (!deps || typeof deps !== 'object') continue;
      for (const [key, spec] of Object.entries(deps)) {
        if (typeof spec !== 'string') continue;
        if (spec.startsWith('npm:')) {
          const target = spec.slice(4);
          const at = target.indexOf('@', 1);
          const real = at === -1 ? target : target.slice(0, at);
          if (real && real !== key) {
            let keys = this.aliases.get(real);
            if (!keys) this.aliases.set(real, (keys = new Set()));
            keys.add(key);
          }
          continue;
        }
        // A plain version or caret/tilde range (most of any manifest) is a registry range: no need to classify it.
        if (PLAIN_RANGE.test(spec)) continue;
        const kind = specKind(spec);
        if (kind === undefined || spec.startsWith('workspace:')) continue;
        if (kind === 'tarball') this.noteUrl(spec, key);
        let set = this.byKey.get(key);
        if (!set) this.byKey.set(key, (set = new Set()));
        set.add(spec);
      }
    }
  }

  /** A specifier whose package name is not known yet (`pnpm add github:user/repo`). */
  noteUnnamed(spec: string): void {
    const kind = specKind(spec);
    if (kind === undefined || kind === 'workspace') return;
    if (kind === 'tarball') this.noteUrl(spec, `\u0000${spec}`);
    this.byKey.set(`\u0000${spec}`, new Set([spec]));
  }

  private noteUrl(url: string, key: string): void {
    let keys = this.urls.get(url);
    if (!keys) this.urls.set(url, (keys = new Set()));
    keys.add(key);
  }

  isDeclaredUrl(url: string): boolean {
    return this.urls.has(url);
  }

  /**
   * The names a git, tarball or `file:` package arriving with this manifest name installs under
   * (pnpm links it at node_modules/<dependency key>; its package.json `name` is free text):
   * - with a declared tarball URL as `dist.tarball`, the keys that declared that URL;
   * - else its own name when that is a key declared with such a specifier (or was added by a
   *   `pnpm add <spec>` that names no key), plus every other such key whose package has not
   *   arrived yet (`arrived`): readPackage shows no resolution, so any of them may be this one.
   * Never empty (nothing declared: its own name).
   */
  installNames(name: string, tarball: string | undefined, arrived: (key: string) => boolean): string[] {
    const named = (keys: Iterable<string>) => [...keys].filter((k) => !k.startsWith('\u0000'));
    const urlKeys = tarball === undefined ? undefined : this.urls.get(tarball);
    if (urlKeys) {
      const keys = named(urlKeys);
      // `pnpm add <url>` declares no key: pnpm installs it under its own name.
      return keys.length === urlKeys.size ? keys.sort() : [...new Set([name, ...keys])].sort();
    }
    const remote = (key: string) => [...(this.byKey.get(key) ?? [])].some((spec) => ['git', 'tarball', 'file', 'link'].includes(specKind(spec) ?? ''));
    const pending = named(this.byKey.keys()).filter((key) => key !== name && remote(key) && !arrived(key));
    const own = this.byKey.has(name) || named(this.byKey.keys()).length < this.byKey.size || pending.length === 0;
    return [...(own ? [name] : []), ...pending.sort()];
  }

  /** The package as installed under `key`: for a dist-less one, the source that key declared. */
  installedAs(pkg: ResolvedPackage, key: string, hasDist: boolean): ResolvedPackage {
    const { alias: _alias, ...rest } = pkg;
    if (key === pkg.name) return pkg;
    if (hasDist) return { ...rest, name: key };
    const spec = [...(this.byKey.get(key) ?? [])].find((s) => !s.startsWith('link:'));
    return spec ? { ...rest, name: key, source: specKind(spec) ?? 'file', resolved: spec } : { ...rest, name: key };
  }

  /** Keys declared as `link:` to a folder outside the project, with that folder as declared (relative to the declaring project). */
  linkKeys(): [key: string, folder: string][] {
    const out: [string, string][] = [];
    for (const [key, specs] of this.byKey) for (const spec of specs) if (specKind(spec) === 'link') out.push([key, spec.slice('link:'.length)]);
    return out;
  }

  /** Declared under its own name from git, a file or a tarball URL. */
  isNonRegistry(name: string): boolean {
    return [...(this.byKey.get(name) ?? [])].some((spec) => !spec.startsWith('link:'));
  }

  /** The first alias declared for a real name (how a finding names it). */
  aliasOf(name: string, tarball?: string): string | undefined {
    return this.aliasesOf(name, tarball)[0];
  }

  /**
   * Every alias key declared for a real name: `npm:` aliases, and the keys that declared the
   * URL it arrived from (`foo: <the registry's URL of name@version>` installs it at node_modules/foo).
   */
  aliasesOf(name: string, tarball?: string): string[] {
    const byUrl = tarball === undefined ? [] : [...(this.urls.get(tarball) ?? [])].filter((k) => k !== name && !k.startsWith('\u0000'));
    return [...new Set([...(this.aliases.get(name) ?? []), ...byUrl])];
  }

  /** The non-registry specifier a package arriving without `dist` most likely came from. */
  specFor(name: string): string | undefined {
    const own = this.byKey.get(name);
    if (own && own.size > 0) return [...own][0];
    // Declared under another key (`my-fork: github:user/repo`): pick a specifier of one kind when all agree.
    const kinds = new Map<string, string>();
    for (const set of this.byKey.values()) for (const spec of set) kinds.set(specKind(spec) ?? 'file', spec);
    return kinds.size === 1 ? [...kinds.values()][0] : undefined;
  }
}

let cachedRegistries: { dir: string; registries: Registries } | undefined;

/** pnpm's registries (the project's .npmrc), read once per directory. */
function projectRegistries(dir: string = process.cwd()): Registries {
  if (cachedRegistries?.dir !== dir) cachedRegistries = { dir, registries: npmRegistriesFor(dir) };
  return cachedRegistries.registries;
}

/** pnpm's `registries` (`{ default, '@scope': url }`, as hooks receive them) in the guard's shape. */
export function registriesFromPnpm(registries: Readonly<Record<string, string>> | undefined, dir?: string): Registries {
  if (!registries?.default) return projectRegistries(dir);
  const scopes: Record<string, string> = {};
  for (const [scope, url] of Object.entries(registries)) if (scope.startsWith('@')) scopes[scope] = withTrailingSlash(url);
  return { default: withTrailingSlash(registries.default), scopes };
}

/** The version given to a package whose manifest has none (no registry publishes one: never a feed record). */
export const UNVERSIONED = '0.0.0-unversioned';

/**
 * A manifest from readPackage → the package to check (undefined: nothing to check). Registry (and non-default registry)
 * packages arrive with `dist.integrity`; tarball-URL dependencies too, but their `dist.tarball`
 * is the URL a parent declared. git, `file:` and (pnpm 12) `link:` packages arrive without `dist`.
 */
export function classify(manifest: PnpmManifest, declared: DeclaredSpecs, registries: Registries = projectRegistries()): ResolvedPackage | undefined {
  const { name } = manifest;
  if (typeof name !== 'string' || name === '') return undefined;
  // A git, tarball or folder package need not have a version: it is still checked (its source decides).
  const version = typeof manifest.version === 'string' && manifest.version !== '' ? manifest.version : UNVERSIONED;
  const dist = manifest.dist;
  if (dist && typeof dist === 'object' && (dist.integrity || dist.tarball)) {
    const integrity = typeof dist.integrity === 'string' ? dist.integrity : undefined;
    const tarball = typeof dist.tarball === 'string' ? dist.tarball : undefined;
    // check's decision for the same package locked (pnpmTarballSource): the registry's own URL for
    // name@version is that registry package, also when a parent declared it under another key (its alias).
    const kind = pnpmTarballSource(tarball, name, version, registries);
    const alias = declared.aliasOf(name, kind.source === 'registry' ? tarball : undefined);
    return { name, version, ...(alias ? { alias } : {}), source: kind.source, ...(integrity ? { integrity } : {}), ...(kind.source !== 'registry' && tarball ? { resolved: tarball } : {}) };
  }
  const alias = declared.aliasOf(name);
  const base = { name, version, ...(alias ? { alias } : {}) };
  const spec = declared.specFor(name);
  const source: SourceKind = spec ? (specKind(spec) ?? 'file') : 'file';
  if (source === 'workspace') return undefined; // a link into the project: part of the workspace, never checked
  return { ...base, source, ...(spec ? { resolved: spec } : {}) };
}

/**
 * Maps what Yarn resolved (locators in `project.storedPackages`, or the lockfile's
 * `originalPackages`) to the guard's ResolvedPackage.
 *
 * Yarn resolves an `npm:` alias (`"foo": "npm:@scope/bar@^1"`) to the real package's
 * locator (`@scope/bar@npm:1.0.0`); the alias only survives in the descriptor, so aliases
 * are recovered from the descriptor → locator resolutions.
 */
import { structUtils, type Configuration, type Descriptor, type DescriptorHash, type LocatorHash, type Package } from '@yarnpkg/core';
import { applyYarnRegistries, YARN_DEFAULT_REGISTRY, yarnRegistriesFor } from '../../src/lockfile/registries';
import { classifySpec, packageKey, type Registries } from '../../src/lockfile/source';
import { yarnLocatorPackage } from '../../src/lockfile/yarn';
import type { ResolvedPackage, SourceKind } from '../../src/types';

export interface ResolutionView {
  packages: Iterable<Package>;
  descriptors: ReadonlyMap<DescriptorHash, Descriptor>;
  resolutions: ReadonlyMap<DescriptorHash, LocatorHash>;
  /** The project root (absolute link/portal paths inside it are workspace folders). */
  projectDir?: string;
  /** Yarn's npmRegistryServer/npmScopes (default: read from .yarnrc.yml of projectDir or the cwd). */
  registries?: Registries;
}

/** The registries Yarn itself uses (npmRegistryServer, npmScopes), from its configuration: what decides registry identity here. */
export function configuredRegistries(configuration: Configuration): Registries {
  const registries = { default: YARN_DEFAULT_REGISTRY, scopes: {} as Record<string, string> };
  const scopes = [...configuration.get('npmScopes')].map(([scope, settings]) => [scope, settings.get('npmRegistryServer')] as const);
  applyYarnRegistries(registries, configuration.get('npmRegistryServer'), scopes);
  return registries;
}

/**
 * Descriptors resolved to a package of another name are aliases (`"foo": "npm:bar@^1"`, or a
 * yarn.lock entry whose resolution names another package): the name it is installed under.
 */
function aliasesByLocator(view: ResolutionView, packages: readonly Package[]): Map<LocatorHash, string> {
  const identOf = new Map<LocatorHash, string>();
  for (const pkg of packages) identOf.set(pkg.locatorHash, pkg.identHash);
  const aliases = new Map<LocatorHash, string>();
  for (const [hash, descriptor] of view.descriptors) {
    const locatorHash = view.resolutions.get(hash);
    if (locatorHash === undefined || aliases.has(locatorHash)) continue;
    const ident = identOf.get(locatorHash);
    if (ident !== undefined && ident !== descriptor.identHash) aliases.set(locatorHash, structUtils.stringifyIdent(descriptor));
  }
  return aliases;
}

export interface Classified {
  source: SourceKind | 'skip';
  resolved?: string;
}

/**
 * What kind of source a locator reference or descriptor range names (src/lockfile/source.ts
 * decides, as for yarn.lock). `skip`: not a package of its own (virtual). A `link:`/`portal:`
 * into the project is `workspace`, as `provenance-guard check` reads it.
 */
export function classifyReference(reference: string, projectDir?: string): Classified {
  if (reference.startsWith('virtual:')) return { source: 'skip' };
  return classifySpec(reference, projectDir === undefined ? {} : { projectDir });
}

/** One Yarn package → the package to check; undefined for workspaces and virtual packages. */
function resolvedPackage(pkg: Package, view: ResolutionView, registries: Registries): ResolvedPackage | undefined {
  if (structUtils.isVirtualLocator(pkg)) return undefined;
  const installed = yarnLocatorPackage({ name: structUtils.stringifyIdent(pkg), reference: pkg.reference }, pkg.version ?? '0.0.0', view.projectDir ?? process.cwd(), registries);
  const { kind } = installed;
  if (kind.source === 'workspace') return undefined;
  const resolved: ResolvedPackage = { name: installed.name, version: installed.version, source: kind.source };
  if (kind.resolved !== undefined) resolved.resolved = kind.resolved;
  if (installed.alias !== undefined) resolved.alias = installed.alias;
  return resolved;
}

export function resolvedPackages(view: ResolutionView): ResolvedPackage[] {
  const packages = [...view.packages];
  const aliases = aliasesByLocator(view, packages);
  const registries = view.registries ?? yarnRegistriesFor(view.projectDir ?? process.cwd());
  const seen = new Set<string>();
  const out: ResolvedPackage[] = [];
  for (const pkg of packages) {
    const resolved = resolvedPackage(pkg, view, registries);
    if (!resolved) continue;
    const key = `${packageKey(resolved.name, resolved.version)}|${resolved.source}|${resolved.resolved ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const alias = aliases.get(pkg.locatorHash);
    if (alias !== undefined && resolved.alias === undefined) resolved.alias = alias;
    out.push(resolved);
  }
  return out;
}

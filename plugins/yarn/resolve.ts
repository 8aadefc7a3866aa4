/** The resolved graph of a Yarn project, through Yarn's public API (see gate.ts for why). */
import { Cache, PackageExtensionType, semverUtils, structUtils, TAG_REGEXP, ThrowReport, type Descriptor, type IdentHash, type Locator, type Project, type Resolver } from '@yarnpkg/core';
import type { ResolvedPackage } from '../../src/types';
import { configuredRegistries, resolvedPackages } from './locators';

/**
 * `configuration.normalizeDependency(descriptor).range` without making the descriptor (Yarn
 * hashes every descriptor it makes: ~2 ms for 1,000 declared dependencies). Yarn 4's rule: a
 * semver range or a tag gets the default protocol; test/yarn-lockfile-state.test.ts keeps the two
 * equal on the Yarn the tests install.
 */
export function normalizedRange(range: string, defaultProtocol: string): string {
  return semverUtils.validRange(range) || TAG_REGEXP.test(range) ? `${defaultProtocol}${range}` : range;
}

/**
 * Whether the manifests ask for exactly what yarn.lock's workspace entries pin: every
 * workspace's dependencies equal its lockfile entry's, no `resolutions` (in the manifest, or in
 * memory: `yarn set resolution` keeps its new resolution in `project.resolutionAliases` and
 * installs with yarn.lock and the manifests unchanged), and no lockfile refresh pending.
 * Measured: without this test a lockfile-only resolution happily returns the lockfile's old
 * workspace entry during `yarn add` and misses the new package.
 */
export function manifestsPinned(project: Project): boolean {
  if (project.lockfileNeedsRefresh) return false;
  if (project.topLevelWorkspace.manifest.resolutions.length > 0 || project.resolutionAliases.size > 0) return false;
  const defaultProtocol = project.configuration.get('defaultProtocol');
  for (const workspace of project.workspaces) {
    const stored = project.originalPackages.get(workspace.anchoredLocator.locatorHash);
    if (!stored) return false;
    const declared = new Map<string, string>();
    for (const deps of [workspace.manifest.dependencies, workspace.manifest.devDependencies]) {
      for (const dep of deps.values()) declared.set(dep.identHash, normalizedRange(dep.range, defaultProtocol));
    }
    if (declared.size !== stored.dependencies.size) return false;
    for (const [identHash, range] of declared) if (stored.dependencies.get(identHash as IdentHash)?.range !== range) return false;
  }
  return true;
}

/**
 * A `patch:` package's source, when it is itself in yarn.lock (`typescript@patch:typescript@npm%3A5.3.3#…`
 * → `typescript@npm:5.3.3`). Yarn re-resolves a patch on every install (its patch file may have
 * changed), but what it resolves to is the source package with the patch applied: the source's
 * version and dependencies, which yarn.lock pins. The patch itself is the project's own file (or
 * Yarn's built-in compat patch), never a download.
 */
function patchSource(project: Project, pkg: Locator): Locator | undefined {
  if (!pkg.reference.startsWith('patch:')) return undefined;
  let source: string | null;
  try {
    source = structUtils.parseRange(pkg.reference).source;
  } catch {
    return undefined;
  }
  const locator = source === null ? null : structUtils.tryParseLocator(source, true);
  return locator && project.originalPackages.has(locator.locatorHash) ? locator : undefined;
}

/**
 * Every `patch:` descriptor yarn.lock holds resolves, when Yarn resolves it again, to the same
 * source: the descriptors its resolver depends on (the unpatched source descriptor) are pinned by
 * yarn.lock to the source its patch locator names. Without this a yarn.lock whose patch entry
 * outlived its source's resolution would have Yarn resolve the source anew (another version).
 */
function patchesPinned(project: Project, resolver: Resolver): boolean {
  for (const [descriptorHash, locatorHash] of project.storedResolutions) {
    const descriptor = project.storedDescriptors.get(descriptorHash);
    if (!descriptor?.range.startsWith('patch:')) continue;
    const pkg = project.originalPackages.get(locatorHash);
    const source = pkg && patchSource(project, pkg);
    if (!source) return false;
    let dependencies: Descriptor[];
    try {
      dependencies = Object.values(resolver.getResolutionDependencies(descriptor, { project, resolver }));
    } catch {
      return false;
    }
    for (const dependency of dependencies) if (project.storedResolutions.get(dependency.descriptorHash) !== source.locatorHash) return false;
  }
  return true;
}

/**
 * No transient package (file:, link:, portal: — re-read on every install): Yarn's resolvers
 * persist every resolution, or it is a patch whose source they persist and yarn.lock pins.
 */
function resolutionsPersist(project: Project): boolean {
  const resolver = project.configuration.makeResolver();
  let patched = false;
  const persists = (locator: Locator): boolean => {
    try {
      if (resolver.shouldPersistResolution(locator, { project, resolver })) return true;
    } catch {
      return false;
    }
    const source = patchSource(project, locator);
    patched ||= source !== undefined;
    return source !== undefined && persists(source);
  };
  for (const pkg of project.originalPackages.values()) {
    if (!pkg.reference.startsWith('workspace:') && !persists(pkg)) return false;
  }
  return !patched || patchesPinned(project, resolver);
}

/**
 * Whether yarn.lock covers the install: the manifests are pinned and no package is transient.
 * Then a lockfile-only resolution gives the very graph the install will use.
 */
export function lockfileCovers(project: Project): boolean {
  return manifestsPinned(project) && resolutionsPersist(project);
}

/**
 * The fast path (no resolution at all, ~10 ms for 1,000 packages instead of ~150 ms): when
 * yarn.lock covers the manifests and is closed — every dependency of every entry, and every
 * dependency a package extension adds, already has its resolution in yarn.lock — Yarn's own
 * resolution can only pick entries of yarn.lock, so checking all of them is complete (a
 * superset at worst). Anything else (user packageExtensions, `catalog:`, a missing entry)
 * returns undefined and the caller resolves properly.
 */
export async function lockfileGraph(project: Project, covers = lockfileCovers(project)): Promise<ResolvedPackage[] | undefined> {
  if (!covers) return undefined;
  const { configuration } = project;
  const extensions = await configuration.getPackageExtensions();
  for (const byRange of extensions.values()) for (const [, list] of byRange) if (list.some((e) => e.userProvided)) return undefined;
  const resolver = configuration.makeResolver();
  // What Yarn resolves is a dependency as its resolver binds it to the package declaring it (a
  // `patch:` or `file:` with a relative path gets `::locator=<parent>`), and yarn.lock keeps that
  // one. Yarn's resolvers of `npm:` ranges (semver, tags, aliases) bind them as they are; the other
  // ranges are few, and their resolver is asked.
  const bound = (d: Descriptor, parent: Locator): Descriptor | undefined => {
    if (d.range.startsWith('npm:')) return d;
    try {
      return resolver.bindDescriptor(d, parent, { project, resolver });
    } catch {
      return undefined;
    }
  };
  const resolvable = (d: Descriptor, parent: Locator) => {
    const dependency = bound(d, parent);
    return dependency !== undefined && project.storedResolutions.has(dependency.descriptorHash);
  };
  for (const pkg of project.originalPackages.values()) {
    for (const dep of pkg.dependencies.values()) if (!resolvable(dep, pkg)) return undefined;
    for (const [range, list] of extensions.get(pkg.identHash) ?? []) {
      if (!semverUtils.satisfiesWithPrereleases(pkg.version, range)) continue;
      for (const ext of list) {
        if (ext.type !== PackageExtensionType.Dependency || pkg.dependencies.has(ext.descriptor.identHash)) continue;
        if (!resolvable(configuration.normalizeDependency(ext.descriptor), pkg)) return undefined;
      }
    }
  }
  return fetchChecked(resolvedPackages({ packages: project.originalPackages.values(), descriptors: project.storedDescriptors, resolutions: project.storedResolutions, projectDir: project.cwd, registries: configuredRegistries(configuration) }));
}

/**
 * Registry packages are fetched through the plugin's GuardedFetcher (fetch-guard.ts), which
 * compares the downloaded bytes with the feed's sha512 before Yarn uses them: yarn.lock has no
 * npm integrity to bind them to beforehand.
 */
function fetchChecked(packages: ResolvedPackage[]): ResolvedPackage[] {
  for (const pkg of packages) if (pkg.source === 'registry') pkg.integrityCheckedOnFetch = true;
  return packages;
}

/** Every package the install would put in node_modules, as Yarn resolves it. */
export async function resolveProject(project: Project, options: { lockfileOnly: boolean }): Promise<ResolvedPackage[]> {
  const covers = lockfileCovers(project);
  const fromLockfile = await lockfileGraph(project, covers);
  if (fromLockfile) return fromLockfile;
  const report = new ThrowReport();
  // Fetches metadata (and tarball/git packages, which Yarn must unpack to read their manifest)
  // into the cache; links and runs nothing of the packages.
  const resolveFully = async () => project.resolveEverything({ report, cache: await Cache.find(project.configuration) });
  if (options.lockfileOnly || covers) {
    try {
      // No network; throws when yarn.lock lacks an entry.
      await project.resolveEverything({ report, lockfileOnly: true });
    } catch (error) {
      // `yarn up X` that keeps X's range (and `up -R X`) forgets X's resolutions in memory, with
      // yarn.lock and the manifests unchanged (measured on 4.18.1): the manifests still match
      // yarn.lock, but Yarn's install resolves X anew, and so does the gate.
      if (options.lockfileOnly) throw error;
      await resolveFully();
    }
  } else {
    await resolveFully();
  }
  return fetchChecked(resolvedPackages({
    packages: project.storedPackages.values(),
    descriptors: project.storedDescriptors,
    resolutions: project.storedResolutions,
    projectDir: project.cwd,
    registries: configuredRegistries(project.configuration),
  }));
}

/** The resolved graph of a Yarn project, through Yarn's public API (see gate.ts for why). */
import { Cache, ThrowReport, type IdentHash, type Project } from '@yarnpkg/core';
import type { ResolvedPackage } from '../../src/types';
import { resolvedPackages } from './locators';

/**
 * Whether yarn.lock already pins exactly what the manifests ask for: every workspace's
 * dependencies equal its lockfile entry's, no `resolutions`, and no transient package
 * (file:, link:, portal: — re-read on every install). Then a lockfile-only resolution gives
 * the very graph the install will use. Measured: without this test lockfileOnly happily
 * returns the lockfile's old workspace entry during `yarn add` and misses the new package.
 */
export function lockfileCovers(project: Project): boolean {
  if (project.lockfileNeedsRefresh) return false;
  if (project.topLevelWorkspace.manifest.resolutions.length > 0) return false;
  const { configuration } = project;
  for (const workspace of project.workspaces) {
    const stored = project.originalPackages.get(workspace.anchoredLocator.locatorHash);
    if (!stored) return false;
    const declared = new Map<string, string>();
    for (const deps of [workspace.manifest.dependencies, workspace.manifest.devDependencies]) {
      for (const dep of deps.values()) declared.set(dep.identHash, configuration.normalizeDependency(dep).range);
    }
    if (declared.size !== stored.dependencies.size) return false;
    for (const [identHash, range] of declared) if (stored.dependencies.get(identHash as IdentHash)?.range !== range) return false;
  }
  const resolver = configuration.makeResolver();
  for (const pkg of project.originalPackages.values()) {
    if (pkg.reference.startsWith('workspace:')) continue;
    let persisted: boolean;
    try {
      persisted = resolver.shouldPersistResolution(pkg, { project, resolver });
    } catch {
      persisted = false;
    }
    if (!persisted) return false;
  }
  return true;
}

/** Every package the install would put in node_modules, as Yarn resolves it. */
export async function resolveProject(project: Project, options: { lockfileOnly: boolean }): Promise<ResolvedPackage[]> {
  const report = new ThrowReport();
  if (options.lockfileOnly || lockfileCovers(project)) {
    // No network; throws when yarn.lock lacks an entry.
    await project.resolveEverything({ report, lockfileOnly: true });
  } else {
    // Fetches metadata (and tarball/git packages, which Yarn must unpack to read their
    // manifest) into the cache; links and runs nothing of the packages.
    const cache = await Cache.find(project.configuration);
    await project.resolveEverything({ report, cache });
  }
  return resolvedPackages({
    packages: project.storedPackages.values(),
    descriptors: project.storedDescriptors,
    resolutions: project.storedResolutions,
  });
}

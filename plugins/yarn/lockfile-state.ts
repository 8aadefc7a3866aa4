/**
 * What the lockfile graph (resolve.ts lockfileGraph) is computed from, as one string: the key
 * the gate's stored verdict is looked up by (verdict-reuse.ts). Computing the graph itself means
 * asking Yarn's resolvers about every package and mapping every locator (~35 ms of a warm
 * 1,000-package install); this reads the same state in a few milliseconds.
 *
 * On a warm `install --immutable` the graph is a function of:
 * - yarn.lock as Yarn parsed it: `project.lockFileChecksum` is Yarn's hash of the text its
 *   `originalPackages`, `storedDescriptors` and `storedResolutions` were built from;
 * - what a command changed in memory since (`dedupe` re-points resolutions, `up -R` forgets
 *   some, a restored install state replaces them): the packages' keys and every resolution;
 * - the package extensions that add dependencies (the graph must be closed under them);
 * - Yarn's version and plugins (which resolver answers for a locator, and whether it persists
 *   the resolution: a transient package is never stored, so it cannot be reused either);
 * - the registries and the project directory (the store's `extra`, verdict-reuse.ts).
 * What the key does not pin is checked on every run, before it: manifestsPinned.
 * A descriptor's hash is Yarn's hash of its ident and range, so a resolution's two hashes name
 * the descriptor and the package it resolves to.
 */
import { createHash } from 'node:crypto';
import { PackageExtensionType, YarnVersion, type Project } from '@yarnpkg/core';
import { manifestsPinned } from './resolve';

/**
 * The state's sha256 (hex), or undefined when yarn.lock does not pin the manifests (the gate
 * resolves then, and stores nothing). Yarn's hashes are hex digests of one length, so each
 * section is their plain concatenation, preceded by its count; one update per hash (measured:
 * joining them into one string first costs twice as much in a cold process).
 */
export async function lockfileState(project: Project): Promise<string | undefined> {
  // Without yarn.lock no workspace entry pins anything: manifestsPinned refuses.
  if (!manifestsPinned(project)) return undefined;
  const { configuration } = project;
  const extensions: string[] = [];
  for (const [identHash, byRange] of await configuration.getPackageExtensions()) {
    for (const [range, list] of byRange) {
      for (const extension of list) {
        // The user's own extensions make lockfileGraph resolve (and store nothing); the others are Yarn's and its plugins'.
        if (extension.userProvided) return undefined;
        if (extension.type === PackageExtensionType.Dependency) extensions.push(`${identHash} ${range} ${extension.descriptor.descriptorHash}`);
      }
    }
  }
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ yarn: YarnVersion, plugins: [...configuration.plugins.keys()], lockfile: project.lockFileChecksum, extensions }));
  hash.update(`\npackages ${project.originalPackages.size}\n`);
  for (const locatorHash of project.originalPackages.keys()) hash.update(locatorHash);
  hash.update(`\nresolutions ${project.storedResolutions.size}\n`);
  for (const [descriptorHash, locatorHash] of project.storedResolutions) hash.update(descriptorHash).update(locatorHash);
  return hash.digest('hex');
}

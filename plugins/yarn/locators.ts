/**
 * Maps what Yarn resolved (locators in `project.storedPackages`, or the lockfile's
 * `originalPackages`) to the guard's ResolvedPackage.
 *
 * Yarn resolves an `npm:` alias (`"foo": "npm:@scope/bar@^1"`) to the real package's
 * locator (`@scope/bar@npm:1.0.0`); the alias only survives in the descriptor, so aliases
 * are recovered from the descriptor → locator resolutions.
 */
import { structUtils, type Descriptor, type DescriptorHash, type LocatorHash, type Package } from '@yarnpkg/core';
import { isAbsolute } from 'node:path';
import type { ResolvedPackage, SourceKind } from '../../src/types';

export interface ResolutionView {
  packages: Iterable<Package>;
  descriptors: ReadonlyMap<DescriptorHash, Descriptor>;
  resolutions: ReadonlyMap<DescriptorHash, LocatorHash>;
}

/** `npm:<name>@<range>` descriptors name another package than their own ident: aliases. */
function aliasesByLocator(view: ResolutionView): Map<LocatorHash, string> {
  const aliases = new Map<LocatorHash, string>();
  for (const [hash, descriptor] of view.descriptors) {
    if (!descriptor.range.startsWith('npm:')) continue;
    const target = structUtils.tryParseDescriptor(descriptor.range.slice(4), true);
    if (!target || target.identHash === descriptor.identHash) continue;
    const locatorHash = view.resolutions.get(hash);
    if (locatorHash !== undefined && !aliases.has(locatorHash)) aliases.set(locatorHash, structUtils.stringifyIdent(descriptor));
  }
  return aliases;
}

/** Drops Yarn's `::locator=…` / `::__archiveUrl=…` bindings from a reference. */
function stripBindings(reference: string): string {
  const at = reference.indexOf('::');
  return at === -1 ? reference : reference.slice(0, at);
}

const GIT_REFERENCE = /^(?:git\+|git:|github:|gitlab:|bitbucket:|ssh:)|#commit=|\.git(?:#|$)/;

export interface Classified {
  source: Exclude<SourceKind, 'workspace'> | 'workspace' | 'skip';
  resolved?: string;
}

/** What kind of source a locator reference names. `skip`: not a package of its own (virtual). */
export function classifyReference(reference: string): Classified {
  if (reference.startsWith('virtual:')) return { source: 'skip' };
  if (reference.startsWith('workspace:')) return { source: 'workspace' };
  if (reference.startsWith('npm:') || reference.startsWith('jsr:')) return { source: 'registry' };
  const plain = stripBindings(reference);
  if (GIT_REFERENCE.test(plain)) return { source: 'git', resolved: plain };
  if (/^https?:/.test(plain)) return { source: 'tarball', resolved: plain };
  if (plain.startsWith('link:') || plain.startsWith('portal:')) {
    const path = plain.slice(plain.indexOf(':') + 1);
    // A link into the project itself is a local package like a workspace; one leaving it is a source.
    if (!isAbsolute(path) && !path.split('/').includes('..')) return { source: 'workspace' };
    return { source: 'link', resolved: plain };
  }
  // file:, exec: and anything a third-party resolver invents: code from outside the registry.
  return { source: 'file', resolved: plain };
}

/** `patch:name@npm%3A1.0.0#…` → the patched package's own locator reference. */
function unpatch(reference: string): string {
  let current = reference;
  while (current.startsWith('patch:')) {
    const hash = current.indexOf('#');
    const inner = decodeURIComponent(current.slice('patch:'.length, hash === -1 ? undefined : hash));
    const locator = structUtils.tryParseLocator(inner, true);
    if (!locator) break;
    current = locator.reference;
  }
  return current;
}

export function resolvedPackages(view: ResolutionView): ResolvedPackage[] {
  const aliases = aliasesByLocator(view);
  const seen = new Set<string>();
  const out: ResolvedPackage[] = [];
  for (const pkg of view.packages) {
    if (structUtils.isVirtualLocator(pkg)) continue;
    const reference = unpatch(pkg.reference);
    const kind = classifyReference(reference);
    if (kind.source === 'skip' || kind.source === 'workspace') continue;
    const name = structUtils.stringifyIdent(pkg);
    const version = pkg.version ?? (kind.source === 'registry' ? reference.slice(reference.indexOf(':') + 1) : '0.0.0');
    const key = `${name}@${version}|${kind.source}|${kind.resolved ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const resolved: ResolvedPackage = { name, version, source: kind.source };
    if (kind.resolved !== undefined) resolved.resolved = kind.resolved;
    const alias = aliases.get(pkg.locatorHash);
    if (alias !== undefined) resolved.alias = alias;
    out.push(resolved);
  }
  return out;
}

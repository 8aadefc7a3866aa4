/**
 * What the hooks have seen of the workspace in this process, and from it whether a manifest
 * readPackage receives still needs checking (see hooks.ts for what pnpm 10 and 12 show it).
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { readLocalManifest } from '../../src/lockfile/common';
import type { ResolvedPackage } from '../../src/types';
import { DeclaredSpecs, specKind, type PnpmManifest } from './classify';
import type { ProjectManifest } from './selection';

// Peers too: pnpm installs a project's peer dependencies (auto-install-peers) and locks them under the importer's dependencies.
const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;
const key = (name: string, version: string) => `${name}@${version}`;

/** JSON with sorted keys, to compare manifests whatever order pnpm serialized them in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function isInsideDir(dir: string, target: string): boolean {
  const rel = relative(dir, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export class WorkspaceView {
  readonly declared = new DeclaredSpecs();
  /** The workspace's own projects (read before preResolution): name@version → canonical manifest. */
  private readonly projects = new Map<string, string>();
  /** The projects' manifests by name (for a filtered install's scope). */
  readonly projectManifests = new Map<string, ProjectManifest>();
  /** Dependency names the projects declare now. */
  readonly projectDeps = new Set<string>();
  /** name@version seen with `dist` in this process (checked as the registry package it is). */
  private readonly seenWithDist = new Set<string>();
  /** name@version of lockfile entries (checked in preResolution), and whether they are registry ones. */
  private readonly locked = new Map<string, boolean>();
  private readonly pendingLocked: (() => readonly ResolvedPackage[])[] = [];
  /** `pnpm add <git/url/file spec>` on pnpm 10: the spec is not in the manifests readPackage saw. */
  private addingNonRegistry = false;
  /** Dependency keys whose package has arrived: a manifest of that name, a declared URL's package, a lockfile entry. */
  private readonly arrived = new Set<string>();
  private readonly linkTargets = new Map<string, { name?: string; version?: string } | undefined>();

  constructor(added: readonly string[]) {
    for (const spec of added) {
      const bare = spec.replace(/^(@[^/@]+\/)?[^@/:]+@(?=\S*[:/])/, '');
      const kind = specKind(bare);
      if (kind === undefined || kind === 'workspace') continue;
      this.addingNonRegistry = true;
      this.declared.noteUnnamed(bare);
    }
  }

  /** A project's own manifest (root, workspace package), read before preResolution. */
  noteProject(manifest: PnpmManifest): void {
    if (!manifest.dist && typeof manifest.name === 'string' && typeof manifest.version === 'string') {
      this.projects.set(key(manifest.name, manifest.version), canonical(manifest));
    }
    if (typeof manifest.name === 'string') this.projectManifests.set(manifest.name, manifest as ProjectManifest);
    for (const field of DEP_FIELDS) {
      const deps = manifest[field];
      if (deps && typeof deps === 'object') for (const name of Object.keys(deps)) this.projectDeps.add(name);
    }
    this.declared.note(manifest);
  }

  noteLocked(packages: readonly ResolvedPackage[] | (() => readonly ResolvedPackage[])): void {
    if (typeof packages === 'function') {
      // A reused verdict's entries: indexed when a manifest is first asked about (a warm install often never does).
      this.pendingLocked.push(packages);
      return;
    }
    for (const pkg of packages) {
      const id = key(pkg.name, pkg.version);
      this.locked.set(id, this.locked.get(id) === true || pkg.source === 'registry');
      // The lockfile reader names a git/tarball/file package by the keys it is installed under.
      if (pkg.source !== 'registry') this.arrived.add(pkg.name);
    }
  }

  /**
   * The names a package readPackage received installs under (DeclaredSpecs.installNames): a
   * registry package its own (an `npm:` alias is checked under the real name); a git, tarball or
   * `file:` one the dependency keys it may be linked at. Records the arrival.
   */
  installNames(manifest: PnpmManifest, pkg: ResolvedPackage, cwd: string): string[] {
    const tarball = manifest.dist && typeof manifest.dist.tarball === 'string' ? manifest.dist.tarball : undefined;
    const declaredUrl = tarball !== undefined && this.declared.isDeclaredUrl(tarball);
    // Resolved from a registry's metadata (`dist`, whatever host its tarball is on): that name.
    if (pkg.source === 'registry' || (manifest.dist && !declaredUrl)) {
      // The registry's own URL declared under other keys: those keys have their package (no git/tarball/file: one is still due there).
      if (declaredUrl) for (const name of this.declared.aliasesOf(pkg.name, tarball)) this.arrived.add(name);
      return [pkg.name];
    }
    this.flushLocked();
    if (!manifest.dist) {
      // pnpm 12 shows a `link:` target outside the project like this: the key(s) linking to a folder with this package.json.
      const links = this.linksTo(manifest, cwd);
      if (links.length > 0) {
        for (const name of links) this.arrived.add(name);
        return links;
      }
    }
    // A link key whose folder holds another package.json is not this package; one whose folder cannot be read may be.
    const names = this.declared.installNames(pkg.name, declaredUrl ? tarball : undefined, (k) => this.arrived.has(k) || this.linkTarget(k, cwd) !== undefined);
    for (const name of declaredUrl ? names : [pkg.name]) this.arrived.add(name);
    return names;
  }

  /** A link key's folder's package.json (name, version), read once; undefined when it is no link key or cannot be read. */
  private linkTarget(key: string, cwd: string): { name?: string; version?: string } | undefined {
    if (!this.linkTargets.has(key)) {
      const folder = this.declared.linkKeys().find(([k]) => k === key)?.[1];
      const manifest = folder === undefined ? {} : readLocalManifest(resolve(cwd, folder));
      this.linkTargets.set(key, manifest.name === undefined ? undefined : manifest);
    }
    return this.linkTargets.get(key);
  }

  /** The link keys (not yet arrived) whose folder holds this manifest's name@version. */
  private linksTo(manifest: PnpmManifest, cwd: string): string[] {
    return this.declared.linkKeys()
      .map(([key]) => key)
      .filter((key) => {
        const target = this.arrived.has(key) ? undefined : this.linkTarget(key, cwd);
        return target !== undefined && target.name === manifest.name && target.version === manifest.version;
      })
      .sort();
  }

  /** Whether a dependency key's package arrived in readPackage (and was checked under that key). */
  hasArrived(key: string): boolean {
    return this.arrived.has(key);
  }

  private flushLocked(): void {
    const pending = this.pendingLocked.splice(0);
    for (const packages of pending) this.noteLocked(packages());
  }

  /** Whether name@version is a lockfile entry, and a registry one; undefined when it is none. */
  private lockedAs(id: string): boolean | undefined {
    this.flushLocked();
    return this.locked.get(id);
  }

  /**
   * Whether a manifest readPackage received during resolution was checked already or is part of
   * the workspace, taken as the package its name says (installNames: the other names it may be
   * installed under are checked whatever this says).
   */
  alreadyCovered(manifest: PnpmManifest, pkg: ResolvedPackage, cwd: string): boolean {
    const id = key(pkg.name, pkg.version);
    const posing = this.declared.isNonRegistry(pkg.name);
    // A project read again (pnpm 12) is skipped; a git or file package posing as one is not.
    if (!manifest.dist && this.projects.get(id) === canonical(manifest) && !posing) return true;
    // Read again without `dist`: pnpm 10 for resolved and locked registry packages (`add`,
    // `remove`), pnpm 12 for locked `file:` ones; all were checked already. Unless a
    // git/file/tarball source could be posing as that name@version.
    const locked = this.lockedAs(id);
    if (!manifest.dist && locked === false) return true;
    if (!manifest.dist && (this.seenWithDist.has(id) || locked === true) && !posing && !this.addingNonRegistry) return true;
    // pnpm 12 shows `link:` targets; one inside the project is part of the workspace (as the lockfile reader counts it).
    if (pkg.source === 'link' && pkg.resolved && isInsideDir(cwd, resolve(cwd, pkg.resolved.slice('link:'.length)))) return true;
    if (manifest.dist) this.seenWithDist.add(id);
    return false;
  }
}

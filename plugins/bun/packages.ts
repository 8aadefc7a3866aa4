/**
 * Bun's scanner input (`Bun.Security.Package`: name, version, requestedRange, tarball) as the
 * guard's ResolvedPackage. Measured with Bun 1.4.4: registry packages come with their exact
 * version and the tarball URL Bun will download; `npm:` aliases under the real name; a
 * tarball-URL dependency has the URL as its version; `file:`/`link:` ones have the specifier as
 * version and an empty tarball. Bun hands the scanner no integrity, so the one Bun verifies the
 * download against is taken from bun.lock (what a frozen or up-to-date install verifies), else
 * from the registry's metadata for that version (what Bun itself resolved it with).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSemver } from '../../src/lockfile/common';
import { classifyBunSpec, classifySpec, declaredUrlSource, registryFor, urlPackage, type Registries } from '../../src/lockfile/source';
import { packagesFromBunLock, parseBunLockText } from '../../src/lockfile/bun';
import type { ResolvedPackage } from '../../src/types';

export interface BunPackage {
  name: string;
  version: string;
  requestedRange: string;
  tarball: string;
}

export interface IntegritySource {
  /** The integrity bun.lock pins for name@version downloaded from `tarball`, if any. */
  locked(name: string, version: string, tarball: string): string | undefined;
  /** The registry's `dist.integrity` for name@version (registry packages bun.lock does not pin). */
  fromRegistry(name: string, version: string, registry: string): Promise<string | undefined>;
}

export async function toResolvedPackage(pkg: BunPackage, projectDir: string, registries: Registries, integrity: IntegritySource): Promise<ResolvedPackage> {
  const { name, version, tarball } = pkg;
  if (isSemver(version)) {
    // The same decision as `check` of bun.lock (source.ts urlPackage): Bun downloads this URL, so a
    // registry tarball of another name@version is that package, under that name.
    const kind = /^https?:/i.test(tarball) ? urlPackage(tarball, name, version, registries) : undefined;
    if (kind?.source !== 'registry') return { name, version, source: 'tarball', ...(tarball ? { resolved: tarball } : {}) };
    const real = { name: kind.name, version: kind.version };
    const sri = integrity.locked(real.name, real.version, tarball) ?? (await integrity.fromRegistry(real.name, real.version, registryFor(real.name, registries)));
    return { ...real, source: 'registry', ...(real.name !== name ? { alias: name } : {}), ...(sri ? { integrity: sri } : {}) };
  }
  if (version.startsWith('workspace:')) return { name, version: '0.0.0', source: 'workspace', resolved: version };
  // `link:<name>`: a folder registered with `bun link`, outside the project (the same decision as `check` of bun.lock).
  if (version.startsWith('link:')) return { name, version: '0.0.0', source: classifyBunSpec(version, { projectDir }).source, resolved: version };
  if (classifySpec(version).source === 'git' || classifySpec(pkg.requestedRange).source === 'git') return { name, version: '0.0.0', source: 'git', resolved: version };
  if (/^https?:/.test(version) || /^https?:/.test(tarball)) {
    // The same decision as `check` of bun.lock: a registry's tarball is named by the package it is.
    const kind = declaredUrlSource(tarball || version, registries);
    const real = kind.name ?? name;
    return { name: real, version: kind.version ?? '0.0.0', source: 'tarball', resolved: tarball || version, ...(real !== name ? { alias: name } : {}) };
  }
  return { name, version: '0.0.0', source: 'file', resolved: version };
}

export type LockedIntegrities = ReadonlyMap<string, readonly { tarball: string; integrity: string }[]>;

/** The last bun.lock read, by its text: a scan reads it to resolve its packages, then to store its verdict. */
let lastLocked: { text: string; projectDir: string; registries: string; locked: LockedIntegrities } | undefined;

/** name@version → { tarball URL as locked ('' for the default registry), integrity } from bun.lock. */
export function lockedIntegrities(projectDir: string, registries: Registries): LockedIntegrities {
  const file = join(projectDir, 'bun.lock');
  if (!existsSync(file)) return new Map();
  const text = readFileSync(file, 'utf8');
  const registriesKey = JSON.stringify(registries);
  if (lastLocked?.text === text && lastLocked.projectDir === projectDir && lastLocked.registries === registriesKey) return lastLocked.locked;
  const out = new Map<string, { tarball: string; integrity: string }[]>();
  const lock = parseBunLockText(text, file) as { packages?: Record<string, unknown> };
  const registryEntries = new Set(packagesFromBunLock(lock, projectDir, file, { registries }).filter((p) => p.source === 'registry').map((p) => `${p.name}@${p.version}`));
  for (const entry of Object.values(lock.packages ?? {})) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[3] !== 'string') continue;
    if (!registryEntries.has(entry[0])) continue;
    const list = out.get(entry[0]) ?? [];
    list.push({ tarball: typeof entry[1] === 'string' ? entry[1] : '', integrity: entry[3] });
    out.set(entry[0], list);
  }
  lastLocked = { text, projectDir, registries: registriesKey, locked: out };
  return out;
}

/** The registry metadata's dist.integrity for one version; undefined when it cannot be read. */
export async function registryIntegrity(name: string, version: string, registry: string, authorization?: string): Promise<string | undefined> {
  const url = `${registry}${name.replace('/', '%2f')}`;
  try {
    const res = await fetch(url, {
      headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8', ...(authorization ? { authorization } : {}) },
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { versions?: Record<string, { dist?: { integrity?: unknown } }> };
    const integrity = body.versions?.[version]?.dist?.integrity;
    return typeof integrity === 'string' ? integrity : undefined;
  } catch {
    return undefined;
  }
}

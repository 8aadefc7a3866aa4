/** yarn.lock of Yarn Berry (2+), read with Yarn's own syml parser. */
import { parseSyml } from '@yarnpkg/parsers';
import { isStackOverflow, TOO_DEEP } from '../nesting';
import { join, posix } from 'node:path';
import type { ResolvedPackage, SourceKind } from '../types';
import { dedupe, fail, isGitSpec, isInside, isObject, make, readLocalManifest, splitNameAt, str } from './common';

const LEGACY_HEADER = /^(#.*\r?\n)*?#\s+yarn\s+lockfile\s+v1\r?\n/i;

interface Locator {
  name: string;
  reference: string;
}

function parseLocator(text: string): Locator | undefined {
  const split = splitNameAt(text);
  return split && split.rest !== '' ? { name: split.name, reference: split.rest } : undefined;
}

/** `path::locator=name%40workspace%3A.&hash=…` → the path and its parameters. */
function splitParams(reference: string): { body: string; params: URLSearchParams } {
  const at = reference.indexOf('::');
  if (at === -1) return { body: reference, params: new URLSearchParams() };
  return { body: reference.slice(0, at), params: new URLSearchParams(reference.slice(at + 2)) };
}

/** Folder of the workspace a `file:`/`portal:`/`link:` path is relative to. */
function parentDir(params: URLSearchParams): string {
  const locator = params.get('locator');
  const parent = locator ? parseLocator(locator) : undefined;
  if (parent?.reference.startsWith('workspace:')) return parent.reference.slice('workspace:'.length);
  return '.';
}

interface Classified {
  name: string;
  source: SourceKind;
  resolved?: string;
}

function classify(locator: Locator, lockfileDir: string): Classified {
  const { name, reference } = locator;
  if (reference.startsWith('npm:')) return { name, source: 'registry' };
  if (reference.startsWith('patch:')) {
    // patch:inner-locator-urlencoded#patch-path::params → the inner package decides.
    const hash = reference.indexOf('#');
    const inner = parseLocator(decodeURIComponent(reference.slice('patch:'.length, hash === -1 ? undefined : hash)));
    if (inner) return classify(inner, lockfileDir);
  }
  if (reference.startsWith('workspace:')) return { name, source: 'workspace', resolved: reference.slice('workspace:'.length) };
  for (const protocol of ['portal:', 'link:'] as const) {
    if (!reference.startsWith(protocol)) continue;
    const { body, params } = splitParams(reference.slice(protocol.length));
    const path = posix.normalize(posix.join(parentDir(params), body));
    return { name, source: isInside(lockfileDir, path) ? 'file' : 'link', resolved: path };
  }
  if (reference.startsWith('file:')) {
    const { body, params } = splitParams(reference.slice('file:'.length));
    const path = body.split('#')[0]!;
    return { name, source: 'file', resolved: posix.normalize(posix.join(parentDir(params), path)) };
  }
  if (isGitSpec(reference)) return { name, source: 'git', resolved: reference };
  if (/^https?:/.test(reference)) return { name, source: 'tarball', resolved: reference };
  // Unknown protocols (plugins, exec:) are local or custom code: never the registry.
  return { name, source: 'file', resolved: reference };
}

/**
 * One resolved Yarn package from its locator (`name@npm:1.2.0`, `name@patch:…`, …), as a
 * yarn.lock entry or Yarn's own Project (a plugin) gives it. `descriptors` (`alias@npm:real@^1`)
 * supply the alias. Returns undefined for the project's root workspace, null for a locator
 * that cannot be read.
 */
export function packageFromYarnResolution(resolution: string, version: string, lockfileDir: string, descriptors: readonly string[] = []): ResolvedPackage | undefined | null {
  const locator = parseLocator(resolution);
  if (!locator) return null;
  const kind = classify(locator, lockfileDir);
  if (kind.source === 'workspace' && kind.resolved === '.') return undefined; // the project itself
  let actualVersion = version;
  if (version === '0.0.0-use.local' && kind.resolved !== undefined) {
    // Workspaces and portals/links: Yarn does not record the folder's version.
    actualVersion = readLocalManifest(join(lockfileDir, kind.resolved)).version ?? version;
  }
  // Descriptors like `alias@npm:real@^1.0.0` name the alias; the resolution names the real package.
  let alias: string | undefined;
  for (const descriptor of descriptors) {
    const d = parseLocator(descriptor.trim());
    if (d && d.name !== kind.name) {
      alias = d.name;
      break;
    }
  }
  // The checksum hashes Yarn's cache zip, not the npm tarball: no integrity here.
  return make({ name: kind.name, version: actualVersion, source: kind.source, ...(kind.resolved ? { resolved: kind.resolved } : {}), ...(alias ? { alias } : {}) });
}

export function packagesFromYarnLock(text: string, lockfileDir: string, file?: string): ResolvedPackage[] {
  if (LEGACY_HEADER.test(text)) {
    return fail(file, 'this is a Yarn 1 (classic) lockfile; only Yarn Berry (2+) lockfiles are supported — run it through Yarn 2+ or use its pnpm/npm lockfile', 'ERR_PG_LOCKFILE_UNSUPPORTED');
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = parseSyml(text);
  } catch (error) {
    if (isStackOverflow(error)) return fail(file, `invalid yarn.lock syntax: ${TOO_DEEP}`, 'ERR_PG_LOCKFILE_PARSE');
    return fail(file, `invalid yarn.lock syntax: ${(error as Error).message.split('\n')[0]!.replace(/:\s*$/, '')}`, 'ERR_PG_LOCKFILE_PARSE');
  }
  if (Object.keys(parsed).length === 0) return [];
  if (!isObject(parsed.__metadata)) {
    return fail(file, 'no __metadata section: not a Yarn Berry lockfile (Yarn 1 lockfiles are not supported)', 'ERR_PG_LOCKFILE_UNSUPPORTED');
  }
  const out: ResolvedPackage[] = [];
  for (const [key, entry] of Object.entries(parsed)) {
    if (key === '__metadata') continue;
    if (!isObject(entry)) return fail(file, `entry "${key}" must be a mapping`);
    const resolution = str(entry.resolution);
    if (!resolution) return fail(file, `entry "${key}" has no resolution`);
    const version = str(entry.version);
    if (!version) return fail(file, `entry "${key}" has no version`);
    const pkg = packageFromYarnResolution(resolution, version, lockfileDir, key.split(','));
    if (pkg === null) return fail(file, `entry "${key}" has an unreadable resolution "${resolution}"`);
    if (pkg) out.push(pkg);
  }
  return dedupe(out);
}

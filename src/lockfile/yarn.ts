/** yarn.lock of Yarn Berry (2+), read with Yarn's own syml parser. */
import { parseSyml } from '@yarnpkg/parsers';
import { resolve } from 'node:path';
import type { ResolvedPackage } from '../types';
import { dedupe, fail, isObject, make, readLocalManifest, str } from './common';
import { yarnRegistriesFor } from './registries';
import { classifySpec, registryTarballPackage, splitBindings, splitNameAt, urlSource, type Registries, type SourceClass } from './source';
import { isStackOverflow, TOO_DEEP } from '../nesting';

const LEGACY_HEADER = /^(#.*\r?\n)*?#\s+yarn\s+lockfile\s+v1\r?\n/i;

interface Locator {
  name: string;
  reference: string;
}

function parseLocator(text: string): Locator | undefined {
  const split = splitNameAt(text);
  return split && split.rest !== '' ? { name: split.name, reference: split.rest } : undefined;
}

export interface YarnReadOptions {
  /** Default: Yarn's settings (.yarnrc.yml) for the lockfile's directory. */
  registries?: Registries;
}

/**
 * The locator Yarn fetches for a locator: a `patch:` locator's innermost source
 * (`foo@patch:bar@npm%3A1.0.0#…` → `bar@npm:1.0.0`; the patch file is the project's own), else
 * the locator itself. Undefined when a patch's source cannot be read.
 */
export function fetchedLocator(locator: Locator): Locator | undefined {
  let current = locator;
  while (current.reference.startsWith('patch:')) {
    const hash = current.reference.indexOf('#');
    const inner = parseLocator(decodeURIComponent(current.reference.slice('patch:'.length, hash === -1 ? undefined : hash)));
    if (!inner) return undefined;
    current = inner;
  }
  return current;
}

/** The version an `npm:` locator (possibly patched) fetches: `npm:1.0.0::…` → 1.0.0. */
export function npmLocatorVersion(reference: string): string | undefined {
  const fetched = fetchedLocator({ name: 'x', reference });
  return fetched?.reference.startsWith('npm:') ? splitBindings(fetched.reference.slice(4)).body : undefined;
}

/** What a Yarn locator installs: the package named by what Yarn fetches, its source, and the name it is installed under when that differs. */
export interface YarnInstalled {
  name: string;
  version: string;
  kind: SourceClass;
  alias?: string;
}

/**
 * What a Yarn locator installs, for `check` (yarn.lock) and the Yarn plugin (its gate and its
 * fetcher) alike (SPEC "Verdicts": the name is the one of what is installed, derived from the
 * resolution). `version` is the version recorded for it (yarn.lock's `version:`, Yarn's
 * package), used only when the locator does not name one.
 * - A `patch:` is its innermost source (what Yarn downloads), under the patched locator's name.
 * - An `npm:` locator is the registry at the version it names; when its tarball is elsewhere
 *   Yarn binds it as `::__archiveUrl=` (also inside a patch's source) and fetches that URL: the
 *   registry only when it is the configured registry's URL for name@version, else a tarball.
 * - An http(s) locator is a tarball, unless it is the configured registry's own URL of a
 *   name@version: then it is that registry package (under its locator's name, an alias).
 */
export function yarnLocatorPackage(locator: Locator, version: string, lockfileDir: string, registries: Registries): YarnInstalled {
  const fetched = fetchedLocator(locator) ?? locator;
  const aliased = (name: string) => (name !== locator.name ? { alias: locator.name } : {});
  const kind = classifySpec(locator.reference, { projectDir: lockfileDir });
  if (kind.source === 'registry') {
    const registryVersion = npmLocatorVersion(locator.reference);
    const archiveUrl = splitBindings(fetched.reference).params.get('__archiveUrl');
    const source = archiveUrl ? urlSource(archiveUrl, fetched.name, registryVersion ?? version, registries) : kind;
    // Yarn fetches the version its locator names, whatever the entry's `version:` says.
    const actual = source.source === 'registry' && registryVersion !== undefined ? registryVersion : version;
    return { name: fetched.name, version: actual, kind: source, ...aliased(fetched.name) };
  }
  if (kind.source === 'tarball' && kind.resolved !== undefined) {
    const registryPackage = registryTarballPackage(kind.resolved, registries);
    if (registryPackage) return { ...registryPackage, kind: { source: 'registry' }, ...aliased(registryPackage.name) };
  }
  return { name: fetched.name, version, kind, ...aliased(fetched.name) };
}

/**
 * One resolved Yarn package from its locator (`name@npm:1.2.0`, `name@patch:…`, …), as a
 * yarn.lock entry or Yarn's own Project (a plugin) gives it. `descriptors` (`alias@npm:real@^1`)
 * supply the alias. Returns undefined for the project's root workspace, null for a locator
 * that cannot be read.
 */
export function packageFromYarnResolution(
  resolution: string,
  version: string,
  lockfileDir: string,
  descriptors: readonly string[] = [],
  options: YarnReadOptions & { file?: string } = {},
): ResolvedPackage | undefined | null {
  const locator = parseLocator(resolution);
  if (!locator) return null;
  const installed = yarnLocatorPackage(locator, version, lockfileDir, options.registries ?? yarnRegistriesFor(lockfileDir));
  const { kind } = installed;
  if (kind.source === 'workspace' && kind.resolved === '.') return undefined; // the project itself
  let actualVersion = installed.version;
  if (version === '0.0.0-use.local' && kind.resolved !== undefined) {
    // Workspaces and portals/links: Yarn does not record the folder's version.
    actualVersion = readLocalManifest(resolve(lockfileDir, kind.resolved)).version ?? version; // an absolute path stays absolute
  }
  // Descriptors like `alias@npm:real@^1.0.0` name the alias; the resolution names the real package.
  let alias = installed.alias;
  for (const descriptor of alias === undefined ? descriptors : []) {
    const d = parseLocator(descriptor.trim());
    if (d && d.name !== installed.name) {
      alias = d.name;
      break;
    }
  }
  // The checksum hashes Yarn's cache zip, not the npm tarball: no integrity here.
  return make(
    { name: installed.name, version: actualVersion, source: kind.source, ...(kind.resolved ? { resolved: kind.resolved } : {}), ...(alias ? { alias } : {}) },
    { file: options.file, entry: resolution },
  );
}

export function packagesFromYarnLock(text: string, lockfileDir: string, file?: string, options: YarnReadOptions = {}): ResolvedPackage[] {
  const registries = options.registries ?? yarnRegistriesFor(lockfileDir);
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
    const pkg = packageFromYarnResolution(resolution, version, lockfileDir, key.split(','), { registries, file });
    if (pkg === null) return fail(file, `entry "${key}" has an unreadable resolution "${resolution}"`);
    if (pkg) out.push(pkg);
  }
  return dedupe(out);
}

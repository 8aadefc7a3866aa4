/**
 * Binds what Yarn downloads to the feed (SPEC "Verdicts": integrity is bound, never assumed).
 * yarn.lock's checksum hashes Yarn's cache zip, not npm's tarball integrity, so offline the
 * gate has nothing to compare with the feed's sha512 before the install. Here every registry
 * package (`npm:` semver locators: plugin-npm's NpmSemverFetcher and NpmHttpFetcher) is
 * fetched through a wrapper of Yarn's fetcher that downloads the tarball exactly as
 * plugin-npm does (same URL, Yarn's own HTTP layer, registry and auth settings), hashes the
 * bytes, and compares them with the record's sha512 before converting them to the zip Yarn
 * stores: a mismatch throws inside the cache loader, so nothing reaches Yarn's cache,
 * node_modules or .pnp.cjs, and no script runs (block mode; a warning under warn).
 *
 * A warm cache never reaches a loader. An archive found in Yarn's cache is used only when the
 * guard's own record (verified-archives.ts) says it was built from a verified tarball;
 * otherwise the tarball is downloaded again, verified, converted the way Yarn converts it
 * (deterministic: the same bytes give the same zip, which is what yarn.lock checksums rely
 * on), and the cached archive must be that zip. A Yarn cache restored from a pull-request
 * job is therefore never trusted on its own; offline, an unrecorded archive fails closed.
 */
import { hashUtils, MessageName, type Configuration, ReportError, structUtils, tgzUtils, type Fetcher, type FetchOptions, type FetchResult, type Locator, type MinimalFetchOptions } from '@yarnpkg/core';
import { npath, xfs, type PortablePath } from '@yarnpkg/fslib';
import { npmHttpUtils, NpmSemverFetcher } from '@yarnpkg/plugin-npm';
import { valid as validSemver } from 'semver';
import { bindIntegrity, sha512Integrity } from '../../src/policy/integrity';
import type { Registries } from '../../src/lockfile/source';
import { yarnLocatorPackage } from '../../src/lockfile/yarn';
import { configuredRegistries } from './locators';
import type { PackageResult } from '../../src/types';
import { packageMessage, policyBlock } from './messages';
import { fetchCheckEnd, fetchCheckStart } from './timing';
import { archiveHash, rememberedArchive, type VerifiedArchives } from './verified-archives';

export interface FetchExpectation {
  /** `name@version`: what the verified-archive record is of. */
  id: string;
  /**
   * The feed record's integrity the downloaded bytes must match; INTEGRITY_IN_FEED where a stored
   * verdict did not carry it (FetchPolicy.withIntegrity looks it up before it is compared or recorded).
   */
  integrity: string;
  /** block mode: a mismatch fails the install; otherwise it is a warning. */
  block: boolean;
  /** The archive this machine verified against `integrity` for this package, as the gate's stored verdict remembers it (rememberedArchive). */
  archive?: string;
  /** An http(s) locator's URL, the configured registry's own for name@version (registryPackage): where its tarball is downloaded from. */
  url?: string;
}

export interface FetchPolicy {
  /** What the tarball of a registry package must hash to; undefined when nothing is expected (not in the feed, excluded). */
  expectation(name: string, version: string): Promise<FetchExpectation | undefined>;
  /**
   * The expectation with the feed's sha512 where a stored verdict did not carry it
   * (verdict-reuse.ts INTEGRITY_IN_FEED): asked before the integrity is compared or recorded, that
   * is whenever the archive is not the one the verdict remembers.
   */
  withIntegrity(expected: FetchExpectation): Promise<FetchExpectation>;
  archives: VerifiedArchives;
  configFile: string | undefined;
  /** The archive Yarn hands over for `expected` (its sha512, hex) was verified against its integrity in this process. */
  verified(expected: FetchExpectation, archive: string): void;
}

/** `npm:1.2.3`: a release version that is valid semver as it stands (most of a lockfile), read without parsing. */
const PLAIN_NPM_VERSION = /^npm:(?:0|[1-9]\d{0,14})\.(?:0|[1-9]\d{0,14})\.(?:0|[1-9]\d{0,14})$/;

/**
 * name and version of a registry package as plugin-npm's fetchers handle it (`npm:<semver>`,
 * optionally `::__archiveUrl=…`: its bytes are bound to name@version's record wherever they come
 * from), or an http(s) locator that is the configured registry's own tarball URL of a
 * name@version (yarnLocatorPackage decides, as for the gate and `check`; `url`: what Yarn's
 * tarball fetcher downloads); undefined for any other locator.
 */
export function registryPackage(locator: Locator, registries?: Registries): { name: string; version: string; url?: string } | undefined {
  if (PLAIN_NPM_VERSION.test(locator.reference)) return { name: structUtils.stringifyIdent(locator), version: locator.reference.slice(4) };
  if (/^https?:\/\//i.test(locator.reference)) {
    if (!registries) return undefined;
    const installed = yarnLocatorPackage({ name: structUtils.stringifyIdent(locator), reference: locator.reference }, '0.0.0', '/', registries);
    return installed.kind.source === 'registry' ? { name: installed.name, version: installed.version, url: locator.reference } : undefined;
  }
  if (!locator.reference.startsWith('npm:')) return undefined;
  const { selector } = structUtils.parseRange(locator.reference);
  return validSemver(selector) === null ? undefined : { name: structUtils.stringifyIdent(locator), version: selector };
}

const registriesOf = new WeakMap<Configuration, Registries>();

/** Yarn's configured registries (memoized per configuration: every fetch asks). */
function yarnRegistries(configuration: Configuration): Registries {
  let registries = registriesOf.get(configuration);
  if (!registries) registriesOf.set(configuration, (registries = configuredRegistries(configuration)));
  return registries;
}

/** The tarball, from the URL plugin-npm would use. */
async function download(locator: Locator, opts: FetchOptions, expected: FetchExpectation): Promise<Buffer> {
  if (expected.url !== undefined) {
    // The registry's own URL of this package (an http(s) locator): what Yarn's tarball fetcher gets.
    return (await npmHttpUtils.get(expected.url, { customErrorMessage: npmHttpUtils.customPackageError, configuration: opts.project.configuration, ident: structUtils.parseIdent(expectedPackage(expected).name) })) as Buffer;
  }
  const request = { customErrorMessage: npmHttpUtils.customPackageError, configuration: opts.project.configuration, ident: locator };
  const { params } = structUtils.parseRange(locator.reference);
  if (params && typeof params.__archiveUrl === 'string') return (await npmHttpUtils.get(params.__archiveUrl, request)) as Buffer;
  const url = NpmSemverFetcher.getLocatorUrl(locator);
  try {
    return (await npmHttpUtils.get(url, request)) as Buffer;
  } catch {
    return (await npmHttpUtils.get(url.replace(/%2f/g, '/'), request)) as Buffer;
  }
}

/** The name and version an expectation's `name@version` id is of. */
export function expectedPackage(expected: Pick<FetchExpectation, 'id'>): { name: string; version: string } {
  const at = expected.id.lastIndexOf('@');
  return { name: expected.id.slice(0, at), version: expected.id.slice(at + 1) };
}

function integrityResult(expected: FetchExpectation, message: string, block: boolean): PackageResult {
  const { name, version } = expectedPackage(expected);
  return { name, version, verdict: block ? 'block' : 'warn', findings: [{ rule: 'integrity', severity: block ? 'block' : 'warn', message }] };
}

/**
 * What one policy's fetches learned in this process. Yarn fetches every package twice (to fetch,
 * then to link): the second fetch of a locator asks nothing again, and the same archive (same
 * locator and Yarn checksum, so the same cache file) checked before is not checked again.
 */
interface FetchMemo {
  /** locatorHash → its expectation (null: none, not a registry package). */
  expected: Map<string, FetchExpectation | null>;
  /** locatorHash → the checksum Yarn gave with the archive checked ('' for none). */
  checked: Map<string, string>;
}

const memos = new WeakMap<FetchPolicy, FetchMemo>();

function memoOf(policy: FetchPolicy): FetchMemo {
  let memo = memos.get(policy);
  if (!memo) memos.set(policy, (memo = { expected: new Map(), checked: new Map() }));
  return memo;
}

export class GuardedFetcher implements Fetcher {
  private readonly memo: FetchMemo;

  constructor(private readonly inner: Fetcher, private readonly policy: FetchPolicy) {
    this.memo = memoOf(policy);
  }

  supports(locator: Locator, opts: MinimalFetchOptions): boolean {
    return this.inner.supports(locator, opts);
  }

  getLocalPath(locator: Locator, opts: FetchOptions) {
    return this.inner.getLocalPath(locator, opts);
  }

  async fetch(locator: Locator, opts: FetchOptions): Promise<FetchResult> {
    let started = fetchCheckStart();
    const known = isMocked(locator, opts) ? null : this.memo.expected.get(locator.locatorHash);
    fetchCheckEnd(started, 'memo');
    const expected = known === undefined ? await this.expectationOf(locator, opts.project.configuration) : known;
    if (!expected) return this.inner.fetch(locator, opts);
    // Whether this fetch downloaded the tarball (and whether its sha512 was the feed's: under warn a mismatch installs, never recorded).
    let loaded: { bound: boolean; integrity: string } | undefined;
    const [packageFs, releaseFs, checksum] = await opts.cache.fetchPackageFromCache(locator, opts.checksums.get(locator.locatorHash) ?? null, {
      onHit: () => opts.report.reportCacheHit(locator),
      onMiss: () => opts.report.reportCacheMiss(locator, `${structUtils.prettyLocator(opts.project.configuration, locator)} can't be found in the cache and will be fetched from the remote registry`),
      loader: async () => {
        const full = await this.policy.withIntegrity(expected);
        const { zip, bound } = await this.verifiedZip(locator, opts, full);
        loaded = { bound, integrity: full.integrity };
        return zip;
      },
      ...opts.cacheOptions,
    });
    try {
      started = fetchCheckStart();
      const checked = this.memo.checked.get(locator.locatorHash) === (checksum ?? '');
      fetchCheckEnd(started, 'memo');
      if (!checked) {
        const archive = await archiveChecksum(opts, packageFs.getRealPath(), checksum);
        let verified: boolean;
        if (loaded) {
          verified = loaded.bound;
          if (verified) this.policy.archives.add(archive, expected.id, loaded.integrity);
        } else {
          verified = this.isRemembered(expected, archive) || (await this.checkCachedArchive(locator, opts, await this.policy.withIntegrity(expected), archive));
        }
        if (verified) this.policy.verified(expected, archive);
        this.memo.checked.set(locator.locatorHash, checksum ?? '');
      }
    } catch (error) {
      releaseFs();
      throw error;
    }
    return { packageFs, releaseFs, prefixPath: structUtils.getIdentVendorPath(locator), checksum };
  }

  /** The policy's expectation of a registry package (remembered; a block throws every time). */
  private async expectationOf(locator: Locator, configuration: Configuration): Promise<FetchExpectation | null> {
    const started = fetchCheckStart();
    let pending: Promise<FetchExpectation | undefined> | undefined;
    const registry = registryPackage(locator, yarnRegistries(configuration));
    if (registry) pending = this.policy.expectation(registry.name, registry.version);
    fetchCheckEnd(started, 'expectations');
    const found = (pending && (await pending)) ?? null;
    const expected = found && registry?.url !== undefined ? { ...found, url: registry.url } : found;
    this.memo.expected.set(locator.locatorHash, expected);
    return expected;
  }

  /**
   * Downloads the tarball, compares its sha512 with the feed's, and converts it to Yarn's zip.
   * `bound` is false when they differ under warn (block throws): that archive is never recorded as verified.
   */
  private async verifiedZip(locator: Locator, opts: FetchOptions, expected: FetchExpectation) {
    const bytes = await download(locator, opts, expected);
    const bound = this.bind(opts, sha512Integrity(bytes), expected);
    const zip = await tgzUtils.convertToZip(bytes, { configuration: opts.project.configuration, prefixPath: structUtils.getIdentVendorPath(locator), stripComponents: 1 });
    return { zip, bound };
  }

  /** Whether the downloaded bytes are the feed's; a mismatch throws in block mode and is a warning (false) otherwise. */
  private bind(opts: FetchOptions, actual: string, expected: FetchExpectation): boolean {
    const binding = bindIntegrity(actual, expected.integrity);
    if (binding.outcome === 'bound') return true;
    const message = binding.outcome === 'mismatch'
      ? `the downloaded tarball's integrity ${actual} does not match the feed's ${expected.integrity}: the tarball is not the one the evidence is about`
      : `the downloaded tarball cannot be bound to the feed's record: ${binding.reason}`;
    this.fail(expected, opts, message);
    return false;
  }

  private fail(expected: FetchExpectation, opts: FetchOptions, message: string): void {
    const { block } = expected;
    const text = packageMessage(integrityResult(expected, message, block), this.policy.configFile);
    if (block) throw policyBlock(text);
    opts.report.reportWarning(MessageName.UNNAMED, text);
  }

  /** The archive is the one the gate's stored verdict says this machine verified for this package and integrity. */
  private isRemembered(expected: FetchExpectation, archive: string): boolean {
    const started = fetchCheckStart();
    const remembered = expected.archive === rememberedArchive(archive);
    fetchCheckEnd(started, 'records');
    return remembered;
  }

  /**
   * A cache hit: trusted only when recorded as verified, else rebuilt from a verified download and
   * compared. Whether it is verified now (false: a warning under warn; block throws).
   */
  private async checkCachedArchive(locator: Locator, opts: FetchOptions, expected: FetchExpectation, archive: string): Promise<boolean> {
    const started = fetchCheckStart();
    const recorded = this.policy.archives.has(archive, expected.id, expected.integrity);
    fetchCheckEnd(started, 'records');
    if (recorded) return true;
    let zip;
    let bound: boolean;
    try {
      ({ zip, bound } = await this.verifiedZip(locator, opts, expected));
    } catch (error) {
      if (error instanceof ReportError) throw error;
      this.fail(expected, opts, `the archive in Yarn's cache was not verified on this machine and the tarball could not be downloaded to verify it: ${(error as Error).message}`);
      return false;
    }
    const path = zip.getRealPath();
    zip.saveAndClose();
    const rebuilt = await hashUtils.checksumFile(path).finally(() => xfs.removePromise(path));
    if (archive !== rebuilt) {
      this.fail(expected, opts, `the archive in Yarn's cache (${npath.fromPortablePath(opts.cache.cwd)}) is not the one built from the verified tarball: it was not fetched from this registry tarball`);
      return false;
    }
    if (bound) this.policy.archives.add(archive, expected.id, expected.integrity);
    return bound;
  }
}

/** A package of another platform: Yarn's cache hands over a stand-in with only its name, never its files, and links nothing of it. */
function isMocked(locator: Locator, opts: FetchOptions): boolean {
  return opts.cacheOptions?.mockedPackages?.has(locator.locatorHash) === true && !opts.cache.check;
}

/**
 * Whether a checksum Yarn's cache returns is the hash of the archive it hands over. It is not
 * when Yarn skips hashing (the link step's second fetch, `yarn add`'s lookups) or returns
 * yarn.lock's checksum for a file that does not match it (checksumBehavior `ignore`, or `reset`
 * after a reload). For a package of this platform only (Yarn's `unstablePackages`) it returns none.
 */
export function yarnHashedArchive(opts: Pick<FetchOptions, 'cacheOptions' | 'cache' | 'project'>): boolean {
  if (opts.cacheOptions?.skipIntegrityCheck) return false;
  if (opts.cache.check) return true;
  const behavior = opts.project.configuration.get('checksumBehavior');
  return behavior === 'throw' || behavior === 'update';
}

/** The sha512 (hex) of the archive at `path`, which Yarn's cache handed over with `checksum`. */
async function archiveChecksum(opts: FetchOptions, path: PortablePath, checksum: string | null): Promise<string> {
  if (checksum !== null && yarnHashedArchive(opts)) return archiveHash(checksum);
  return hashUtils.checksumFile(path);
}

const policies = new WeakMap<Configuration, FetchPolicy>();

/**
 * Routes every fetch of this configuration through GuardedFetcher with the latest policy.
 * Yarn builds its fetcher from the plugins in load order, built-ins first (a plugin's own
 * `fetchers` would come after plugin-npm's and never be asked), so the wrapper goes around
 * the whole fetcher instead; validateProject runs before Yarn builds the install's fetcher.
 */
export function guardFetches(configuration: Configuration, policy: FetchPolicy): void {
  const wrapped = policies.has(configuration);
  policies.set(configuration, policy);
  if (wrapped) return;
  const make = configuration.makeFetcher.bind(configuration);
  // Yarn types makeFetcher as returning its MultiFetcher; every caller only uses the Fetcher interface.
  configuration.makeFetcher = () => new GuardedFetcher(make(), policies.get(configuration)!) as unknown as ReturnType<Configuration['makeFetcher']>;
}

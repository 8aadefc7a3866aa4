/**
 * Live evidence: for each registry package version, a FeedRecord built from the sources
 * the config enables — the registry (repository claim, gitHead, integrity), npm provenance
 * (Sigstore-verified repository attestation), deps.dev, OpenSSF Scorecard and OSS Rebuild.
 * A failing source leaves its evidence unknown with a warning (or throws EvidenceError under
 * `onError: fail`); nothing fetched is ever executed.
 */
import type { KeyObject } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourcesConfig } from '../config/types';
import { EvidenceError } from '../errors';
import { cacheDir as defaultCacheDir, stateDir as defaultStateDir } from '../paths';
import type { FeedRecord, RepositoryEvidence, ResolvedPackage } from '../types';
import { EvidenceCache, evidenceStore } from './cache';
import { fetchDepsDevScorecard, fetchDepsDevVersion, type DepsDevVersion } from './depsdev';
import { DEFAULT_RETRY, describeError, getJson, getText, isDnsFailure, isRecord, MalformedResponseError, SourceDownError, type RequestOptions, type RetryPolicy } from './http';
import { createLimiter, type Limiter } from './limit';
import { authorizationFor, fetchOptions, loadNpmConfig, registryFor, type NpmConfig } from '../npmrc';
import { loadRebuildKeys, OSS_REBUILD_PUBLIC_KEY, parseRebuildAttestations, rebuildAttestationUrl } from './oss-rebuild';
import { evaluateAttestations, sha512Hex, type AttestedSource, type ProvenanceOutcome } from './provenance';
import { fetchPackageVersions, fetchTarballSha256, VersionNotFoundError, type PackageVersions, type RegistryFetchOptions, type RegistryVersionInfo } from './registry';
import { sameRepository } from './repository';
import { fetchScorecard, type ScorecardSummary } from './scorecard';
import { loadTrustMaterial, type LoadedTrustMaterial, type TrustedRootSource } from './trust-root';

export { parsePackageSpecs } from './specs';
export { createProgressBar, renderProgress } from './progress';
export { normalizeRepository, normalizeRepositoryUrl } from './repository';
export { loadNpmConfig, registryFor } from '../npmrc';
export { OSS_REBUILD_PUBLIC_KEY } from './oss-rebuild';
export type { TrustedRootSource } from './trust-root';
export type { RetryPolicy } from './http';

export interface GatherOptions {
  sources: SourcesConfig;
  /** Cache directory; default: cacheDir(env) (PROVENANCE_GUARD_CACHE_DIR, XDG, ~/.cache). */
  cacheDir?: string;
  /** State directory (its machine secret authenticates the on-disk cache); default: stateDir(env). */
  stateDir?: string;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Where the user's npm config is read from (project .npmrc lookup); default process.cwd(). */
  npmrc?: { cwd: string };
  env?: NodeJS.ProcessEnv;
  /** Sigstore trust root for npm provenance; default `tuf` (falls back to the shipped root). */
  trustedRoot?: TrustedRootSource;
  /** PEM public keys OSS Rebuild attestations must be signed with; default OSS Rebuild's key. */
  rebuildPublicKeys?: string[];
  /** Backoff for 429/5xx/timeouts; default 3 retries from 500 ms, at most 30 s per wait. */
  retry?: Partial<RetryPolicy>;
}

export interface GatherResult {
  /** One record per distinct registry name@version, in input order. */
  records: FeedRecord[];
  warnings: string[];
}

type SourceName = 'registry' | 'provenance' | 'depsDev' | 'scorecard' | 'ossRebuild';

/** Consecutive failed requests after which a source is skipped for the rest of a run. */
const BREAKER = 5;

const SOURCE_NAMES: readonly SourceName[] = ['registry', 'provenance', 'depsDev', 'scorecard', 'ossRebuild'];

interface RebuildOutcome {
  reproducible: boolean;
  warnings: string[];
}

class Gatherer {
  readonly warnings: string[] = [];
  private readonly warned = new Set<string>();
  private readonly cache: EvidenceCache;
  private readonly limits: Record<SourceName, Limiter>;
  private readonly npm: NpmConfig;
  private readonly npmOptions: Record<string, unknown>;
  private readonly retry: RetryPolicy;
  private readonly cacheRoot: string;
  private readonly stateRoot: string;
  /** Consecutive failed requests per source, and why a source was given up on. */
  private readonly failures = new Map<SourceName, number>();
  private readonly down = new Map<SourceName, string>();
  /** Aborted when a source goes down: its requests in flight and its retry waits end at once. */
  private readonly stops = new Map<SourceName, AbortController>(SOURCE_NAMES.map((name) => [name, new AbortController()]));
  /** Failures already counted per attempt, so a lookup's final error is not counted twice. */
  private readonly counted = new WeakSet<object>();
  private trust?: Promise<LoadedTrustMaterial>;
  private rebuildKeys?: KeyObject[];
  private pacoteCache?: string;
  private readonly packuments = new Map<string, Promise<PackageVersions | undefined>>();

  constructor(private readonly options: GatherOptions) {
    const env = options.env ?? process.env;
    const s = options.sources;
    this.cacheRoot = options.cacheDir ?? defaultCacheDir(env);
    this.stateRoot = options.stateDir ?? defaultStateDir(env);
    this.cache = new EvidenceCache(evidenceStore(this.cacheRoot, this.stateRoot), s.cacheTtl);
    const n = s.concurrency;
    this.limits = { registry: createLimiter(n), provenance: createLimiter(n), depsDev: createLimiter(n), scorecard: createLimiter(n), ossRebuild: createLimiter(n) };
    this.npm = loadNpmConfig({ cwd: options.npmrc?.cwd ?? process.cwd(), env });
    this.npmOptions = fetchOptions(this.npm);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  private warn(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warnings.push(message);
  }

  /** The run's signal joined with the source's own stop signal. */
  private signalFor(source: SourceName): AbortSignal {
    const stop = this.stops.get(source)!.signal;
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, stop]) : stop;
    setMaxListeners(0, signal);
    return signal;
  }

  private request(source: SourceName): RequestOptions {
    return { timeout: this.options.sources.timeout, retry: this.retry, signal: this.signalFor(source), onAttemptError: (error) => this.noteFailure(source, error) };
  }

  private registryOptions(registry: string): RegistryFetchOptions {
    return {
      registry,
      npmOptions: this.npmOptions,
      timeout: this.options.sources.timeout,
      retry: this.retry,
      pacoteCache: (this.pacoteCache ??= mkdtempSync(join(tmpdir(), 'pg-pacote-'))),
      signal: this.signalFor('registry'),
      onAttemptError: (error) => this.noteFailure('registry', error),
    };
  }

  /** Runs `task` in the source's queue; a lookup still queued when the source goes down is dropped at once. */
  private limited<T>(source: SourceName, task: () => Promise<T>): Promise<T> {
    return this.limits[source](() => (this.down.has(source) ? Promise.reject(new SourceDownError(source)) : task()));
  }

  /**
   * Counts a failed request against its source. A host that does not resolve (ENOTFOUND,
   * EAI_AGAIN) is down at once; otherwise BREAKER failures in a row take the source down.
   */
  private noteFailure(source: SourceName, error: unknown): void {
    if (typeof error === 'object' && error !== null) this.counted.add(error);
    if (this.down.has(source) || error instanceof SourceDownError || this.options.signal?.aborted) return;
    const count = (this.failures.get(source) ?? 0) + 1;
    this.failures.set(source, count);
    if (isDnsFailure(error)) this.takeDown(source, `cannot resolve the host (${describeError(error)})`);
    else if (count >= BREAKER) this.takeDown(source, `${count} requests in a row failed (last: ${describeError(error)})`);
  }

  private takeDown(source: SourceName, why: string): void {
    if (this.options.sources.onError === 'fail') return; // the failing lookup ends the run instead
    this.down.set(source, why);
    this.stops.get(source)!.abort(new SourceDownError(source));
    this.warn(`${source}: ${why}; skipping ${source} for the rest of this run, its evidence is unknown (to turn it off: sources.${source}.enabled: false)`);
  }

  /**
   * Runs one source lookup; a failure becomes a warning (or EvidenceError under onError: fail).
   * After BREAKER consecutive failures a source is given up on for the rest of the run, with
   * one warning, so an unreachable service costs seconds, not a timeout per package.
   */
  private async guarded<T>(source: SourceName, id: string, run: () => Promise<T>): Promise<T | undefined> {
    if (this.down.has(source)) return undefined;
    try {
      const value = await run();
      this.failures.set(source, 0);
      return value;
    } catch (error) {
      if (this.options.signal?.aborted) throw error;
      const message = `${source}: ${id}: ${describeError(error)}`;
      if (this.options.sources.onError === 'fail') throw new EvidenceError(`evidence source failed: ${message}`, { cause: error, code: 'ERR_PG_EVIDENCE_SOURCE_FAILED' });
      // Failures the request layer did not see (a malformed answer, a parse error) count here.
      if (!(typeof error === 'object' && error !== null && this.counted.has(error))) this.noteFailure(source, error);
      if (this.down.has(source)) return undefined;
      this.warn(`${message}; its evidence is unknown`);
      return undefined;
    }
  }

  private trustMaterial(): Promise<LoadedTrustMaterial> {
    this.trust ??= loadTrustMaterial({
      source: this.options.trustedRoot ?? 'tuf',
      stateDir: this.stateRoot,
      timeout: this.options.sources.timeout,
    }).then((loaded) => {
      if (loaded.warning) this.warn(loaded.warning);
      return loaded;
    });
    return this.trust;
  }

  /** Removes the per-run pacote cache. */
  close(): void {
    if (this.pacoteCache) rmSync(this.pacoteCache, { recursive: true, force: true });
  }

  private async registryInfo(pkg: ResolvedPackage, id: string, registry: string): Promise<RegistryVersionInfo | undefined> {
    const info = await this.cache.getOrFetch<RegistryVersionInfo | null>('registry', `${registry}|${id}`, async () => {
      const key = `${registry}|${pkg.name}`;
      let versions = this.packuments.get(key);
      if (!versions) {
        versions = this.limited('registry', () => fetchPackageVersions(pkg.name, this.registryOptions(registry)));
        this.packuments.set(key, versions);
        versions.catch(() => this.packuments.delete(key));
      }
      const all = await versions;
      if (all === undefined) return null;
      const found = all.get(pkg.version);
      if (!found) throw new VersionNotFoundError(pkg.name, pkg.version, registry);
      return found;
    }).catch((error: unknown) => {
      if (error instanceof VersionNotFoundError) {
        this.warn(`registry: ${error.message}`);
        return undefined;
      }
      throw error;
    });
    if (info === null) this.warn(`registry: ${pkg.name} is not in the registry ${registry}`);
    return info ?? undefined;
  }

  private provenanceUrl(pkg: ResolvedPackage, registry: string, info: RegistryVersionInfo | undefined): string | undefined {
    const explicit = this.options.sources.provenance.url;
    const path = `/-/npm/v1/attestations/${pkg.name.replace('/', '%2f')}@${pkg.version}`;
    if (explicit) return `${explicit.replace(/\/+$/, '')}${path}`;
    // The registry says whether there is provenance; ask only when it does (or when it was not asked).
    if (info && !info.attestationsUrl) return undefined;
    if (info?.attestationsUrl) {
      // Like npm: always from the registry we use, with the path the registry advertised.
      try {
        return `${registry.replace(/\/+$/, '')}${new URL(info.attestationsUrl).pathname}`;
      } catch {
        return `${registry.replace(/\/+$/, '')}${path}`;
      }
    }
    return `${registry.replace(/\/+$/, '')}${path}`;
  }

  private async provenance(pkg: ResolvedPackage, id: string, url: string, integrity: string | undefined, advertised: boolean): Promise<AttestedSource | undefined> {
    // Keyed by the package too: the URL is the registry's to choose, and the answer depends on the subject asked for.
    const outcome = await this.cache.getOrFetch<ProvenanceOutcome>('provenance', `${id}|${url}|${integrity ?? ''}`, async () => {
      // The attestations live on the registry: send the registry credentials npm would.
      const authorization = authorizationFor(url, this.npm);
      const request = { ...this.request('provenance'), ...(authorization ? { headers: { authorization } } : {}) };
      const document = await this.limited('provenance', () => getJson(url, request));
      if (document === undefined) {
        return { warnings: advertised ? [`provenance: ${id}: the registry advertises provenance but ${url} has none`] : [] };
      }
      // A 200 that is not {attestations: [...]} is a malformed answer, not "no provenance": never cached.
      if (!isRecord(document) || !Array.isArray(document.attestations)) throw new MalformedResponseError(url, 'not an {attestations: [...]} document');
      const trust = await this.trustMaterial();
      return evaluateAttestations(document, { name: pkg.name, version: pkg.version, ...(integrity ? { integrity } : {}) }, trust.material);
    });
    outcome.warnings.forEach((w) => this.warn(w));
    return outcome.attested;
  }

  private async rebuild(pkg: ResolvedPackage, id: string, registry: string, integrity: string | undefined): Promise<boolean> {
    const url = rebuildAttestationUrl(this.options.sources.ossRebuild.url, pkg.name, pkg.version);
    const outcome = await this.cache.getOrFetch<RebuildOutcome>('oss-rebuild', `${url}|${integrity ?? ''}`, async () => {
      const body = await this.limited('ossRebuild', () => getText(url, this.request('ossRebuild')));
      if (body === undefined) return { reproducible: false, warnings: [] };
      if (!hasDsseLine(body)) throw new MalformedResponseError(url, 'not DSSE envelopes, one JSON object per line');
      this.rebuildKeys ??= loadRebuildKeys(this.options.rebuildPublicKeys ?? [OSS_REBUILD_PUBLIC_KEY]);
      const parsed = parseRebuildAttestations(body, this.rebuildKeys, id);
      const warnings = [...parsed.warnings];
      if (parsed.equivalences.length === 0) {
        if (warnings.length === 0) warnings.push(`oss-rebuild: ${id}: no artifact-equivalence attestation in ${url}`);
        return { reproducible: false, warnings };
      }
      const wanted512 = sha512Hex(integrity);
      let sha256: string | undefined;
      for (const claim of parsed.equivalences) {
        if (claim.digest.sha512 && wanted512) {
          if (claim.digest.sha512 === wanted512) return { reproducible: true, warnings };
          continue;
        }
        if (claim.digest.sha256) {
          if (!integrity) {
            warnings.push(`oss-rebuild: ${id}: no integrity to check the rebuilt artifact against`);
            break;
          }
          sha256 ??= await this.limited('registry', () => fetchTarballSha256(pkg.name, pkg.version, integrity, this.registryOptions(registry)));
          if (claim.digest.sha256 === sha256) return { reproducible: true, warnings };
        }
      }
      warnings.push(`oss-rebuild: ${id}: the attested artifact digest does not match the published tarball; not counted as reproducible`);
      return { reproducible: false, warnings };
    });
    outcome.warnings.forEach((w) => this.warn(w));
    return outcome.reproducible;
  }

  private async scorecard(repositoryUrl: string): Promise<ScorecardSummary | undefined> {
    const s = this.options.sources;
    if (s.scorecard.enabled) {
      const found = await this.guarded('scorecard', repositoryUrl, () =>
        this.cache.getOrFetch('scorecard', `${s.scorecard.url ?? ''}|${repositoryUrl}`, () =>
          this.limited('scorecard', () => fetchScorecard(s.scorecard.url, repositoryUrl, this.request('scorecard'))),
        ),
      );
      if (found) return found;
    }
    if (s.depsDev.enabled) {
      const found = await this.guarded('depsDev', repositoryUrl, () =>
        this.cache.getOrFetch('depsdev-project', `${s.depsDev.url ?? ''}|${repositoryUrl}`, () =>
          this.limited('depsDev', () => fetchDepsDevScorecard(s.depsDev.url, repositoryUrl, this.request('depsDev'))),
        ),
      );
      if (found) return found;
    }
    return undefined;
  }

  async gather(pkg: ResolvedPackage): Promise<FeedRecord> {
    if (this.options.signal?.aborted) throw this.options.signal.reason;
    const s = this.options.sources;
    const id = `${pkg.name}@${pkg.version}`;
    const registry = registryFor(pkg.name, this.npm, s.registry.url);
    const record: FeedRecord = { name: pkg.name, version: pkg.version };

    const info = s.registry.enabled ? await this.guarded('registry', id, () => this.registryInfo(pkg, id, registry)) : undefined;
    const integrity = info?.integrity ?? pkg.integrity;
    if (info?.integrity && pkg.integrity && sha512Hex(info.integrity) && sha512Hex(pkg.integrity) && sha512Hex(info.integrity) !== sha512Hex(pkg.integrity)) {
      this.warn(`registry: ${id}: the registry's integrity differs from the lockfile's`);
    }
    if (integrity) record.integrity = integrity;

    const provenanceUrl = s.provenance.enabled ? this.provenanceUrl(pkg, registry, info) : undefined;
    const [attested, depsDev, reproducible] = await Promise.all([
      provenanceUrl ? this.guarded('provenance', id, () => this.provenance(pkg, id, provenanceUrl, integrity, Boolean(info?.attestationsUrl))) : undefined,
      s.depsDev.enabled
        ? this.guarded('depsDev', id, () =>
            this.cache.getOrFetch<DepsDevVersion | null>('depsdev-version', `${s.depsDev.url ?? ''}|${id}`, () =>
              this.limited('depsDev', () => fetchDepsDevVersion(s.depsDev.url, pkg.name, pkg.version, this.request('depsDev'))),
            ),
          )
        : undefined,
      s.ossRebuild.enabled ? this.guarded('ossRebuild', id, () => this.rebuild(pkg, id, registry, integrity)) : undefined,
    ]);

    const repository = combineRepository(info, depsDev ?? undefined, attested, integrity !== undefined);
    if (repository) record.repository = repository;
    if (reproducible) record.rebuild = { verdict: 'reproducible', source: 'oss-rebuild' };

    const scored = repository?.attestedUrl ?? repository?.url;
    if (scored && (s.scorecard.enabled || s.depsDev.enabled)) {
      const scorecard = await this.scorecard(scored);
      if (scorecard) record.scorecard = scorecard;
    }
    return record;
  }
}

/** Whether any line of a JSON-lines body is a DSSE envelope (an HTML page or `{}` is not). */
function hasDsseLine(body: string): boolean {
  return body.split('\n').some((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return isRecord(value) && typeof value.payload === 'string' && Array.isArray(value.signatures);
    } catch {
      return false;
    }
  });
}

/**
 * claimed = the manifest's repository (or deps.dev's unverified link when the registry was
 * not asked); attested = verified npm provenance, whose subject is the record's sha512. deps.dev's
 * SLSA link names no digest: it attests a record without an integrity (name@version evidence),
 * but for a record that binds a tarball it is only a claim, since a mirror may serve other bytes
 * under that version (set `sources.provenance.url` to a registry serving the bundles). A claim
 * that names another repository than an attestation (either) is a mismatch.
 */
export function combineRepository(
  info: RegistryVersionInfo | undefined,
  depsDev: DepsDevVersion | undefined,
  provenance: AttestedSource | undefined,
  bindsTarball = false,
): RepositoryEvidence | undefined {
  const claimedUrl = info?.repository?.url ?? depsDev?.claimed ?? (bindsTarball ? depsDev?.attested?.url : undefined);
  const directory = info?.repository?.directory;
  const unboundLink = bindsTarball && !provenance ? depsDev?.attested : undefined;
  if (unboundLink && claimedUrl && !sameRepository(claimedUrl, unboundLink.url)) {
    const evidence: RepositoryEvidence = { url: claimedUrl, status: 'mismatch', attestedUrl: unboundLink.url };
    if (info?.commit) evidence.commit = info.commit;
    return directory ? { ...evidence, directory } : evidence;
  }
  const attested = provenance ?? (bindsTarball ? undefined : depsDev?.attested);
  const withExtras = (evidence: RepositoryEvidence): RepositoryEvidence => {
    if (directory) evidence.directory = directory;
    return evidence;
  };
  if (attested) {
    if (claimedUrl && !sameRepository(claimedUrl, attested.url)) {
      const evidence: RepositoryEvidence = { url: claimedUrl, status: 'mismatch', attestedUrl: attested.url };
      if (info?.commit) evidence.commit = info.commit;
      return withExtras(evidence);
    }
    const commit = attested.commit ?? info?.commit;
    return withExtras({ url: attested.url, ...(commit ? { commit } : {}), status: 'attested' });
  }
  if (claimedUrl) return withExtras({ url: claimedUrl, ...(info?.commit ? { commit: info.commit } : {}), status: 'claimed' });
  // The manifest was read and names none: known to have no mapping (not the same as unknown).
  if (info?.noRepository) return { status: 'none' };
  return undefined;
}

/**
 * Gathers a FeedRecord per distinct registry package (other sources are skipped).
 * Throws EvidenceError only under `sources.onError: fail`.
 */
export async function gatherEvidence(packages: readonly ResolvedPackage[], options: GatherOptions): Promise<GatherResult> {
  const unique = new Map<string, ResolvedPackage>();
  for (const pkg of packages) {
    if (pkg.source !== 'registry') continue;
    const key = `${pkg.name}@${pkg.version}`;
    if (!unique.has(key)) unique.set(key, pkg);
  }
  const list = [...unique.values()];
  // One failure under `onError: fail` (or the caller's abort) stops the other lookups.
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  // Every request in flight listens on it; that many listeners is expected, not a leak.
  setMaxListeners(0, signal);
  const gatherer = new Gatherer({ ...options, signal });
  let done = 0;
  let failure: { error: unknown } | undefined;
  options.onProgress?.(0, list.length);
  const settled = await Promise.allSettled(
    list.map(async (pkg) => {
      try {
        const record = await gatherer.gather(pkg);
        options.onProgress?.(++done, list.length);
        return record;
      } catch (error) {
        failure ??= { error };
        controller.abort(error);
        throw error;
      }
    }),
  );
  gatherer.close();
  if (failure) throw failure.error;
  const records = settled.map((r) => (r as PromiseFulfilledResult<FeedRecord>).value);
  return { records, warnings: gatherer.warnings };
}

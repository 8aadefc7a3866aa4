/**
 * Registry source: the full packument through pacote (so .npmrc registries, scopes and
 * auth behave as in npm), reduced to the fields the evidence needs for one version.
 */
import { isRecord, MalformedResponseError, stringOf, withRetry, type RetryPolicy } from './http';
import { normalizeCommit, normalizeRepository, type NormalizedRepository } from './repository';

export interface RegistryVersionInfo {
  /** Registry the packument came from (trailing slash). */
  registry: string;
  repository?: NormalizedRepository;
  /** The manifest was read and names no usable repository (neither `repository` nor `repositories[0]`). */
  noRepository?: true;
  /** `gitHead` when it is a full commit id. */
  commit?: string;
  integrity?: string;
  /** `dist.attestations.url` when the registry advertises provenance. */
  attestationsUrl?: string;
  /**
   * The version manifest's fields an install acts on (scripts, dependencies, bin, …): npm takes
   * them from the registry, not from the tarball's package.json, and the registry does not check
   * that the two agree ("manifest confusion"). Source match compares them with the tarball's.
   */
  install?: Record<string, unknown>;
}

/** Manifest fields npm and the other package managers take from the registry's version manifest at install. */
export const INSTALL_MANIFEST_FIELDS = ['scripts', 'dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'bundledDependencies', 'bin', 'directories', 'gypfile', 'name'];

export interface RegistryFetchOptions {
  registry: string;
  npmOptions: Record<string, unknown>;
  timeout: number;
  retry: RetryPolicy;
  /** pacote's HTTP cache (cacache); a per-run temp dir — our own cache keeps only the evidence. */
  pacoteCache?: string;
  signal?: AbortSignal;
  /** Told of every failed attempt (the circuit breaker counts them). */
  onAttemptError?: (error: unknown) => void;
}

/** Thrown when the package exists but the version does not. */
export class VersionNotFoundError extends Error {
  constructor(name: string, version: string, registry: string) {
    super(`${name}@${version} is not in the registry ${registry}`);
    this.name = 'VersionNotFoundError';
  }
}

type Pacote = typeof import('pacote');
let pacoteModule: Pacote | undefined;
// Loaded on first use: pacote is heavy and only the live-evidence commands need it.
function pacote(): Pacote {
  pacoteModule ??= require('pacote') as Pacote;
  return pacoteModule;
}

// npm-registry-fetch gives every HTTP error `code` E<status> (and `statusCode`); npm tests the code.
function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'E404';
}

/** Extracts the evidence fields of one version from a full packument. */
export function versionInfoFromPackument(packument: unknown, version: string, registry: string): RegistryVersionInfo | undefined {
  if (!isRecord(packument) || !isRecord(packument.versions)) return undefined;
  const manifest = packument.versions[version];
  if (!isRecord(manifest)) return undefined;
  const info: RegistryVersionInfo = { registry };
  info.install = Object.fromEntries(INSTALL_MANIFEST_FIELDS.filter((f) => manifest[f] !== undefined).map((f) => [f, manifest[f]]));
  const repository = normalizeRepository(manifest.repository, manifest.repositories);
  if (repository) info.repository = repository;
  else info.noRepository = true;
  const commit = normalizeCommit(manifest.gitHead);
  if (commit) info.commit = commit;
  const dist = isRecord(manifest.dist) ? manifest.dist : {};
  const integrity = stringOf(dist.integrity);
  if (integrity) info.integrity = integrity;
  const attestationsUrl = isRecord(dist.attestations) ? stringOf(dist.attestations.url) : undefined;
  if (attestationsUrl) info.attestationsUrl = attestationsUrl;
  return info;
}

/** Evidence of every version of a package, by version. */
export type PackageVersions = Map<string, RegistryVersionInfo>;

/**
 * Fetches the full packument once and reduces every version to its evidence (small, so
 * several versions of one package share one request). Undefined when the package is not
 * in the registry (404); other failures throw.
 */
export async function fetchPackageVersions(name: string, options: RegistryFetchOptions): Promise<PackageVersions | undefined> {
  const packument = await withRetry(
    async () => {
      try {
        return await pacote().packument(name, {
          ...options.npmOptions,
          registry: options.registry,
          fullMetadata: true,
          timeout: options.timeout,
          // Retries are ours (Retry-After aware); pacote's own would multiply them.
          retry: { retries: 0 },
          ...(options.pacoteCache ? { cache: options.pacoteCache } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        } as Parameters<Pacote['packument']>[1] & { fullMetadata: true });
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    options.retry,
    options.signal,
  );
  if (packument === undefined) return undefined;
  // A 200 that is not a packument (`{}`, an error page's JSON) is no answer: never cached as "no versions".
  if (!isRecord(packument) || !isRecord(packument.versions)) throw new MalformedResponseError(`${options.registry} ${name}`, 'not a packument (no versions)');
  const versions: PackageVersions = new Map();
  for (const version of Object.keys(packument.versions)) {
    const info = versionInfoFromPackument(packument, version, options.registry);
    if (info) versions.set(version, info);
  }
  return versions;
}

/**
 * sha256 (hex) of the published tarball, downloaded through pacote, which checks it
 * against `integrity` first. OSS Rebuild names upstream artifacts by sha256.
 */
export async function fetchTarballSha256(name: string, version: string, integrity: string | undefined, options: RegistryFetchOptions): Promise<string> {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const data = await withRetry(
    () =>
      pacote().tarball(`${name}@${version}`, {
        ...options.npmOptions,
        registry: options.registry,
        ...(integrity ? { integrity } : {}),
        timeout: options.timeout,
        retry: { retries: 0 },
        ...(options.pacoteCache ? { cache: options.pacoteCache } : {}),
      } as Parameters<Pacote['tarball']>[1]),
    options.retry,
    options.signal,
  );
  return createHash('sha256').update(data).digest('hex');
}

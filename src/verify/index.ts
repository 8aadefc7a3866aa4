/**
 * Source match (SPEC "Source match"): each published tarball compared file by file with its
 * repository at the commit it was published from. Registry data and the tarball come through
 * the user's npm configuration; the repository through the system git with nothing of the
 * repository ever run. Verdicts are cached by name@version+integrity.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidenceError } from '../errors';
import { EvidenceCache, evidenceStore } from '../evidence/cache';
import { DEFAULT_RETRY, describeError } from '../evidence/http';
import { createLimiter, type Limiter } from '../evidence/limit';
import { fetchPackageVersions, type PackageVersions, type RegistryVersionInfo } from '../evidence/registry';
import { fetchOptions, loadNpmConfig, registryFor, type NpmConfig } from '../npmrc';
import type { ContentsEvidence, RebuildEvidence, RepositoryEvidence, ResolvedPackage } from '../types';
import { findVersionTag } from './commit';
import { compareContents } from './compare';
import { GitError } from './git';
import { expectedFiles } from './packlist';
import { Reachability } from './reachable';
import { RepoCache } from './repo-cache';
import { fetchTarball, listTarball } from './tarball';
import { findPackageDirectory, readCommitTree } from './tree';
import { parseManifest } from './manifest';

/** Bumped whenever the comparison changes, so cached verdicts of an older logic are not reused. */
const CACHE_NAMESPACE = 'source-match-v5';
const VERDICT_TTL = 90 * 86_400_000;

export interface RebuildResult extends RebuildEvidence {
  source: 'provenance-guard';
  /** Files that differ between the rebuilt and the published tarball. */
  files?: string[];
  reason?: string;
}

export interface SourceMatchResult {
  name: string;
  version: string;
  integrity?: string;
  repository?: RepositoryEvidence;
  contents: ContentsEvidence;
  rebuild?: RebuildResult;
}

export interface SourceMatchOptions {
  cacheDir: string;
  /** paths.ts stateDir: its machine secret authenticates the cached verdicts and registry answers. */
  stateDir: string;
  env: NodeJS.ProcessEnv;
  /** Where the project's .npmrc is looked up from. */
  cwd: string;
  /** Registry override (sources.registry.url); default: the user's npm config. */
  registry?: string;
  /** Per-request timeout for the registry, in milliseconds. */
  timeout: number;
  /** Timeout of one git command, in milliseconds. */
  gitTimeout?: number;
  concurrency: number;
  onProgress?: (done: number, total: number) => void;
  rebuild?: boolean;
  /** false: never read or write the verdict cache. */
  useCache?: boolean;
  /** How long registry data stays cached (sources.cacheTtl), shared with `feed build`; default 1 day. */
  registryTtl?: number;
}

export type SourceMatchOutcome = { ok: true; result: SourceMatchResult } | { ok: false; name: string; version: string; error: EvidenceError };

interface Located {
  info: RegistryVersionInfo;
  registry: string;
  integrity: string;
}

type Commit = { commit: string; from: string } | { reason: string };

export class SourceVerifier {
  private readonly npm: NpmConfig;
  private readonly npmOptions: Record<string, unknown>;
  private readonly verdicts: EvidenceCache;
  private readonly registryCache: EvidenceCache;
  private readonly repos: RepoCache;
  private readonly reachability: Reachability;
  private readonly limit: Limiter;
  private readonly gitLimit: Limiter;
  private pacoteCache?: string;
  private readonly packuments = new Map<string, Promise<PackageVersions | undefined>>();

  constructor(private readonly options: SourceMatchOptions) {
    this.npm = loadNpmConfig({ cwd: options.cwd, env: options.env });
    this.npmOptions = fetchOptions(this.npm);
    const store = options.useCache === false ? undefined : evidenceStore(options.cacheDir, options.stateDir);
    this.verdicts = new EvidenceCache(store, options.useCache === false ? 0 : VERDICT_TTL);
    this.registryCache = new EvidenceCache(store, options.useCache === false ? 0 : (options.registryTtl ?? 86_400_000));
    const git = { env: options.env, timeout: options.gitTimeout ?? 120_000 };
    this.repos = new RepoCache(join(options.cacheDir, 'source-match', 'git'), git);
    this.limit = createLimiter(options.concurrency);
    this.gitLimit = createLimiter(Math.max(1, Math.min(4, options.concurrency)));
    this.reachability = new Reachability(git, this.verdicts, this.gitLimit);
  }

  close(): void {
    if (this.pacoteCache) rmSync(this.pacoteCache, { recursive: true, force: true });
  }

  private registryOptions(registry: string) {
    this.pacoteCache ??= mkdtempSync(join(tmpdir(), 'pg-pacote-'));
    return { registry, npmOptions: this.npmOptions, timeout: this.options.timeout, retry: DEFAULT_RETRY, pacoteCache: this.pacoteCache };
  }

  /** The version's registry data; an EvidenceError when it cannot be read or does not exist. */
  private async locate(pkg: ResolvedPackage): Promise<Located> {
    const registry = registryFor(pkg.name, this.npm, this.options.registry);
    let info: RegistryVersionInfo | null;
    try {
      // The registry source's namespace, under a key of its own: an entry written before the
      // manifest's install fields were kept (`install`) must not be used.
      info = await this.registryCache.getOrFetch<RegistryVersionInfo | null>('registry', `${registry}|${pkg.name}@${pkg.version}|install`, async () => {
        const key = `${registry}|${pkg.name}`;
        let versions = this.packuments.get(key);
        if (!versions) {
          versions = fetchPackageVersions(pkg.name, this.registryOptions(registry));
          this.packuments.set(key, versions);
        }
        const all = await versions;
        const found = all?.get(pkg.version);
        if (!found) throw new EvidenceError(`${pkg.name}@${pkg.version} is not in the registry ${registry}`, { code: 'ERR_PG_EVIDENCE_NOT_FOUND' });
        return found;
      });
    } catch (error) {
      if (error instanceof EvidenceError) throw error;
      throw new EvidenceError(`${pkg.name}: cannot read the packument from ${registry}: ${describeError(error)}`, { cause: error, code: 'ERR_PG_EVIDENCE_REGISTRY' });
    }
    if (!info) throw new EvidenceError(`${pkg.name}@${pkg.version} is not in the registry ${registry}`, { code: 'ERR_PG_EVIDENCE_NOT_FOUND' });
    // The tarball judged is the one the caller will install: its integrity wins over the registry's.
    const integrity = pkg.integrity ?? info.integrity;
    if (!integrity) throw new EvidenceError(`${pkg.name}@${pkg.version}: the registry gives no integrity for its tarball`, { code: 'ERR_PG_EVIDENCE_INTEGRITY' });
    return { info, registry, integrity };
  }

  /** Verifies one package; registry failures are EvidenceErrors, source failures an inconclusive verdict. */
  async verify(pkg: ResolvedPackage): Promise<SourceMatchResult> {
    const located = await this.locate(pkg);
    const repository = repositoryEvidence(located.info);
    const base = { name: pkg.name, version: pkg.version, integrity: located.integrity, ...(repository ? { repository } : {}) };
    // Bound to the bytes (integrity) and to the mapping they were compared against.
    const mapping = [repository?.url ?? '', repository?.directory ?? '', located.info.commit ?? ''].join('|');
    const key = `${pkg.name}@${pkg.version}|${located.integrity}|${mapping}|${this.options.rebuild ? 'rebuild' : ''}`;
    const cached = (await this.verdicts.get(CACHE_NAMESPACE, key))?.value as Omit<SourceMatchResult, 'name' | 'version' | 'integrity' | 'repository'> | undefined;
    if (cached?.contents) return { ...base, ...cached };
    const outcome = await this.compute(pkg, located);
    // An inconclusive verdict or a failed build may be transient (network, a tag pushed later): never cached.
    if (outcome.contents.verdict !== 'inconclusive' && outcome.rebuild?.verdict !== 'unknown') await this.verdicts.set(CACHE_NAMESPACE, key, outcome);
    return { ...base, ...outcome };
  }

  private async compute(pkg: ResolvedPackage, located: Located): Promise<{ contents: ContentsEvidence; rebuild?: RebuildResult }> {
    const repo = located.info.repository;
    if (!repo) return { contents: { verdict: 'inconclusive', reason: 'the package manifest names no source repository' } };
    const found = await this.fetchCommit(pkg, repo.url, located.info.commit);
    if ('reason' in found) return { contents: { verdict: 'inconclusive', reason: found.reason } };
    const at = { commit: found.commit, commitFrom: found.from };
    try {
      const directory = repo.directory ?? (await findPackageDirectory(found.dir, found.commit, pkg.name, this.options.env)) ?? undefined;
      const tree = await readCommitTree(found.dir, found.commit, { env: this.options.env, ...(directory ? { directory } : {}) });
      const prefix = directory ? `${directory}/` : '';
      const sourceManifest = tree.files.get(`${prefix}package.json`);
      const sourceName = sourceManifest ? parseManifest(sourceManifest.content)?.name : undefined;
      if (sourceName !== pkg.name) {
        const where = prefix ? `${prefix} ` : 'the repository root ';
        const what = sourceManifest ? `holds ${typeof sourceName === 'string' ? `package ${sourceName}` : 'no package name'}, not ${pkg.name}` : 'has no package.json';
        return { contents: { verdict: 'inconclusive', ...at, reason: `${where}${what} at ${found.commit.slice(0, 12)}${directory ? '' : ', and no other directory holds it'}` } };
      }
      const expected = await expectedFiles(tree.files.values(), directory);
      const source = new Map<string, Buffer>();
      for (const [path, file] of tree.files) if (path.startsWith(prefix)) source.set(path.slice(prefix.length), file.content);
      const links = new Map<string, string>();
      for (const [path, target] of tree.links) if (path.startsWith(prefix)) links.set(path.slice(prefix.length), target);
      const data = await fetchTarball(pkg.name, pkg.version, located.integrity, this.registryOptions(located.registry)).catch((error: unknown) => {
        throw new EvidenceError(`${pkg.name}@${pkg.version}: cannot download the tarball with integrity ${located.integrity}: ${describeError(error)}`, { cause: error, code: 'ERR_PG_EVIDENCE_TARBALL' });
      });
      const tarball = await listTarball(data);
      if (!tarball.has('package.json')) return { contents: { verdict: 'inconclusive', ...at, reason: 'the tarball has no package.json' } };
      const contents = compareContents({ tarball, source, links, expected, commit: found.commit, commitFrom: found.from, registryManifest: located.info.install ?? {}, ...(tarball.anomalies ? { anomalies: tarball.anomalies } : {}) });
      if (directory && !repo.directory) contents.reason = `${contents.reason ?? ''} (package found in ${directory}/)`.trim();
      if (found.note) contents.reason = `${contents.reason ?? ''} (${found.note}; ${found.from} used instead)`.trim();
      if (!this.options.rebuild) return { contents };
      const { rebuildFromSource } = await import('./rebuild');
      const rebuild = await rebuildFromSource({ files: tree.files.values(), directory, published: tarball, registry: located.registry, env: this.options.env, npm: this.npm });
      return { contents, rebuild };
    } catch (error) {
      if (error instanceof EvidenceError) throw error;
      return { contents: { verdict: 'inconclusive', ...at, reason: `cannot read the source at ${found.commit.slice(0, 12)}: ${describeError(error)}` } };
    }
  }

  /**
   * The commit (gitHead, else a version tag confirmed by ls-remote) fetched into the repository
   * cache. A gitHead counts only when a branch or tag of the repository leads to it (reachable.ts):
   * any commit of a fork fetches from the parent's URL. A tag's commit is a tag tip already.
   */
  private async fetchCommit(pkg: ResolvedPackage, url: string, gitHead: string | undefined): Promise<{ commit: string; from: string; dir: string; note?: string } | { reason: string }> {
    const problems: string[] = [];
    if (gitHead) {
      const fetched = await this.tryFetch(url, gitHead);
      if (typeof fetched !== 'string') problems.push(`gitHead ${gitHead.slice(0, 12)} cannot be fetched from ${url} (${fetched.reason})`);
      else {
        const foreign = await this.reachability.check(url, gitHead, 'gitHead');
        if (foreign === undefined) return { commit: gitHead, from: 'gitHead', dir: fetched };
        problems.push(foreign);
      }
    }
    const tag = await this.tagCommit(pkg, url, gitHead === undefined);
    if ('reason' in tag) return { reason: [...problems, tag.reason].join('; ') };
    const fetched = await this.tryFetch(url, tag.commit);
    if (typeof fetched === 'string') return { commit: tag.commit, from: tag.from, dir: fetched, ...(problems.length ? { note: problems.join('; ') } : {}) };
    return { reason: [...problems, `${tag.from} (${tag.commit.slice(0, 12)}) cannot be fetched from ${url} (${fetched.reason})`].join('; ') };
  }

  private async tryFetch(url: string, commit: string): Promise<string | { reason: string }> {
    try {
      return (await this.gitLimit(() => this.repos.ensureCommit(url, commit))).dir;
    } catch (error) {
      return { reason: error instanceof GitError ? error.message : describeError(error) };
    }
  }

  private async tagCommit(pkg: ResolvedPackage, url: string, noGitHead: boolean): Promise<Commit> {
    const lead = noGitHead ? 'no gitHead, and ' : '';
    let tags: Map<string, string>;
    try {
      tags = (await this.reachability.refsOf(url)).tags;
    } catch (error) {
      return { reason: `${lead}the tags of ${url} cannot be listed: ${error instanceof Error ? error.message : String(error)}` };
    }
    const match = findVersionTag(tags, pkg.name, pkg.version);
    if (!match) return { reason: `${lead}${url} has no tag naming ${pkg.version}` };
    return { commit: match.commit, from: `tag:${match.tag}` };
  }

  /** Every package, at most `concurrency` at once; one failing never stops the others. */
  async verifyAll(packages: readonly ResolvedPackage[]): Promise<SourceMatchOutcome[]> {
    let done = 0;
    this.options.onProgress?.(0, packages.length);
    return Promise.all(
      packages.map((pkg) =>
        this.limit(async (): Promise<SourceMatchOutcome> => {
          try {
            return { ok: true, result: await this.verify(pkg) };
          } catch (error) {
            const wrapped = error instanceof EvidenceError ? error : new EvidenceError(`${pkg.name}@${pkg.version}: ${describeError(error)}`, { cause: error });
            return { ok: false, name: pkg.name, version: pkg.version, error: wrapped };
          } finally {
            this.options.onProgress?.(++done, packages.length);
          }
        }),
      ),
    );
  }
}

/** What the registry says about the repository, as the record carries it. */
export function repositoryEvidence(info: RegistryVersionInfo): RepositoryEvidence | undefined {
  if (info.repository) {
    return { url: info.repository.url, ...(info.commit ? { commit: info.commit } : {}), status: 'claimed', ...(info.repository.directory ? { directory: info.repository.directory } : {}) };
  }
  return info.noRepository ? { status: 'none' } : undefined;
}

/** Verifies `packages` (registry ones; others are skipped) and closes the verifier. */
export async function verifySources(packages: readonly ResolvedPackage[], options: SourceMatchOptions): Promise<SourceMatchOutcome[]> {
  const verifier = new SourceVerifier(options);
  try {
    return await verifier.verifyAll(packages.filter((p) => p.source === 'registry'));
  } finally {
    verifier.close();
  }
}

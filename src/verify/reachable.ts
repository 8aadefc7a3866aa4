/**
 * Whether a commit is the repository's own: reachable from one of its branches or tags.
 *
 * GitHub (and any host sharing one object store across a fork network) serves every commit of
 * the network by id from the parent's URL, and advertises fork pull requests as `refs/pull/*`.
 * So a package can name `github.com/victim/project` and, as gitHead, a commit of the attacker's
 * fork (an "impostor commit"): it fetches from the victim's URL all the same. Only a commit a
 * branch or tag (`refs/heads/*`, `refs/tags/*`) leads to counts as the repository's.
 *
 * Cheap path: the commit is a branch or tag tip (`git ls-remote`). Otherwise the history of every
 * branch and tag is fetched without trees or blobs (`--filter=tree:0`, a partial clone) into a
 * throwaway bare repository and walked with `git rev-list`. That repository is never kept: a
 * cache directory restored from elsewhere could hold refs and commit objects made up to lead to
 * any commit (git does not re-hash what it walks). What is kept is the answer "reachable", per
 * URL and commit, in the HMAC-authenticated evidence cache; "not reachable" is never kept (a
 * branch may be pushed later).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvidenceCache } from '../evidence/cache';
import type { Limiter } from '../evidence/limit';
import { listRemoteRefs, runGit, type GitRunOptions, type RemoteRefs } from './git';

const NAMESPACE = 'source-reachable-v1';
const ID = 40;

type GitOptions = Omit<GitRunOptions, 'cwd' | 'input'>;

/** A set of commit ids held as one sorted string (40 characters each), searched by bisection. */
export class CommitSet {
  private readonly ids: string;

  constructor(ids: Iterable<string>) {
    this.ids = [...new Set(ids)].filter((id) => /^[0-9a-f]{40}$/.test(id)).sort().join('');
  }

  get size(): number {
    return this.ids.length / ID;
  }

  has(id: string): boolean {
    let low = 0;
    let high = this.size - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const at = this.ids.slice(mid * ID, mid * ID + ID);
      if (at === id) return true;
      if (at < id) low = mid + 1;
      else high = mid - 1;
    }
    return false;
  }
}

/** Every commit reachable from a branch or tag of `url`, fetched without trees or blobs into a throwaway repository. */
export async function remoteHistory(url: string, options: GitOptions): Promise<CommitSet> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-history-'));
  try {
    // No template (nothing of the user's template directory), and a config of ours alone.
    await runGit(['init', '--bare', '--quiet', '--template=', dir], options);
    writeFileSync(join(dir, 'config'), '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n');
    const opts = { ...options, cwd: dir };
    // git registers the URL as the promisor remote itself; a host without filters sends all objects.
    await runGit(['fetch', '--quiet', '--filter=tree:0', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--', url, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], opts);
    // Commits only (no --objects): nothing filtered out is ever needed, so git never fetches lazily.
    const { stdout } = await runGit(['rev-list', '--branches', '--tags'], opts);
    return new CommitSet(stdout.toString('latin1').split('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Answers, per URL, which commits are on a branch or tag; ls-remote and history are each asked at most once a run. */
export class Reachability {
  private readonly refs = new Map<string, Promise<RemoteRefs>>();
  private readonly histories = new Map<string, Promise<CommitSet>>();

  constructor(
    private readonly git: GitOptions,
    private readonly cache: EvidenceCache,
    private readonly limit: Limiter,
  ) {}

  /** The branches and tags of `url` (ls-remote, once a run). */
  refsOf(url: string): Promise<RemoteRefs> {
    let refs = this.refs.get(url);
    if (!refs) {
      refs = this.limit(() => listRemoteRefs(url, this.git));
      this.refs.set(url, refs);
    }
    return refs;
  }

  private historyOf(url: string): Promise<CommitSet> {
    let history = this.histories.get(url);
    if (!history) {
      history = this.limit(() => remoteHistory(url, this.git));
      this.histories.set(url, history);
    }
    return history;
  }

  /** undefined when `commit` is on a branch or tag of `url`; otherwise why it does not count as the repository's (`what`: how to name it). */
  async check(url: string, commit: string, what = 'commit'): Promise<string | undefined> {
    const key = `${url}|${commit}`;
    if ((await this.cache.get(NAMESPACE, key))?.value === true) return undefined;
    const short = `${what} ${commit.slice(0, 12)}`;
    try {
      if (!(await this.refsOf(url)).tips.has(commit) && !(await this.historyOf(url)).has(commit)) {
        return `${short} is not on any branch or tag of ${url} (a commit from a fork, or of a deleted branch)`;
      }
    } catch (error) {
      return `cannot tell whether ${short} is on a branch or tag of ${url}: ${error instanceof Error ? error.message : String(error)}`;
    }
    await this.cache.set(NAMESPACE, key, true);
    return undefined;
  }
}

/**
 * A cache of bare repositories, one per repository URL, under the cache directory. A commit
 * is fetched shallowly (`--depth=1`, that one commit) the first time it is needed and kept
 * under a ref of ours so git never prunes it. Nothing is ever checked out.
 *
 * The cache directory may be restored from a pull-request job. Objects are checked by their
 * hash when read (tree.ts), but a repository's own `config` is read by git itself, and can run
 * commands (`credential.helper = !…`, `core.gitProxy`, or `include.path` to more of them): a
 * repository is used only while its config is exactly the one written here and nothing
 * redirects git elsewhere (a symlink, a `commondir` file); anything else is removed and made anew.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempPathFor } from '../atomic';
import { readCacheFile } from '../cache-file';
import { runGit, type GitRunOptions } from './git';

/** The whole config of a repository of ours (what `git init --bare` writes, fixed across git versions). */
const OWN_CONFIG = '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n';

/** Whether `dir` is a repository this cache made: a real directory, its config ours, nothing pointing elsewhere. */
function isOwnRepository(dir: string): boolean {
  try {
    if (!lstatSync(dir).isDirectory() || !lstatSync(join(dir, 'HEAD')).isFile()) return false;
    if (existsSync(join(dir, 'commondir')) || existsSync(join(dir, 'config.worktree'))) return false;
    return readCacheFile(join(dir, 'config'), 4096)?.toString('utf8') === OWN_CONFIG;
  } catch {
    return false;
  }
}

export class RepoCache {
  /** One git operation per repository at a time (a shallow fetch rewrites `shallow`). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly root: string,
    private readonly git: Omit<GitRunOptions, 'cwd' | 'input'>,
  ) {}

  /** The bare repository for `url`, created empty on first use (`created`: nothing in it yet). */
  private async repoFor(url: string): Promise<{ dir: string; created: boolean }> {
    const dir = join(this.root, createHash('sha256').update(url).digest('hex').slice(0, 32) + '.git');
    if (isOwnRepository(dir)) return { dir, created: false };
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(this.root, { recursive: true });
    const tmp = tempPathFor(dir);
    try {
      // gc.auto=0 is passed on every call (SAFE_GIT_CONFIG): nothing prunes the fetched commits.
      await runGit(['init', '--bare', '--quiet', tmp], this.git);
      writeFileSync(join(tmp, 'config'), OWN_CONFIG);
      renameSync(tmp, dir);
    } catch (error) {
      rmSync(tmp, { recursive: true, force: true });
      // Another process created it meanwhile: use theirs.
      if (isOwnRepository(dir)) return { dir, created: false };
      throw error;
    }
    return { dir, created: true };
  }

  private serial<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    this.locks.set(key, next);
    void next.finally(() => {
      if (this.locks.get(key) === next) this.locks.delete(key);
    }).catch(() => undefined);
    return next;
  }

  /**
   * The bare repository holding `commit` of `url`, fetching it when it is not there yet.
   * Throws a GitError when the remote cannot be reached or does not have the commit.
   */
  ensureCommit(url: string, commit: string): Promise<{ dir: string; fetched: boolean }> {
    return this.serial(url, async () => {
      const { dir, created } = await this.repoFor(url);
      const opts = { ...this.git, cwd: dir };
      if (!created && (await this.hasCommit(dir, commit))) return { dir, fetched: false };
      await runGit(['fetch', '--quiet', '--depth=1', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--', url, `+${commit}:refs/pg/${commit}`], opts);
      return { dir, fetched: true };
    });
  }

  private async hasCommit(dir: string, commit: string): Promise<boolean> {
    try {
      await runGit(['cat-file', '-e', `refs/pg/${commit}^{commit}`], { ...this.git, cwd: dir });
      return true;
    } catch {
      return false;
    }
  }
}

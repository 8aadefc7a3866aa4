/**
 * Reads the files of one commit from a bare repository, raw (no filter, no attributes, no
 * checkout), and verifies every object it reads against its id: commit → tree → blobs is a
 * hash chain from the commit id we were given, so a tampered repository cache (a CI cache
 * restored from another job) cannot substitute contents.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { GitError, safeGitEnv, SAFE_GIT_CONFIG } from './git';

export interface SourceFile {
  /** Path relative to the repository root, `/`-separated. */
  path: string;
  content: Buffer;
  executable: boolean;
}

export interface SourceTree {
  files: Map<string, SourceFile>;
  /** Paths that are symlinks or submodules: never materialised, counted as absent. */
  skipped: string[];
  /** Symbolic links (a subset of `skipped`): path → target as stored in git. */
  links: Map<string, string>;
}

export interface TreeLimits {
  maxFiles: number;
  maxBytes: number;
}

export const DEFAULT_TREE_LIMITS: TreeLimits = { maxFiles: 50_000, maxBytes: 512 * 1024 * 1024 };

interface RawObject {
  type: string;
  content: Buffer;
}

/**
 * One long-lived `git cat-file --batch`: one request at a time, answers parsed from stdout.
 * Every object's size is read from its header and checked against what is left of `budget`
 * before its body is kept, and a body is joined once, when complete: a huge blob (which git
 * stores in a few KB) is refused at once, never buffered.
 */
class ObjectReader {
  private readonly child: ChildProcessWithoutNullStreams;
  private chunks: Buffer[] = [];
  private length = 0;
  private body?: { type: string; size: number };
  private pending?: { id: string; resolve: (o: RawObject | undefined) => void; reject: (e: Error) => void };
  private failed?: Error;
  private spent = 0;

  constructor(
    repoDir: string,
    env: NodeJS.ProcessEnv,
    private readonly budget: number,
  ) {
    this.child = spawn('git', [...SAFE_GIT_CONFIG.flatMap((c) => ['-c', c]), 'cat-file', '--batch'], { cwd: repoDir, env: safeGitEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      if (this.failed) return;
      this.chunks.push(chunk);
      this.length += chunk.length;
      this.drain();
    });
    this.child.stderr.resume();
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', (e) => this.fail(new GitError(`cannot run git: ${e.message}`)));
    this.child.on('close', () => this.fail(new GitError('git cat-file exited early')));
  }

  private fail(error: Error): void {
    this.failed ??= error;
    this.chunks = [];
    this.length = 0;
    this.pending?.reject(this.failed);
    this.pending = undefined;
  }

  /** The first `n` buffered bytes as one buffer, removed from the queue. */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.length = all.length - n;
    return all.subarray(0, n);
  }

  private drain(): void {
    if (!this.pending) return;
    if (!this.body) {
      let eol = -1;
      let seen = 0;
      for (const chunk of this.chunks) {
        const at = chunk.indexOf(10);
        if (at >= 0) {
          eol = seen + at;
          break;
        }
        seen += chunk.length;
      }
      if (eol < 0) return;
      const parts = this.take(eol + 1).subarray(0, eol).toString('utf8').split(' ');
      if (parts[1] === 'missing' || parts.length !== 3) return this.settle(undefined);
      const size = Number(parts[2]);
      if (!Number.isSafeInteger(size) || size > this.budget - this.spent) {
        const error = new GitError(`object ${this.pending.id} is larger than the ${this.budget} bytes the source may have`);
        this.child.kill();
        return this.fail(error);
      }
      this.spent += size;
      this.body = { type: parts[1]!, size };
    }
    if (this.length < this.body.size + 1) return;
    const content = Buffer.from(this.take(this.body.size + 1).subarray(0, this.body.size));
    const type = this.body.type;
    this.body = undefined;
    this.settle({ type, content });
  }

  private settle(value: RawObject | undefined): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(value);
  }

  read(id: string): Promise<RawObject | undefined> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending = { id, resolve, reject };
      this.child.stdin.write(`${id}\n`);
    });
  }

  /** Reads `id`, checks its type and that its content hashes to `id`. */
  async readVerified(id: string, type: string): Promise<Buffer> {
    const object = await this.read(id);
    if (!object) throw new GitError(`object ${id} is missing from the repository`);
    if (object.type !== type) throw new GitError(`object ${id} is a ${object.type}, expected a ${type}`);
    const actual = createHash('sha1').update(`${type} ${object.content.length}\0`).update(object.content).digest('hex');
    if (actual !== id) throw new GitError(`object ${id} does not hash to its id (the repository cache is corrupt or tampered with)`);
    return object.content;
  }

  close(): void {
    this.child.removeAllListeners('close');
    this.child.removeAllListeners('error');
    this.child.on('error', () => undefined);
    this.child.stdin.end();
    this.child.kill();
  }
}

interface TreeEntry {
  mode: string;
  name: string;
  id: string;
}

function parseTree(content: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const space = content.indexOf(32, at);
    const nul = content.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > content.length) throw new GitError('malformed tree object');
    entries.push({ mode: content.subarray(at, space).toString('ascii'), name: content.subarray(space + 1, nul).toString('utf8'), id: content.subarray(nul + 1, nul + 21).toString('hex') });
    at = nul + 21;
  }
  return entries;
}

/** A tree entry name that could escape the extraction directory or be git's own is never used. */
function unsafeName(name: string): boolean {
  return name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0') || name.toLowerCase() === '.git';
}

const IGNORE_FILES = new Set(['.gitignore', '.npmignore']);

export interface ReadTreeOptions {
  /** Only files under this directory (repository.directory), plus the ignore files above it. */
  directory?: string;
  env: NodeJS.ProcessEnv;
  limits?: TreeLimits;
}

/** The files of `commit` (verified hash chain) under `directory`. */
export async function readCommitTree(repoDir: string, commit: string, options: ReadTreeOptions): Promise<SourceTree> {
  const limits = options.limits ?? DEFAULT_TREE_LIMITS;
  // Trees and the commit count too; the files alone are held to limits.maxBytes below.
  const reader = new ObjectReader(repoDir, options.env, 2 * limits.maxBytes);
  const wanted = (options.directory ?? '').split('/').filter(Boolean);
  const tree: SourceTree = { files: new Map(), skipped: [], links: new Map() };
  let bytes = 0;
  try {
    const commitBody = (await reader.readVerified(commit, 'commit')).toString('utf8');
    const rootTree = /^tree ([0-9a-f]{40})$/m.exec(commitBody)?.[1];
    if (!rootTree) throw new GitError(`commit ${commit} names no tree`);
    const walk = async (id: string, parts: string[]): Promise<void> => {
      // Inside the package directory everything counts; above it, only the ignore files on the way.
      const inside = parts.length >= wanted.length;
      for (const entry of parseTree(await reader.readVerified(id, 'tree'))) {
        if (unsafeName(entry.name)) continue;
        const path = [...parts, entry.name].join('/');
        if (entry.mode === '40000') {
          if (inside || entry.name === wanted[parts.length]) await walk(entry.id, [...parts, entry.name]);
        } else if (entry.mode === '120000' || entry.mode === '160000') {
          if (inside) tree.skipped.push(path);
          if (inside && entry.mode === '120000') tree.links.set(path, (await reader.readVerified(entry.id, 'blob')).toString('utf8'));
        } else if (inside || IGNORE_FILES.has(entry.name)) {
          const content = await reader.readVerified(entry.id, 'blob');
          bytes += content.length;
          if (tree.files.size >= limits.maxFiles || bytes > limits.maxBytes) throw new GitError(`the source tree is larger than ${limits.maxFiles} files or ${limits.maxBytes} bytes`);
          tree.files.set(path, { path, content, executable: entry.mode === '100755' });
        }
      }
    };
    await walk(rootTree, []);
  } finally {
    reader.close();
  }
  return tree;
}

function manifestName(content: Buffer): string | undefined {
  try {
    const value: unknown = JSON.parse(content.toString('utf8'));
    return typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string' ? (value as { name: string }).name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The directory of the package called `name` in `commit`, for a manifest that names no
 * `repository.directory`: the root when its package.json has that name, else the shallowest
 * directory whose package.json has it (node_modules skipped). Undefined when none or several do.
 */
export async function findPackageDirectory(repoDir: string, commit: string, name: string, env: NodeJS.ProcessEnv, maxTrees = 20_000): Promise<string | undefined> {
  const reader = new ObjectReader(repoDir, env, DEFAULT_TREE_LIMITS.maxBytes);
  try {
    const commitBody = (await reader.readVerified(commit, 'commit')).toString('utf8');
    const rootTree = /^tree ([0-9a-f]{40})$/m.exec(commitBody)?.[1];
    if (!rootTree) return undefined;
    let level: Array<{ id: string; path: string }> = [{ id: rootTree, path: '' }];
    let trees = 0;
    while (level.length > 0 && trees < maxTrees) {
      const found: string[] = [];
      const next: Array<{ id: string; path: string }> = [];
      for (const { id, path } of level) {
        if (++trees > maxTrees) break;
        for (const entry of parseTree(await reader.readVerified(id, 'tree'))) {
          if (unsafeName(entry.name)) continue;
          const child = path ? `${path}/${entry.name}` : entry.name;
          if (entry.mode === '40000' && entry.name !== 'node_modules') next.push({ id: entry.id, path: child });
          else if (entry.name === 'package.json' && entry.mode.startsWith('100') && manifestName(await reader.readVerified(entry.id, 'blob')) === name) found.push(path);
        }
      }
      if (found.length > 0) return found.length === 1 ? found[0] : undefined;
      level = next;
    }
    return undefined;
  } finally {
    reader.close();
  }
}

/**
 * The system `git`, run so that nothing from a fetched repository can execute: no checkout
 * (blobs are read raw from a bare repository, so no filter, attribute or LFS hook applies),
 * hooks pointed at /dev/null, no submodules, only network transports (a repository URL can
 * never become `ext::` or `file://`), no prompts, and a hard timeout. The user's own git
 * configuration (insteadOf, credentials, proxies) still applies.
 */
import { spawn } from 'node:child_process';

export class GitError extends Error {
  constructor(
    message: string,
    readonly stderr = '',
  ) {
    super(message);
    this.name = 'GitError';
  }
}

/** `-c` settings on every git call: they win over the user's and the repository's config. */
export const SAFE_GIT_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.askPass=',
  'protocol.file.allow=never',
  'protocol.ext.allow=never',
  'submodule.recurse=false',
  'fetch.recurseSubmodules=false',
  'filter.lfs.smudge=',
  'filter.lfs.process=',
  'filter.lfs.required=false',
  'gc.auto=0',
  'maintenance.auto=false',
  'credential.interactive=false',
];

/** The environment git runs with: the caller's, minus anything that could prompt or widen transports. */
export function safeGitEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // A caller's GIT_DIR / GIT_WORK_TREE must never redirect us into their repository.
  for (const key of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_EXTERNAL_DIFF', 'GIT_SSH_COMMAND_UNSAFE']) {
    delete env[key];
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_ALLOW_PROTOCOL = 'https:http:ssh:git';
  env.GIT_LFS_SKIP_SMUDGE = '1';
  env.GCM_INTERACTIVE = 'never';
  env.GIT_ASKPASS = '';
  env.SSH_ASKPASS = '';
  // ssh must not ask either (BatchMode); keep a user-set GIT_SSH_COMMAND as is.
  if (!env.GIT_SSH_COMMAND && !env.GIT_SSH) env.GIT_SSH_COMMAND = 'ssh -o BatchMode=yes';
  return env;
}

export interface GitRunOptions {
  env: NodeJS.ProcessEnv;
  /** Milliseconds before git is killed. */
  timeout: number;
  cwd?: string;
  input?: Buffer | string;
  signal?: AbortSignal;
}

export interface GitResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs `git -c … <args>`; rejects with a GitError on a non-zero exit, a timeout or an abort. */
export function runGit(args: readonly string[], options: GitRunOptions): Promise<GitResult> {
  const full = [...SAFE_GIT_CONFIG.flatMap((c) => ['-c', c]), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('git', full, {
      cwd: options.cwd,
      env: safeGitEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so a timeout also ends git-remote-https and ssh under it.
      detached: true,
    });
    const out: Buffer[] = [];
    let err = '';
    let killedFor: string | undefined;
    const kill = (why: string) => {
      killedFor ??= why;
      killGroup(child.pid);
      reject(new GitError(`git ${args[0]} ${why}`, err));
    };
    const timer = setTimeout(() => kill(`timed out after ${Math.round(options.timeout / 1000)} s`), options.timeout);
    const onAbort = () => kill('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 16_384) err += chunk.toString();
    });
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new GitError(`cannot run git: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (killedFor) return reject(new GitError(`git ${args[0]} ${killedFor}`, err));
      if (code !== 0) return reject(new GitError(`git ${args[0]} failed: ${lastLine(err) || `exit ${code}`}`, err));
      resolve({ stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** SIGKILL to a detached child's whole process group. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** `refs/tags/<name>` → commit, peeled (`^{}`) entries winning over the tag objects. */
export function parseLsRemote(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  const peeled = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{40})\trefs\/tags\/(.+?)(\^\{\})?$/.exec(line.trim());
    if (!match) continue;
    (match[3] ? peeled : tags).set(match[2]!, match[1]!);
  }
  for (const [name, commit] of peeled) tags.set(name, commit);
  return tags;
}

/** The remote's tags (`git ls-remote --tags`), without fetching anything. */
export async function listRemoteTags(url: string, options: GitRunOptions): Promise<Map<string, string>> {
  const { stdout } = await runGit(['ls-remote', '--tags', '--', url], options);
  return parseLsRemote(stdout.toString('utf8'));
}

/** What `git ls-remote --heads --tags` says: the version tags, and every commit a branch or tag points at. */
export interface RemoteRefs {
  tags: Map<string, string>;
  /** The object ids of `refs/heads/*` and `refs/tags/*`, annotated tags peeled as well. */
  tips: Set<string>;
}

export function parseRemoteRefs(text: string): RemoteRefs {
  const tips = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{40})\trefs\/(?:heads|tags)\//.exec(line.trim());
    if (match) tips.add(match[1]!);
  }
  return { tags: parseLsRemote(text), tips };
}

/** The remote's branches and tags (never `refs/pull/*` or other refs a host advertises), without fetching anything. */
export async function listRemoteRefs(url: string, options: GitRunOptions): Promise<RemoteRefs> {
  const { stdout } = await runGit(['ls-remote', '--heads', '--tags', '--', url], options);
  return parseRemoteRefs(stdout.toString('utf8'));
}

/**
 * A real git smart-HTTP server on 127.0.0.1 (`git http-backend` behind node's http) serving
 * bare repositories, and a test-only global git config whose `insteadOf` sends
 * https://github.com/ there, so packages keep their real-looking repository URLs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.invalid',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.invalid',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export interface RepoSpec {
  /** `owner/name`: served at /owner/name, reached as https://github.com/owner/name. */
  slug: string;
  files: Record<string, string>;
  /** Tags on the commit (annotated when the name starts with `annotated:`). */
  tags?: string[];
  /** Gitlinks (submodule entries): path → commit id. */
  gitlinks?: Record<string, string>;
  /** Symlinks: path → target. */
  symlinks?: Record<string, string>;
}

export interface GitServer {
  url: string;
  root: string;
  /** A global git config file sending https://github.com/ to this server. */
  gitConfig: string;
  createRepo(spec: RepoSpec): string;
  /**
   * A new commit of `files` (the whole tree) in the served repository `slug`, its parent `parent`
   * (default: main's tip), pointed at by `ref` when given (`refs/heads/main` moves main on,
   * `refs/pull/1/head` is what GitHub advertises for a fork's pull request), else by no ref at all
   * (a fork's commit in a shared object store, or a deleted branch's). Returns its id.
   */
  commit(slug: string, options: { files: Record<string, string>; parent?: string; ref?: string; message?: string }): string;
  /** Points `ref` of the served repository `slug` at `commit`; null deletes the ref. */
  setRef(slug: string, ref: string, commit: string | null): void;
  /** HTTP requests served so far. */
  requests(): number;
  close(): Promise<void>;
}

function git(args: string[], cwd: string, extra: { env?: Record<string, string>; input?: string } = {}): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV, ...extra.env }, encoding: 'utf8', ...(extra.input !== undefined ? { input: extra.input } : {}) }).trim();
}

function splitCgi(output: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  let end = output.indexOf('\r\n\r\n');
  let sep = 4;
  if (end < 0) {
    end = output.indexOf('\n\n');
    sep = 2;
  }
  const head = output.subarray(0, end).toString('utf8');
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (key.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
    else headers[key] = value;
  }
  return { status, headers, body: output.subarray(end + sep) };
}

export async function startGitServer(): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), 'pg-git-'));
  const repos = join(root, 'repos');
  mkdirSync(repos);
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: repos,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.resume();
    req.pipe(child.stdin);
    child.on('close', () => {
      const { status, headers, body } = splitCgi(Buffer.concat(out));
      res.writeHead(status, headers);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const gitConfig = join(root, 'gitconfig');
  writeFileSync(gitConfig, `[url "${url}/"]\n\tinsteadOf = https://github.com/\n`);

  function createRepo(spec: RepoSpec): string {
    const work = mkdtempSync(join(root, 'work-'));
    git(['init', '--quiet', '-b', 'main'], work);
    for (const [path, content] of Object.entries(spec.files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    }
    for (const [path, target] of Object.entries(spec.symlinks ?? {})) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      execFileSync('ln', ['-s', target, join(work, path)]);
    }
    git(['add', '-A'], work);
    for (const [path, commit] of Object.entries(spec.gitlinks ?? {})) git(['update-index', '--add', '--cacheinfo', `160000,${commit},${path}`], work);
    git(['commit', '--quiet', '--no-verify', '-m', 'release'], work);
    const commit = git(['rev-parse', 'HEAD'], work);
    for (const tag of spec.tags ?? []) {
      if (tag.startsWith('annotated:')) git(['tag', '-a', '-m', 'release', tag.slice('annotated:'.length)], work);
      else git(['tag', tag], work);
    }
    const bare = join(repos, spec.slug);
    mkdirSync(dirname(bare), { recursive: true });
    git(['init', '--quiet', '--bare', bare], work);
    // As GitHub: any commit in the object store is served by id, and partial clone filters are honoured.
    git(['config', 'uploadpack.allowAnySHA1InWant', 'true'], bare);
    git(['config', 'uploadpack.allowFilter', 'true'], bare);
    git(['push', '--quiet', bare, 'main', '--tags'], work);
    rmSync(work, { recursive: true, force: true });
    return commit;
  }

  function commit(slug: string, options: { files: Record<string, string>; parent?: string; ref?: string; message?: string }): string {
    const bare = join(repos, slug);
    const index = join(mkdtempSync(join(root, 'index-')), 'index');
    const env = { GIT_INDEX_FILE: index };
    try {
      git(['read-tree', '--empty'], bare, { env });
      for (const [path, content] of Object.entries(options.files)) {
        const blob = git(['hash-object', '-w', '--stdin'], bare, { input: content });
        git(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], bare, { env });
      }
      const tree = git(['write-tree'], bare, { env });
      const parent = options.parent ?? git(['rev-parse', 'refs/heads/main'], bare);
      const id = git(['commit-tree', tree, '-p', parent, '-m', options.message ?? 'change'], bare);
      if (options.ref) git(['update-ref', options.ref, id], bare);
      return id;
    } finally {
      rmSync(dirname(index), { recursive: true, force: true });
    }
  }

  return {
    url,
    root,
    gitConfig,
    createRepo,
    commit,
    setRef: (slug, ref, id) => void git(id === null ? ['update-ref', '-d', ref] : ['update-ref', ref, id], join(repos, slug)),
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => {
          rmSync(root, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

/**
 * Real Yarn 4 projects for tests: a temp project wired to the test registry, with its own
 * cache, global folder and HOME, so nothing outside the temp dir is read or written.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, resolve } from 'node:path';

export const YARN_JS = resolve(__dirname, '../../node_modules/@yarnpkg/cli-dist/bin/yarn.js');
export const PLUGIN_BUNDLE = resolve(__dirname, '../../plugins/yarn/dist/plugin-provenance.cjs');

/** Fails early when the plugin bundle is missing or older than the plugin's sources. */
export function assertFreshBundle(): void {
  if (!existsSync(PLUGIN_BUNDLE)) throw new Error(`${PLUGIN_BUNDLE} is missing: run \`npm run build\` first`);
  const built = statSync(PLUGIN_BUNDLE).mtimeMs;
  const stale = (dir: string): string | undefined => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === 'dist' || entry.name === 'node_modules') continue;
        const found = stale(path);
        if (found) return found;
      } else if (entry.name.endsWith('.ts') && statSync(path).mtimeMs > built) return path;
    }
    return undefined;
  };
  // Only the plugin's own sources: src/ changes all the time in a shared tree, and `npm test` builds first.
  const newer = stale(resolve(__dirname, '../../plugins/yarn'));
  if (newer) throw new Error(`${PLUGIN_BUNDLE} is older than ${newer}: run \`npm run build\` first`);
}

/** Package archives in a project's Yarn cache: what Yarn fetched. */
export function cachedArchives(project: YarnProject): string[] {
  const cache = join(project.env.YARN_GLOBAL_FOLDER!, '..', 'yarn-cache');
  return existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith('.zip')) : [];
}

export interface YarnResult {
  code: number;
  stdout: string;
  stderr: string;
  output: string;
  ms: number;
}

export interface YarnProject {
  dir: string;
  /** Postinstall markers of the fixtures land here. */
  markers: string;
  env: Record<string, string>;
  yarn(args: string[], extraEnv?: Record<string, string>): Promise<YarnResult>;
  /** Markers written by postinstall scripts (fixture ids). */
  ran(): string[];
  installed(name: string): boolean;
  lockfile(): string;
  writePackageJson(dependencies: Record<string, string>): void;
}

export interface YarnProjectOptions {
  registryUrl: string;
  dependencies?: Record<string, string>;
  /** Extra .yarnrc.yml lines. */
  yarnrc?: string[];
  /** Install the plugin bundle (as `yarn plugin import` would). Default true. */
  plugin?: boolean;
  /** Share a cache folder between projects (warm-cache runs). */
  cacheFolder?: string;
  /** Default node-modules (the tests look into node_modules). */
  nodeLinker?: 'node-modules' | 'pnp';
  /** Content of .provenancerc (YAML). */
  provenancerc?: string;
  root?: string;
}

export function yarnrcLines(registryUrl: string, cacheFolder: string, globalFolder: string): string[] {
  return [
    'nodeLinker: node-modules',
    `npmRegistryServer: "${registryUrl}"`,
    'unsafeHttpWhitelist: ["127.0.0.1"]',
    'npmMinimalAgeGate: 0',
    'enableScripts: true',
    'enableGlobalCache: false',
    'enableTelemetry: false',
    `cacheFolder: "${cacheFolder}"`,
    `globalFolder: "${globalFolder}"`,
    'approvedGitRepositories: ["**"]',
  ];
}

/** The .yarnrc.yml `plugins:` entry `yarn plugin import` writes for a local bundle. */
export function installPluginFile(dir: string, bundle = PLUGIN_BUNDLE): string[] {
  const target = join(dir, '.yarn/plugins/@yarnpkg/plugin-provenance.cjs');
  mkdirSync(join(dir, '.yarn/plugins/@yarnpkg'), { recursive: true });
  writeFileSync(target, readFileSync(bundle));
  return ['plugins:', '  - path: .yarn/plugins/@yarnpkg/plugin-provenance.cjs', `    spec: "${bundle}"`];
}

export function runYarn(dir: string, args: string[], env: Record<string, string>): Promise<YarnResult> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [YARN_JS, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr, output: stdout + stderr, ms: Date.now() - started }));
  });
}

/** A clean environment: PATH only, plus a HOME and XDG dirs inside the temp dir. */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_CONFIG_HOME: join(home, 'config'),
    PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'), PROVENANCE_GUARD_STATE_DIR: join(home, 'pg-state'),
    YARN_ENABLE_TELEMETRY: '0',
    YARN_ENABLE_PROGRESS_BARS: 'false',
    YARN_ENABLE_COLORS: 'false',
    YARN_ENABLE_HYPERLINKS: 'false',
    NO_COLOR: '1',
    ...extra,
  };
}

export function createYarnProject(options: YarnProjectOptions): YarnProject {
  const dir = mkdtempSync(join(options.root ?? tmpdir(), 'pg-yarn-'));
  const home = join(dir, '..', `${dir.split('/').pop()}-home`);
  mkdirSync(home, { recursive: true });
  const markers = join(home, 'markers');
  mkdirSync(markers, { recursive: true });
  const cacheFolder = options.cacheFolder ?? join(home, 'yarn-cache');
  const lines = yarnrcLines(options.registryUrl, cacheFolder, join(home, 'yarn-global'));
  if (options.nodeLinker) lines[0] = `nodeLinker: ${options.nodeLinker}`;
  if (options.plugin !== false) lines.push(...installPluginFile(dir));
  lines.push(...(options.yarnrc ?? []));
  writeFileSync(join(dir, '.yarnrc.yml'), lines.join('\n') + '\n');
  writeFileSync(join(dir, 'yarn.lock'), '');
  if (options.provenancerc !== undefined) writeFileSync(join(dir, '.provenancerc'), options.provenancerc);
  const env = isolatedEnv(home, { YARN_GLOBAL_FOLDER: join(home, 'yarn-global'), PG_MARKER_DIR: markers });
  const project: YarnProject = {
    dir,
    markers,
    env,
    yarn: (args, extraEnv = {}) => runYarn(dir, args, { ...env, ...extraEnv }),
    ran: () => (existsSync(markers) ? readdirSync(markers).sort() : []),
    installed: (name) => existsSync(join(dir, 'node_modules', name, 'package.json')),
    lockfile: () => readFileSync(join(dir, 'yarn.lock'), 'utf8'),
    writePackageJson(dependencies) {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pg-yarn-test', private: true, dependencies }, null, 2) + '\n');
    },
  };
  project.writePackageJson(options.dependencies ?? {});
  return project;
}

/** A postinstall that leaves `<PG_MARKER_DIR or fallback>/<id>`: proof the package's code ran. */
export function markerScript(id: string, fallbackDir: string): Record<string, string> {
  const file = id.replace(/[^a-z0-9.@-]/gi, '_');
  return {
    postinstall: `node -e "const d=process.env.PG_MARKER_DIR||${JSON.stringify(fallbackDir).replace(/"/g, "'")};require('fs').mkdirSync(d,{recursive:true});require('fs').writeFileSync(d+'/${file}','ran')"`,
  };
}

/**
 * Local bare git repositories served over git's "dumb" HTTP protocol on 127.0.0.1 (Yarn 4
 * refuses git+file:// with "Invalid URL"; it clones http:// repos once they match
 * `approvedGitRepositories`).
 */
export interface GitServer {
  /** Creates a repository holding one package; returns its git+http:// URL. */
  repo(manifest: Record<string, unknown>): string;
  close(): Promise<void>;
}

export async function startGitServer(root: string): Promise<GitServer> {
  const served = mkdtempSync(join(root, 'pg-git-'));
  const server = createServer((req, res) => {
    const path = normalize(join(served, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
    if (!path.startsWith(served + '/') || !existsSync(path) || statSync(path).isDirectory()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.end(readFileSync(path));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const port = (server.address() as AddressInfo).port;
  let count = 0;
  return {
    repo(manifest) {
      const name = `repo${++count}`;
      const work = join(served, `${name}-work`);
      mkdirSync(work);
      writeFileSync(join(work, 'package.json'), JSON.stringify(manifest, null, 2));
      writeFileSync(join(work, 'index.js'), `module.exports = ${JSON.stringify(manifest.name)};\n`);
      const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
      const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, stdio: 'pipe' });
      git(work, 'init', '-q', '-b', 'main');
      git(work, 'add', '.');
      git(work, 'commit', '-qm', 'init');
      git(served, 'clone', '-q', '--bare', work, `${name}.git`);
      git(join(served, `${name}.git`), 'update-server-info');
      rmSync(work, { recursive: true, force: true });
      return `git+http://127.0.0.1:${port}/${name}.git`;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

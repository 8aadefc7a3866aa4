/**
 * Real package managers on temp projects, for end-to-end tests and benchmarks.
 * Commands run asynchronously: the test registry (verdaccio) lives in the test process, and a
 * synchronous spawn would starve it (pnpm then times out on its sockets).
 *
 * pnpm projects get their own HOME, XDG dirs, store and cache under the project's temp dir,
 * `registry=` in the project .npmrc, and a pnpm-workspace.yaml with `minimumReleaseAge: 0` and
 * `allowBuilds` for the fixtures (TESTING.md).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startRegistry, type FixturePackage, type PublishedPackage, type TestRegistry } from './registry';

const ROOT = resolve(__dirname, '../..');

export type PnpmVersion = '10' | '12';
export const PNPM_VERSIONS: readonly PnpmVersion[] = ['10', '12'];
export const PNPM_BIN: Record<PnpmVersion, string> = {
  '10': join(ROOT, 'node_modules/.bin/pnpm'),
  '12': join(ROOT, 'node_modules/@pnpm/exe.linux-x64/pnpm'),
};
export const PNPM_BUNDLE = join(ROOT, 'plugins/pnpm/dist/pnpmfile.cjs');
export const PNPM_CONFIG_DEPENDENCY_DIR = join(ROOT, 'plugins/pnpm/dist/config-dependency');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together (pnpm 10 prints errors on stdout, pnpm 12 on stderr). */
  output: string;
  ms: number;
}

export function runCommand(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 120_000 });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.on('data', (d: Buffer) => ((stdout += d), (output += d)));
    child.stderr.on('data', (d: Buffer) => ((stderr += d), (output += d)));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr, output, ms: performance.now() - started }));
  });
}

/** The pnpm bundle; test/global-build.ts rebuilt it before the run if any source is newer. */
export async function ensurePnpmBundle(): Promise<string> {
  if (!existsSync(PNPM_BUNDLE) || !existsSync(join(PNPM_CONFIG_DEPENDENCY_DIR, 'package.json'))) {
    throw new Error(`${PNPM_BUNDLE} is missing: run \`npm run build\` (test/global-build.ts builds it for vitest runs)`);
  }
  return PNPM_BUNDLE;
}

/**
 * The hook bundle built from the current sources into `out` (plugins/pnpm/dist may be stale and is
 * shared with other tests), as scripts/build.mjs builds it, without laying out dist/config-dependency.
 */
export async function buildPnpmBundleFromSources(out: string): Promise<string> {
  const { buildPnpmBundle } = (await import(join(ROOT, 'plugins/pnpm/esbuild.mjs'))) as { buildPnpmBundle: (options: { outfile: string }) => Promise<string> };
  return buildPnpmBundle({ outfile: out });
}

/**
 * A fresh clone of a project whose lockfile was committed by someone who installed with the guard
 * off: installs with PROVENANCE_GUARD_MODE=off, checks that the lockfile holds `mustHold`, then
 * removes node_modules and the markers. Returns the lockfile text.
 */
export async function cloneWithUnguardedLockfile(
  project: ProjectFiles & { dir: string },
  install: (env: Record<string, string>) => Promise<CommandResult>,
  mustHold: string,
): Promise<string> {
  const seeded = await install({ PROVENANCE_GUARD_MODE: 'off' });
  if (seeded.code !== 0) throw new Error(`the unguarded install failed (${seeded.code}):\n${seeded.output}`);
  const lock = project.lockfile();
  if (!lock?.includes(mustHold)) throw new Error(`the unguarded lockfile does not hold ${mustHold}:\n${lock}`);
  rmSync(join(project.dir, 'node_modules'), { recursive: true, force: true });
  project.clearMarkers();
  return lock;
}

/** A test project's folders, <parent>/project and <parent>/home, and the id its postinstall markers carry. */
export interface ProjectLayout {
  parent: string;
  dir: string;
  home: string;
  id: string;
}

let projects = 0;

/** Lays out a project in `parent` (made by the caller, or a new temp dir named `prefix`…). */
export function projectLayout(prefix: string, parent = mkdtempSync(join(tmpdir(), prefix))): ProjectLayout {
  const dir = join(parent, 'project');
  mkdirSync(dir, { recursive: true });
  const id = `${prefix.replace(/^pg-/, '').charAt(0)}${process.pid}-${++projects}-${Math.random().toString(36).slice(2, 8)}`;
  return { parent, dir, home: join(parent, 'home'), id };
}

/** What every package manager's test project reads and writes besides the install itself. */
export interface ProjectFiles {
  /** Markers written by this project's postinstall scripts (`name@version`). */
  ran(): string[];
  clearMarkers(): void;
  lockfile(): string | undefined;
  packageJson(): string;
  writeProvenancerc(content: string): void;
}

export function projectFiles(layout: ProjectLayout, markers: string, lockfileName: string): ProjectFiles {
  const { dir } = layout;
  return {
    ...markerLog(markers, layout.id),
    lockfile() {
      const path = join(dir, lockfileName);
      return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    },
    packageJson: () => readFileSync(join(dir, 'package.json'), 'utf8'),
    writeProvenancerc: (content) => writeFileSync(join(dir, '.provenancerc'), content),
  };
}

/** A dir whose fixtures' postinstall scripts leave markers in; absolute, so scripts can reach it from anywhere. */
export function markerDir(): string {
  return mkdtempSync(join(tmpdir(), 'pg-markers-'));
}

/** A fixture package whose postinstall writes `<markers>/<name>@<version>--<PG_PROJECT_ID>`. */
export function fixture(markers: string, pkg: FixturePackage): FixturePackage {
  const file = `${pkg.name.replace('/', '+')}@${pkg.version}`;
  const script = `node -e "require('fs').writeFileSync(require('path').join(${JSON.stringify(markers).replace(/"/g, "'")}, '${file}--' + process.env.PG_PROJECT_ID), '')"`;
  return { ...pkg, scripts: { postinstall: script, ...pkg.scripts } };
}

/** A test registry with the pnpm hook bundle built, and each named fixture published at 1.0.0 (its postinstall leaves a marker in `markers`). */
export interface PnpmFixtureRegistry {
  registry: TestRegistry;
  markers: string;
  published: Map<string, PublishedPackage>;
}

/** The shared beforeAll of the real-pnpm suites: start the registry and build the bundle at once, then publish `names`. */
export async function startPnpmFixtureRegistry(names: readonly string[]): Promise<PnpmFixtureRegistry> {
  const [registry] = await Promise.all([startRegistry(), ensurePnpmBundle()]);
  const markers = markerDir();
  const published = new Map<string, PublishedPackage>();
  try {
    for (const name of names) published.set(name, await registry.publish(fixture(markers, { name, version: '1.0.0' })));
  } catch (error) {
    await registry.close();
    rmSync(markers, { recursive: true, force: true });
    throw error;
  }
  return { registry, markers, published };
}

/** The same postinstall, for a package.json written by hand (git fixtures). */
export function markerScript(markers: string, name: string, version: string): string {
  return fixture(markers, { name, version }).scripts!.postinstall!;
}

export type PnpmHook =
  | { kind: 'none' }
  /** `pnpmfile:` in pnpm-workspace.yaml pointing at this file (default: the built bundle). */
  | { kind: 'pnpmfile'; path?: string }
  /** A .pnpmfile.cjs in the project with this content. */
  | { kind: 'project-file'; content: string }
  /** `configDependencies` in pnpm-workspace.yaml: name → pin. */
  | { kind: 'config-dependency'; name: string; pin: string };

export interface PnpmProjectOptions {
  version: PnpmVersion;
  registryUrl: string;
  markers: string;
  dependencies?: Record<string, string>;
  hook?: PnpmHook;
  /** .provenancerc content (YAML); none when undefined. */
  provenancerc?: string;
  /** Package names whose build scripts are allowed (pnpm 12 fails on unapproved builds). */
  allowBuilds?: readonly string[];
  /** Extra pnpm-workspace.yaml settings. */
  workspace?: Record<string, unknown>;
  /** Parent directory of the project (default: a new temp dir). */
  parent?: string;
  /** Store dir (default: under the project). Share one for warm-store runs. */
  storeDir?: string;
  env?: Record<string, string>;
}

export interface PnpmProject extends ProjectFiles {
  dir: string;
  id: string;
  env: Record<string, string>;
  pnpm(args: readonly string[], extraEnv?: Record<string, string>): Promise<CommandResult>;
  /** Files pnpm placed for a package: node_modules/<name> (or an alias dir) and node_modules/.pnpm/<name>@* entries. */
  installed(name: string): string[];
  writeWorkspace(extra?: Record<string, unknown>): void;
}

export function createPnpmProject(options: PnpmProjectOptions): PnpmProject {
  const layout = projectLayout(`pg-pnpm${options.version}-`, options.parent);
  const { parent, dir, home, id } = layout;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local/state'),
    PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'), PROVENANCE_GUARD_STATE_DIR: join(home, 'pg-state'),
    npm_config_store_dir: options.storeDir ?? join(parent, 'store'),
    npm_config_cache_dir: join(home, 'pnpm-cache'),
    PG_PROJECT_ID: id,
    CI: '1',
    ...options.env,
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pg-test-project', version: '1.0.0', private: true, dependencies: options.dependencies ?? {} }, null, 2) + '\n');
  writeFileSync(join(dir, '.npmrc'), `registry=${options.registryUrl}/\n`);
  const hook = options.hook ?? { kind: 'pnpmfile' };

  function writeWorkspace(extra: Record<string, unknown> = {}): void {
    const ws: Record<string, unknown> = { minimumReleaseAge: 0 };
    // pnpm 10 treats even an empty allowBuilds as a list that conflicts with dangerouslyAllowAllBuilds.
    if (options.allowBuilds?.length) ws.allowBuilds = Object.fromEntries(options.allowBuilds.map((n) => [n, true]));
    Object.assign(ws, options.workspace, extra);
    if (hook.kind === 'pnpmfile') ws.pnpmfile = hook.path ?? PNPM_BUNDLE;
    if (hook.kind === 'project-file') ws.pnpmfile = '.pnpmfile.cjs';
    if (hook.kind === 'config-dependency') ws.configDependencies = { [hook.name]: hook.pin };
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), stringify(ws));
  }
  writeWorkspace();
  if (hook.kind === 'project-file') writeFileSync(join(dir, '.pnpmfile.cjs'), hook.content);
  if (options.provenancerc !== undefined) writeFileSync(join(dir, '.provenancerc'), options.provenancerc);

  return {
    dir,
    id,
    env,
    pnpm: (args, extraEnv = {}) => runCommand(PNPM_BIN[options.version], args, { cwd: dir, env: { ...env, ...extraEnv } }),
    ...projectFiles(layout, options.markers, 'pnpm-lock.yaml'),
    installed(name) {
      const found: string[] = [];
      const nm = join(dir, 'node_modules');
      if (existsSync(join(nm, name))) found.push(join('node_modules', name));
      const virtual = join(nm, '.pnpm');
      const prefix = name.replace('/', '+') + '@';
      if (existsSync(virtual)) for (const entry of readdirSync(virtual)) if (entry.startsWith(prefix)) found.push(join('node_modules/.pnpm', entry));
      return found;
    },
    writeWorkspace,
  };
}

/**
 * pnpm 12 wraps errors near 80 columns inside a box (│ ├ ╰ ─ ▶), also after a hyphen: the
 * output as one line, for assertions on text that may wrap anywhere.
 */
export function unwrapPnpmOutput(text: string): string {
  return text.replace(/-\s*\n\s*[│├╰─▶ ]*/g, '-').replace(/\s*\n\s*[│├╰─▶ ]*/g, ' ');
}

/** The postinstall markers one project's scripts left (`name@version`), and a way to clear them. */
export function markerLog(markers: string, id: string): { ran(): string[]; clearMarkers(): void } {
  const suffix = `--${id}`;
  return {
    ran: () =>
      readdirSync(markers)
        .filter((f) => f.endsWith(suffix))
        .map((f) => f.slice(0, -suffix.length).replace('+', '/'))
        .sort(),
    clearMarkers() {
      for (const f of readdirSync(markers)) if (f.endsWith(suffix)) rmSync(join(markers, f));
    },
  };
}

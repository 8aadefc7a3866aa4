/**
 * `verify --rebuild`: the package built from its source commit and packed, compared with the
 * published tarball. Isolation, in two phases:
 *  1. dependencies are downloaded by npm itself from the registry with every script disabled
 *     (`--ignore-scripts`) and without the repository's .npmrc files: the only network use,
 *     and no code of the package or its dependencies runs;
 *  2. every script (dependency install scripts via `npm rebuild`, then `npm pack` with
 *     prepare/prepack) runs in new Linux namespaces with no network at all and a tmpfs over the
 *     user's home, with a throwaway HOME and npm config and an environment without credentials.
 * When namespaces are not available the build still runs, and the verdict says plainly that it
 * was not isolated.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NpmConfig } from '../npmrc';
import { killGroup } from './git';
import { compareManifests } from './manifest';
import { materialise } from './packlist';
import { listTarball, type TarballFiles } from './tarball';
import type { SourceFile } from './tree';
import type { RebuildResult } from './index';

export interface RebuildInput {
  files: Iterable<SourceFile>;
  directory: string | undefined;
  published: TarballFiles;
  registry: string;
  env: NodeJS.ProcessEnv;
  npm: NpmConfig;
  /** Milliseconds per phase. */
  timeout?: number;
}

interface Run {
  code: number | null;
  output: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      killGroup(child.pid);
      resolve({ code: -1, output: `${output}\ntimed out after ${Math.round(timeout / 1000)} s` });
    }, timeout);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, output: error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A clean environment: PATH and a throwaway HOME, npm pointed at the registry only. */
function buildEnv(base: NodeJS.ProcessEnv, home: string, registry: string): NodeJS.ProcessEnv {
  const userconfig = join(home, '.npmrc');
  writeFileSync(userconfig, `registry=${registry}\n`);
  return {
    PATH: base.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    TMPDIR: join(home, 'tmp'),
    LANG: 'C.UTF-8',
    npm_config_userconfig: userconfig,
    npm_config_globalconfig: join(home, 'globalnpmrc'),
    npm_config_cache: join(home, '.npm'),
    npm_config_registry: registry,
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_loglevel: 'error',
  };
}

/** The namespace wrapper that works here: as root, or through a user namespace; undefined when none does. */
async function isolation(env: NodeJS.ProcessEnv, cwd: string): Promise<string[] | undefined> {
  const candidates = [
    ['unshare', '--net', '--mount', '--fork'],
    ['unshare', '--user', '--map-root-user', '--net', '--mount', '--fork'],
  ];
  for (const prefix of candidates) {
    const probe = await run(prefix[0]!, [...prefix.slice(1), '--', 'sh', '-c', 'mount -t tmpfs tmpfs "$0"', join(env.HOME!, 'tmp')], cwd, env, 10_000);
    if (probe.code === 0) return prefix;
  }
  return undefined;
}

/** Differences between two file sets: changed, missing and extra paths (package.json normalised). */
export function diffTarballs(rebuilt: TarballFiles, published: TarballFiles): string[] {
  const out: string[] = [];
  for (const [path, data] of published) {
    const other = rebuilt.get(path);
    if (!other) out.push(`${path} (not in the rebuild)`);
    else if (path === 'package.json' ? compareManifests(other, data).outcome === 'modified' : !other.equals(data)) out.push(path);
  }
  for (const path of rebuilt.keys()) if (!published.has(path)) out.push(`${path} (only in the rebuild)`);
  for (const anomaly of published.anomalies ?? []) out.push(anomaly);
  return out.sort();
}

async function build(pkgDir: string, out: string, env: NodeJS.ProcessEnv, timeout: number): Promise<{ error?: string; isolated: boolean }> {
  const lock = ['npm-shrinkwrap.json', 'package-lock.json'].some((f) => existsSync(join(pkgDir, f)));
  const install = await run('npm', lock ? ['ci', '--ignore-scripts'] : ['install', '--ignore-scripts', '--no-package-lock'], pkgDir, env, timeout);
  if (install.code !== 0) return { error: `installing the build dependencies failed: ${lastLines(install.output)}`, isolated: false };
  const wrapper = await isolation(env, pkgDir);
  // Inside the namespace: hide the real home (credentials, ssh keys), then run every script offline.
  const script = 'mount -t tmpfs tmpfs "$0" 2>/dev/null; npm rebuild --offline && npm pack --offline --pack-destination "$1"';
  // Never hide the build's own directories (a TMPDIR inside the home).
  const realHome = [pkgDir, out].some((p) => p.startsWith(`${homedir()}/`)) ? '/nonexistent' : homedir();
  const packed = wrapper
    ? await run(wrapper[0]!, [...wrapper.slice(1), '--', 'sh', '-c', script, realHome, out], pkgDir, env, timeout)
    : await run('sh', ['-c', 'npm rebuild --offline && npm pack --offline --pack-destination "$0"', out], pkgDir, env, timeout);
  if (packed.code !== 0) return { error: `the build failed: ${lastLines(packed.output)}`, isolated: Boolean(wrapper) };
  return { isolated: Boolean(wrapper) };
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ').slice(0, 400);
}

/** Builds and packs the source, then compares the result with the published files. */
export async function rebuildFromSource(input: RebuildInput): Promise<RebuildResult> {
  // The repository's own npm configuration is not the build's: phase 1 runs outside the namespaces,
  // and a project .npmrc can point npm at a repository file to run (`git=./x.sh` for a git
  // dependency) or at places to write (`logs-dir`). npm never packs .npmrc, so the result is the same.
  const root = materialise([...input.files].filter((f) => f.path.split('/').pop() !== '.npmrc'));
  const home = mkdtempSync(join(tmpdir(), 'pg-rebuild-home-'));
  try {
    mkdirSync(join(home, 'tmp'));
    const out = join(home, 'out');
    mkdirSync(out);
    const env = buildEnv(input.env, home, input.registry);
    const pkgDir = input.directory ? join(root, ...input.directory.split('/')) : root;
    const result = await build(pkgDir, out, env, input.timeout ?? 600_000);
    const notIsolated = result.isolated ? '' : ' (NOT isolated: Linux namespaces are not available here, the build ran with network access and could read your files)';
    if (result.error) return { verdict: 'unknown', source: 'provenance-guard', reason: `${result.error}${notIsolated}` };
    const tgz = readdirSync(out).find((f) => f.endsWith('.tgz'));
    if (!tgz) return { verdict: 'unknown', source: 'provenance-guard', reason: `npm pack wrote no tarball${notIsolated}` };
    const files = diffTarballs(await listTarball(readFileSync(join(out, tgz))), input.published);
    if (files.length === 0) return { verdict: 'reproducible', source: 'provenance-guard', files: [], reason: `rebuilt from source and packed: every file matches${notIsolated}` };
    return { verdict: 'not-reproducible', source: 'provenance-guard', files, reason: `the rebuild differs in ${files.slice(0, 5).join(', ')}${files.length > 5 ? ` and ${files.length - 5} more` : ''}${notIsolated}` };
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Which config file governs a run. The search goes from the project directory upward and stops
 * at the project's root, the way pnpm and Yarn bound a project: the workspace root (a directory
 * with pnpm-workspace.yaml, or a package.json with `workspaces`), else the nearest directory with
 * a package.json; a repository root (.git) is never crossed. Nothing above that root, in the home
 * directory or in $XDG_CONFIG_HOME is read unless passed with --config. Two config files in one
 * directory are an error: neither silently wins.
 */
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AmbiguousConfigError, ConfigError } from '../errors';

/** Every place a config can live in one directory; package.json counts only with a `provenance` key. */
export const SEARCH_PLACES = [
  'package.json',
  '.provenancerc',
  '.provenancerc.json',
  '.provenancerc.yaml',
  '.provenancerc.yml',
  '.provenancerc.js',
  '.provenancerc.cjs',
  '.provenancerc.mjs',
  'provenance.config.js',
  'provenance.config.cjs',
  'provenance.config.mjs',
] as const;

export interface ConfigSearch {
  /** The config file found, undefined when there is none. */
  filepath: string | undefined;
  /** The directories searched, nearest first (the last one is the project root). */
  searched: string[];
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** package.json files read during one search: each is read and parsed once (both the project bound and the config search look at it). */
type Manifests = Map<string, Record<string, unknown> | undefined>;

function readManifest(path: string, seen: Manifests): Record<string, unknown> | undefined {
  if (seen.has(path)) return seen.get(path);
  const manifest = parseManifestFile(path);
  seen.set(path, manifest);
  return manifest;
}

function parseManifestFile(path: string): Record<string, unknown> | undefined {
  if (!isFile(path)) return undefined;
  try {
    // Any JSON value: only its `workspaces` and `provenance` keys are read (none on null, a list or a string).
    return Object(JSON.parse(readFileSync(path, 'utf8'))) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`${path}: invalid JSON, so it cannot be told whether it holds a provenance config: ${(error as Error).message}`, { file: path, code: 'ERR_PG_CONFIG_INVALID' });
  }
}

function isWorkspaceRoot(dir: string, seen: Manifests): boolean {
  return isFile(join(dir, 'pnpm-workspace.yaml')) || readManifest(join(dir, 'package.json'), seen)?.workspaces !== undefined;
}

/** `start` and its ancestors up to the project root (inclusive), nearest first. */
export function projectDirectories(start: string, seen: Manifests = new Map()): string[] {
  const dirs: string[] = [];
  let nearestPackage = -1;
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    dirs.push(dir);
    if (isWorkspaceRoot(dir, seen)) return dirs;
    if (nearestPackage < 0 && readManifest(join(dir, 'package.json'), seen) !== undefined) nearestPackage = dirs.length - 1;
    if (existsSync(join(dir, '.git')) || dirname(dir) === dir) break;
  }
  return dirs.slice(0, Math.max(nearestPackage, 0) + 1); // `start` alone when no package.json was seen
}

/**
 * Whether a config file is at `path`. Something there that is not a readable file (a directory, a
 * link to a file that is missing, say one outside a CI checkout) is an error: skipping it would run
 * with a parent's config or none.
 */
function isConfigFile(path: string): boolean {
  if (isFile(path)) return true;
  try {
    lstatSync(path);
  } catch {
    return false;
  }
  throw new ConfigError(`${path}: not a config file (a directory, or a link to a missing file); make it a file or remove it`, { file: path, code: 'ERR_PG_CONFIG_INVALID' });
}

/** The config files in one directory. */
function configsIn(dir: string, seen: Manifests): string[] {
  return SEARCH_PLACES.map((name) => join(dir, name)).filter((path) =>
    path.endsWith('package.json') ? readManifest(path, seen)?.provenance !== undefined : isConfigFile(path),
  );
}

/** Finds the one config file that governs `cwd`, or none. */
export function findConfig(cwd: string): ConfigSearch {
  const searched: string[] = [];
  const seen: Manifests = new Map();
  for (const dir of projectDirectories(cwd, seen)) {
    searched.push(dir);
    const found = configsIn(dir, seen);
    if (found.length > 1) {
      throw new AmbiguousConfigError(`${found.join(' and ')}: more than one provenance config in ${dir}; keep one`, found);
    }
    if (found.length === 1) return { filepath: found[0], searched };
  }
  return { filepath: undefined, searched };
}

/** Lockfile readers: pnpm-lock.yaml, yarn.lock (Berry) and package-lock.json → ResolvedPackage[]. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FAILSAFE_SCHEMA, load as loadYaml } from '@zkochan/js-yaml';
import { parseAllDocuments } from 'yaml';
import { isStackOverflow, TOO_DEEP } from '../nesting';
import type { ResolvedPackage } from '../types';
import { dedupe, fail, isObject, lineColumn } from './common';
import { packagesFromBunLock, parseBunLockText } from './bun';
import { packagesFromPackageLock } from './npm';
import { packagesFromPnpmLockfile } from './pnpm';
import { pinnedConfigDependencies } from './pnpm-workspace';
import { packageKey, type Registries } from './source';
import { packagesFromYarnLock } from './yarn';
import { configuredRegistries, lockfileKindOf, lockfileReadFailure, LOCKFILE_NAMES, type LockfileKind } from './detect';

export { packagesFromBunLock } from './bun';
export { packagesFromPackageLock } from './npm';
export { packagesFromPnpmLockfile } from './pnpm';
export { packageFromYarnResolution, packagesFromYarnLock } from './yarn';
export { DEFAULT_REGISTRIES, type Registries } from './source';
export { configuredRegistries, detectLockfile, detectLockfiles, lockfileKindOf, LOCKFILE_NAMES, type DetectedLockfile, type LockfileKind } from './detect';

export interface ReadLockfileOptions {
  /**
   * The registries the package manager is configured with (registry identity, source.ts).
   * Default: its own settings for the lockfile's directory: .npmrc for npm and pnpm
   * (https://registry.npmjs.org/ when none), .yarnrc.yml for Yarn.
   */
  registries?: Registries;
  /** Environment the settings are read with (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Parses a lockfile, every time. There is deliberately no on-disk cache of parsed lockfiles:
 * the cache directory is restored from pull-request jobs on CI, so whatever it holds is
 * attacker-writable, and a parsed list taken from it would decide what gets checked (a `[]`
 * entry made `check` pass with 0 packages). Parsing 2,000 packages costs ~55-65 ms.
 */
export function readLockfile(path: string, kind?: LockfileKind, options: ReadLockfileOptions = {}): ResolvedPackage[] {
  const file = resolve(path);
  const resolvedKind = kind ?? lockfileKindOf(file);
  if (!resolvedKind) return fail(path, `cannot tell the lockfile kind from its name (expected one of ${LOCKFILE_NAMES.join(', ')})`, 'ERR_PG_LOCKFILE_UNSUPPORTED');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const failure = lockfileReadFailure(file, error);
    return fail(path, failure.problem, failure.code);
  }
  const dir = dirname(file);
  const registries = options.registries ?? configuredRegistries(resolvedKind, dir, options.env);
  const packages = parseLockfileText(resolvedKind, text, dir, path, registries);
  // pnpm 10 pins its config dependencies in pnpm-workspace.yaml, beside the lockfile.
  return resolvedKind === 'pnpm' ? dedupe([...packages, ...pinnedConfigDependencies(dir)]) : packages;
}

function parseLockfileText(kind: LockfileKind, text: string, dir: string, path: string, registries: Registries): ResolvedPackage[] {
  switch (kind) {
    case 'pnpm':
      return packagesFromPnpmText(text, dir, path, registries);
    case 'yarn':
      return packagesFromYarnLock(text, dir, path, { registries });
    case 'npm':
      return packagesFromPackageLock(parseJsonText(text, path), dir, path, { registries });
    case 'bun':
      return packagesFromBunLock(parseBunLockText(text, path), dir, path, { registries });
  }
}

/**
 * pnpm 11+ may write two YAML documents: an "env" document first (config dependencies and
 * pnpm itself) and the project's lockfile last. The project graph is the last document; from
 * the env document we keep the config dependencies, which pnpm installs and loads.
 */
function packagesFromPnpmText(text: string, dir: string, file: string, registries: Registries): ResolvedPackage[] {
  const documents = parsePnpmYaml(text, file);
  if (documents.length === 0) return fail(file, 'empty file', 'ERR_PG_LOCKFILE_PARSE');
  const project = documents[documents.length - 1];
  const packages = packagesFromPnpmLockfile(project, dir, file, { registries });
  for (const env of documents.slice(0, -1)) packages.push(...configDependencies(env, dir, file, registries));
  return packages;
}

function configDependencies(env: unknown, dir: string, file: string, registries: Registries): ResolvedPackage[] {
  if (!isObject(env) || !isObject(env.importers)) return [];
  const root = env.importers['.'];
  const deps = isObject(root) ? root.configDependencies : undefined;
  if (!isObject(deps) || Object.keys(deps).length === 0) return [];
  const wanted = new Set<string>();
  for (const [name, value] of Object.entries(deps)) {
    const version = isObject(value) ? value.version : value;
    if (typeof version === 'string') wanted.add(packageKey(name, version.split('+')[0]!));
  }
  const { importers: _ignored, ...rest } = env;
  return packagesFromPnpmLockfile({ ...rest, importers: {} }, dir, file, { registries }).filter((p) => wanted.has(packageKey(p.name, p.version)));
}

/**
 * One YAML document, read by the parser pnpm reads pnpm-lock.yaml with (@zkochan/js-yaml, pnpm's
 * fork of js-yaml 4; the failsafe schema here: every scalar a string; a key twice is an error, as
 * for pnpm; an empty document is an empty mapping). Not through Yarn's parseSyml: it sends any
 * text that starts with a `# yarn lockfile v1` comment to Yarn's v1 lockfile grammar, which reads
 * lines YAML reads otherwise (`integrity "sha512-…"` is a key and its value there, one string in
 * YAML): a pnpm-lock.yaml pnpm installs one way would be checked as another.
 */
function jsYamlDocument(text: string): unknown {
  return loadYaml(text, { schema: FAILSAFE_SCHEMA }) ?? {};
}

let lastParsed: { text: string; documents: unknown[] } | undefined;

/**
 * YAML documents of a pnpm-lock.yaml (the CLI's reader and the pnpm hook's, for the lockfile on
 * disk). The `yaml` package is the reference parser but needs ~780 ms for a 2,000-package
 * lockfile in a cold process; pnpm's own parser reads it in ~120 ms. Anything that one rejects
 * goes to `yaml`, which either reads it or gives the error with its line (a LockfileError naming
 * the file).
 */
export function parsePnpmYaml(text: string, file: string): unknown[] {
  // `check` reads a pnpm-lock.yaml twice in one process (its packages, then the report's
  // dependency paths): the same text is parsed once. Nothing changes the parsed documents.
  if (lastParsed?.text === text) return lastParsed.documents;
  const documents = parsedPnpmYaml(text, file);
  // No text, no key: the walk runs only for a file that has `<<` somewhere (a deprecation message may).
  if (text.includes('<<') && hasMergeKey(documents)) {
    return fail(file, 'a merge key (<<): pnpm reads it as YAML 1.1 does, adding the keys of the mapping it names (dependencies, resolutions), which this reader does not; pnpm never writes one', 'ERR_PG_LOCKFILE_PARSE');
  }
  lastParsed = { text, documents };
  return documents;
}

/**
 * Whether any mapping has the key `<<`. pnpm 10 loads pnpm-lock.yaml with js-yaml's default
 * schema, where `<<` merges another mapping's keys in; the failsafe schema here keeps it as a
 * key, so a dependency merged in (a `link:` to a folder outside the project) would be pnpm's
 * and not this reader's. Each object once: aliases share objects.
 */
function hasMergeKey(documents: unknown[]): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [...documents];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (!Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, '<<')) return true;
    for (const child of Object.values(value)) stack.push(child);
  }
  return false;
}

function parsedPnpmYaml(text: string, file: string): unknown[] {
  try {
    // pnpm separates documents with `---` lines; it writes no block scalars that could hold one.
    const parts = text.split(/^---[ \t]*$/m).filter((part) => part.trim() !== '');
    return parts.map(jsYamlDocument);
  } catch {
    // fall through to the reference parser
  }
  let documents: ReturnType<typeof parseAllDocuments>;
  try {
    documents = parseAllDocuments(text);
  } catch (error) {
    if (isStackOverflow(error)) return fail(file, `invalid YAML: ${TOO_DEEP}`, 'ERR_PG_LOCKFILE_PARSE');
    throw error;
  }
  const list = Array.isArray(documents) ? documents : [documents];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) {
      const pos = error.linePos?.[0];
      const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
      return fail(file, `invalid YAML${where}: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, 'ERR_PG_LOCKFILE_PARSE');
    }
  }
  try {
    return list.map((doc) => doc.toJS() as unknown);
  } catch (error) {
    if (isStackOverflow(error)) return fail(file, `invalid YAML: ${TOO_DEEP}`, 'ERR_PG_LOCKFILE_PARSE');
    // yaml refuses to expand an alias bomb ("billion laughs") with a ReferenceError.
    if (error instanceof ReferenceError) return fail(file, `invalid YAML: ${error.message}`, 'ERR_PG_LOCKFILE_PARSE');
    throw error;
  }
}

function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    let where = '';
    if (position) {
      const { line, column } = lineColumn(text, Number(position[1]));
      where = ` at line ${line}, column ${column}`;
    }
    return fail(file, `invalid JSON${where}: ${message.replace(/ in JSON at position \d+.*$/, '')}`, 'ERR_PG_LOCKFILE_PARSE');
  }
}

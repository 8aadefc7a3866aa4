/**
 * Which lockfiles a project has, what kind each is, and the registries its package manager is
 * configured with: all `check` needs before reading one (a repeat check answered from its stored
 * verdict never loads the readers).
 */
import { lstatSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bunRegistriesFor, npmRegistriesFor, yarnRegistriesFor } from './registries';
import type { Registries } from './source';

export type LockfileKind = 'pnpm' | 'yarn' | 'npm' | 'bun';

/** File names looked for; `check` reads every one that exists. */
export const LOCKFILE_NAMES: readonly string[] = Object.freeze(['pnpm-lock.yaml', 'yarn.lock', 'npm-shrinkwrap.json', 'package-lock.json', 'bun.lock']);

const KIND_BY_NAME: Readonly<Record<string, LockfileKind>> = {
  'pnpm-lock.yaml': 'pnpm',
  'yarn.lock': 'yarn',
  'package-lock.json': 'npm',
  'npm-shrinkwrap.json': 'npm',
  'bun.lock': 'bun',
};

export interface DetectedLockfile {
  path: string;
  kind: LockfileKind;
}

/**
 * Every lockfile in `dir` (a decoy beside the real one must not hide it). An entry counts even when
 * it cannot be read, a symbolic link to nothing included: reading it then fails (exit 2).
 */
export function detectLockfiles(dir: string): DetectedLockfile[] {
  return LOCKFILE_NAMES.map((name) => ({ path: join(dir, name), kind: KIND_BY_NAME[name]! })).filter((found) => lstatSync(found.path, { throwIfNoEntry: false }) !== undefined);
}

/** Why a lockfile could not be read, with its code: a symbolic link to nothing is unreadable, not absent. */
export function lockfileReadFailure(path: string, error: unknown): { problem: string; code: 'ERR_PG_LOCKFILE_NOT_FOUND' | 'ERR_PG_LOCKFILE_UNREADABLE' } {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'ENOENT') return { problem: `cannot be read (${code ?? (error as Error).message})`, code: 'ERR_PG_LOCKFILE_UNREADABLE' };
  return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()
    ? { problem: 'cannot be read (a symbolic link to a missing file)', code: 'ERR_PG_LOCKFILE_UNREADABLE' }
    : { problem: 'no such file', code: 'ERR_PG_LOCKFILE_NOT_FOUND' };
}

/** The first lockfile in `dir` (for one-package lookups such as `explain`). */
export function detectLockfile(dir: string): DetectedLockfile | undefined {
  return detectLockfiles(dir)[0];
}

/** A lockfile's kind from its file name. */
export function lockfileKindOf(path: string): LockfileKind | undefined {
  return KIND_BY_NAME[basename(path)];
}

/** The registries a package manager of `kind` uses for a project directory. */
export function configuredRegistries(kind: LockfileKind, dir: string, env: NodeJS.ProcessEnv = process.env): Registries {
  if (kind === 'yarn') return yarnRegistriesFor(dir, env);
  return kind === 'bun' ? bunRegistriesFor(dir, env) : npmRegistriesFor(dir, env);
}

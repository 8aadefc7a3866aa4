/**
 * pnpm 10's config dependencies: pinned in pnpm-workspace.yaml as `name: "version+sha512-…"` (no
 * lockfile entry; pnpm 11+ write theirs into pnpm-lock.yaml's env document, read with it).
 * pnpm installs them, and loads a `pnpm-plugin-*` one's pnpmfile, before any hook can run, so
 * `check` is where they are checked. Read as pnpm reads the file (js-yaml, its default schema).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from '@zkochan/js-yaml';
import { isStackOverflow, TOO_DEEP } from '../nesting';
import type { ResolvedPackage } from '../types';
import { fail, isObject, make } from './common';

export const PNPM_WORKSPACE_FILE = 'pnpm-workspace.yaml';

/** A pin pnpm 10 reads: the version, `+`, the integrity it verifies the download against (a malformed one cannot be bound: rule integrity). */
const PIN = /^([^+]*)\+([\s\S]*)$/;

/** The config dependencies pnpm-workspace.yaml in `dir` pins with an integrity (none without the file). */
export function pinnedConfigDependencies(dir: string): ResolvedPackage[] {
  const file = join(dir, PNPM_WORKSPACE_FILE);
  if (!existsSync(file)) return [];
  const settings = workspaceSettings(file);
  const deps = isObject(settings) ? settings.configDependencies : undefined;
  if (deps === undefined || deps === null) return [];
  if (!isObject(deps)) return fail(file, 'configDependencies must be a mapping');
  const out: ResolvedPackage[] = [];
  for (const [name, value] of Object.entries(deps)) {
    const pin = typeof value === 'string' ? PIN.exec(value) : null;
    // A bare version (pnpm 11+) is pinned in pnpm-lock.yaml's env document, read with the lockfile.
    if (!pin) continue;
    out.push(make({ name, version: pin[1]!, source: 'registry', integrity: pin[2]! }, { file, entry: `configDependencies.${name}` }));
  }
  return out;
}

function workspaceSettings(file: string): unknown {
  try {
    return load(readFileSync(file, 'utf8'));
  } catch (error) {
    const problem = isStackOverflow(error) ? TOO_DEEP : ((error as Error).message.split('\n')[0] ?? 'cannot be read');
    return fail(file, `invalid YAML: ${problem}`, 'ERR_PG_LOCKFILE_PARSE');
  }
}

import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * The per-user cache directory: downloaded feeds (and sparse copies of `#range` feeds), the
 * accepted feed serials (rollback protection) and the secret stored verdicts are signed with.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.PROVENANCE_GUARD_CACHE_DIR;
  if (explicit) return resolve(explicit);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'provenance-guard');
  return join(env.HOME || homedir(), '.cache', 'provenance-guard');
}

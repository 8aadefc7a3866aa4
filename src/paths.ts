import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * The per-user cache directory: downloaded feeds (and sparse copies of `#range` feeds), evidence
 * answers, fetched repositories. Everything read from it is checked (a hash, a signature or an
 * HMAC under the state directory's secret), so a copy restored from anywhere changes no verdict.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.PROVENANCE_GUARD_CACHE_DIR;
  if (explicit) return resolve(explicit);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'provenance-guard');
  return join(env.HOME || homedir(), '.cache', 'provenance-guard');
}

/**
 * The per-user state directory: this machine's trust state (its secret, the accepted feed
 * serials, the Yarn archives it verified). Kept apart from the cache because CI systems cache
 * and restore cache directories, and a cache restored from a pull-request job is the attacker's.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.PROVENANCE_GUARD_STATE_DIR;
  if (explicit) return resolve(explicit);
  const xdg = env.XDG_STATE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'provenance-guard');
  return join(env.HOME || homedir(), '.local', 'state', 'provenance-guard');
}

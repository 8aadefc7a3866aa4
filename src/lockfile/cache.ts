/**
 * Parsed lockfiles, cached by content: installs and CI re-check the same lockfile again and
 * again, and parsing a large pnpm-lock.yaml costs more than the whole feed lookup. The key
 * covers the reader version, the kind, the lockfile's directory and its exact bytes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic';
import type { ResolvedPackage } from '../types';

const READER_VERSION = '2';
const KEEP = 32;

/** `settings`: what else the readers depend on (the configured registries), serialized. */
export function lockfileCacheKey(kind: string, dir: string, settings: string, text: string): string {
  return createHash('sha256').update(`${READER_VERSION}\0${kind}\0${dir}\0${settings}\0`).update(text).digest('hex');
}

export function readCachedPackages(cacheDir: string, key: string): ResolvedPackage[] | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(join(cacheDir, 'lockfiles', `${key}.json`), 'utf8'));
    return Array.isArray(value) ? (value as ResolvedPackage[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a cache that cannot be written only costs the next run a parse. */
export function writeCachedPackages(cacheDir: string, key: string, packages: readonly ResolvedPackage[]): void {
  const dir = join(cacheDir, 'lockfiles');
  try {
    writeFileAtomic(join(dir, `${key}.json`), JSON.stringify(packages));
    const entries = readdirSync(dir).filter((f) => f.endsWith('.json'));
    if (entries.length <= KEEP) return;
    const byAge = entries.map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
    for (const { f } of byAge.slice(0, entries.length - KEEP)) rmSync(join(dir, f), { force: true });
  } catch {
    // read-only or full cache directory: nothing to keep
  }
}

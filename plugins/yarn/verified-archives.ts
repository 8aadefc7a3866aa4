/**
 * The archives of Yarn's cache this machine has seen built from a tarball whose sha512 was the
 * feed's (plugins/yarn/fetch-guard.ts). Kept in the guard's state directory (paths.ts stateDir),
 * never in Yarn's cache folder nor the guard's cache directory: a cache restored in CI may come
 * from a pull-request job and is attacker-controlled, so an archive found there is trusted only
 * when this record says so (the same trust the accepted feed serials, kept beside it, rely on).
 * One empty file per (archive checksum, name@version, expected integrity): no parsing, safe
 * under concurrent installs.
 */
import { hash } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/atomic';

export interface VerifiedArchives {
  has(checksum: string, id: string, integrity: string): boolean;
  add(checksum: string, id: string, integrity: string): void;
}

/** The hash part of Yarn's `cacheKey/hash` checksum (the cache key names Yarn's zip settings). */
export function archiveHash(checksum: string): string {
  const slash = checksum.lastIndexOf('/');
  return slash === -1 ? checksum : checksum.slice(slash + 1);
}

export const REMEMBERED_LENGTH = 64;

/**
 * How a stored verdict names an archive (verdict-reuse.ts): the first 256 bits of its sha512 (hex),
 * as strong as SHA-512/256 and half the bytes to read, authenticate and parse back (64 kB of a
 * 1,000-package verdict instead of 128).
 */
export function rememberedArchive(archive: string): string {
  return archive.slice(0, REMEMBERED_LENGTH);
}

export function verifiedArchives(dir: string): VerifiedArchives {
  // One-shot hash: a warm install asks for every package, and a Hash object each cost more than the lookup.
  const name = (checksum: string, id: string, integrity: string) => hash('sha256', `${archiveHash(checksum)}\u0000${id}\u0000${integrity}`, 'hex');
  // One directory listing instead of a stat per archive (a warm install asks for every package).
  // A record written meanwhile by another install is not seen: that archive is verified again.
  let listed: Set<string> | undefined;
  const records = (): Set<string> => {
    if (!listed) {
      try {
        listed = new Set(readdirSync(dir));
      } catch {
        listed = new Set();
      }
    }
    return listed;
  };
  return {
    has: (checksum, id, integrity) => records().has(name(checksum, id, integrity)),
    add(checksum, id, integrity) {
      const file = name(checksum, id, integrity);
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(join(dir, file), '');
      records().add(file);
    },
  };
}

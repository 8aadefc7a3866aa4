/**
 * Which feed this process evaluated with. A verdict is stored under the feed file's preamble as
 * read when it is stored (verdict-store.ts); if the file was replaced after the guard opened it
 * (a `feed update` during an install), that preamble names a feed the verdict was not evaluated
 * against, and the store is refused.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Preamble } from './preamble';

/** Feed file (resolved path) → the digest of the preamble this process opened there; null once it opened two. */
const openedFeeds = new Map<string, string | null>();

/** SHA-256 of a feed's signed preamble: the header line and its signature (the feed's identity). */
export function preambleDigest(preamble: Pick<Preamble, 'signed' | 'signature'>): string {
  return createHash('sha256').update(preamble.signed).update(preamble.signature).digest('hex');
}

/** Called by the reader for every feed it opens for lookups. */
export function noteOpened(path: string, digest: string): void {
  const key = resolve(path);
  const before = openedFeeds.get(key);
  openedFeeds.set(key, before === undefined || before === digest ? digest : null);
}

/**
 * False when this process opened the feed file at `path` with another preamble than `preamble`
 * (or with two); true when it opened exactly this one, or never opened that path.
 */
export function evaluatedWith(path: string, preamble: Pick<Preamble, 'signed' | 'signature'>): boolean {
  const opened = openedFeeds.get(resolve(path));
  return opened === undefined || opened === preambleDigest(preamble);
}

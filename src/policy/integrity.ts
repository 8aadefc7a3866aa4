/**
 * The one SRI parser and the integrity binding (SPEC "Verdicts": integrity is bound, never
 * assumed). A package is bound to its feed record only when every sha512 digest the package
 * manager will verify the download against is the record's sha512: a missing, malformed or
 * sha1-only integrity cannot be bound, and a string that lists a second, different sha512
 * beside the right one is refused too (the package manager accepts a download matching any).
 */
import { createHash } from 'node:crypto';

export type SriAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const DIGEST_BYTES: Readonly<Record<SriAlgorithm, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

export interface SriHash {
  algorithm: SriAlgorithm;
  /** Base64 digest as written. */
  digest: string;
}

/** Parses an SRI string (`sha512-… sha1-…`, options after `?` ignored); undefined when any part is malformed. */
export function parseSri(integrity: string): SriHash[] | undefined {
  // '' splits to [''], which no hash pattern matches.
  const parts = integrity.trim().split(/\s+/);
  const hashes: SriHash[] = [];
  for (const part of parts) {
    const match = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?[\x21-\x7e]*)?$/.exec(part);
    if (!match) return undefined;
    const algorithm = match[1] as SriAlgorithm;
    const digest = match[2]!;
    // The length Buffer.from(digest, 'base64') would decode to (3 bytes per 4 characters, padding
    // ignored), without allocating a buffer per package.
    const characters = digest.length - (digest.endsWith('==') ? 2 : digest.endsWith('=') ? 1 : 0);
    if (Math.floor((characters * 3) / 4) !== DIGEST_BYTES[algorithm]) return undefined;
    hashes.push({ algorithm, digest });
  }
  return hashes;
}

/** The sha512 SRI string of some bytes (what npm and pnpm record for a tarball). */
export function sha512Integrity(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

export type IntegrityBinding =
  | { outcome: 'bound' }
  | { outcome: 'mismatch'; actual: string; expected: string }
  | { outcome: 'unbound'; reason: string };

function sha512Digests(integrity: string | undefined): Set<string> | 'missing' | 'malformed' | 'weak' {
  if (integrity === undefined || integrity.trim() === '') return 'missing';
  const hashes = parseSri(integrity);
  if (!hashes) return 'malformed';
  const digests = new Set(hashes.filter((h) => h.algorithm === 'sha512').map((h) => h.digest));
  return digests.size === 0 ? 'weak' : digests;
}

const SINGLE_SHA512 = /^sha512-[A-Za-z0-9+/]{86}==$/;

const REASONS = {
  missing: 'no integrity is recorded for it',
  malformed: 'its integrity is not a valid SRI string',
  weak: 'its integrity has no sha512 (only a weaker algorithm)',
} as const;

/**
 * Binds the integrity the package manager will verify (`actual`) to the feed record's
 * (`expected`). Only sha512 counts; every sha512 digest in `actual` must be the expected one.
 */
export function bindIntegrity(actual: string | undefined, expected: string): IntegrityBinding {
  // The common case, without parsing: the same string, one well-formed sha512 (64 bytes) and nothing else.
  if (actual === expected && SINGLE_SHA512.test(expected)) return { outcome: 'bound' };
  const want = sha512Digests(expected);
  if (typeof want === 'string') return { outcome: 'unbound', reason: `the feed's record has no usable sha512 integrity (${want})` };
  const have = sha512Digests(actual);
  if (typeof have === 'string') return { outcome: 'unbound', reason: REASONS[have] };
  for (const digest of have) if (!want.has(digest)) return { outcome: 'mismatch', actual: actual!, expected };
  return { outcome: 'bound' };
}

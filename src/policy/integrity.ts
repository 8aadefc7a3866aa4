import ssri from 'ssri';

const STRONGEST_FIRST = ['sha512', 'sha384', 'sha256', 'sha1'] as const;

function digests(integrity: string, algorithm: string): Set<string> {
  const hashes = (ssri.parse(integrity) as unknown as Record<string, ssri.Hash[] | undefined>)[algorithm];
  return new Set((hashes ?? []).map((h) => h.digest));
}

/**
 * Compares the lockfile's integrity with the feed's, on the strongest algorithm both have.
 * Returns the two values when they differ; undefined when they match or cannot be compared
 * (one side missing, or no algorithm in common).
 */
export function integrityMismatch(actual: string | undefined, expected: string | undefined): { actual: string; expected: string } | undefined {
  if (!actual || !expected || actual === expected) return undefined;
  for (const algorithm of STRONGEST_FIRST) {
    const a = digests(actual, algorithm);
    const e = digests(expected, algorithm);
    if (a.size === 0 || e.size === 0) continue;
    for (const digest of a) if (e.has(digest)) return undefined;
    return { actual, expected };
  }
  return undefined;
}

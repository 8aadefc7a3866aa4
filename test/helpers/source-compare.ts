/** Source match on in-memory files: a tarball and a source tree given as path → text. */
import { compareContents } from '../../src/verify/compare';

/** path → text as path → bytes. */
export function fileMap(files: Record<string, string>): Map<string, Buffer> {
  return new Map(Object.entries(files).map(([path, text]) => [path, Buffer.from(text)]));
}

/** compareContents of `tarball` against `source` at commit c…c (gitHead); npm would pack `expected` (default: every source file). */
export function compareFiles(tarball: Record<string, string>, source: Record<string, string>, expected: string[] = Object.keys(source)) {
  return compareContents({ tarball: fileMap(tarball), source: fileMap(source), expected, commit: 'c'.repeat(40), commitFrom: 'gitHead' });
}

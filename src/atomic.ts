import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, basename, join } from 'node:path';

/** A temp path next to `target`, so the final rename stays on one file system. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes a file completely, then renames it into place: readers never see half a file. */
export function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let written = 0;
      while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

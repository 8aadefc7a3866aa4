/** src/file-hash.ts: the SHA-256 of a file read in 64 KB pieces is the SHA-256 of all of its bytes. */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileDigest, fileSha256 } from '../src/file-hash';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-file-hash-');

describe('fileSha256', () => {
  it('hashes every byte, whatever the length against the 64 KB piece', () => {
    const dir = tempDir();
    for (const length of [0, 1, 65_535, 65_536, 65_537, 200_001]) {
      const bytes = Buffer.alloc(length);
      for (let i = 0; i < length; i++) bytes[i] = (i * 31 + length) & 0xff;
      const file = join(dir, `f-${length}`);
      writeFileSync(file, bytes);
      expect(fileSha256(file)).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), bytes: length });
      expect(fileDigest(file)).toBe(`${length}:${createHash('sha256').update(bytes).digest('hex')}`);
    }
  });

  it('tells files apart that differ only in their last piece, and after a longer file was hashed', () => {
    const dir = tempDir();
    const long = Buffer.alloc(150_000, 1);
    writeFileSync(join(dir, 'long'), long);
    writeFileSync(join(dir, 'short'), long.subarray(0, 70_000));
    const other = Buffer.from(long);
    other[149_999] = 2;
    writeFileSync(join(dir, 'other'), other);
    const hashes = ['long', 'short', 'other'].map((name) => fileSha256(join(dir, name)).sha256);
    expect(new Set(hashes).size).toBe(3);
    expect(hashes[1]).toBe(createHash('sha256').update(long.subarray(0, 70_000)).digest('hex'));
  });

  it('throws the file system error for a missing file or a directory', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    expect(() => fileSha256(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => fileSha256(join(dir, 'sub'))).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});

/** Writes a schema 3 index: takes the buckets in order, then writes the pages level by level. */
import { CHILD_BYTES, FANOUT, childCount, encodePage, sha256Of } from './tree';

export class TreeWriter {
  /** (u32 length, SHA-256) of each bucket, in bucket order. */
  private leaves: Buffer;

  constructor(private readonly buckets: number) {
    this.leaves = Buffer.alloc(buckets * CHILD_BYTES);
  }

  leaf(bucket: number, bytes: Buffer): void {
    const at = bucket * CHILD_BYTES;
    this.leaves.writeUInt32BE(bytes.length, at);
    sha256Of(bytes).copy(this.leaves, at + 4);
  }

  /**
   * Writes every index page after the `bucketBytes` of buckets, lowest level first, root last.
   * Returns the root's hash and length, and where the body ends.
   */
  finish(bucketBytes: number, write: (page: Buffer) => void): { sha256: string; length: number; end: number } {
    let below = this.leaves;
    let belowCount = this.buckets;
    let belowStart = 0;
    let end = bucketBytes;
    for (let level = 1; ; level++) {
      const pages = Math.ceil(belowCount / FANOUT);
      const entries = Buffer.alloc(pages * CHILD_BYTES);
      const levelStart = end;
      let running = belowStart;
      for (let p = 0; p < pages; p++) {
        const children = [];
        const first = running;
        for (let i = 0; i < childCount(p, belowCount, FANOUT); i++) {
          const at = (p * FANOUT + i) * CHILD_BYTES;
          const length = below.readUInt32BE(at);
          children.push({ length, sha256: below.subarray(at + 4, at + CHILD_BYTES) });
          running += length;
        }
        const page = encodePage(level, p, first, children);
        write(page);
        end += page.length;
        entries.writeUInt32BE(page.length, p * CHILD_BYTES);
        sha256Of(page).copy(entries, p * CHILD_BYTES + 4);
        if (pages === 1) return { sha256: sha256Of(page).toString('hex'), length: page.length, end };
      }
      below = entries;
      belowCount = pages;
      belowStart = levelStart;
    }
  }
}

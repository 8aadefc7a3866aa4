/**
 * The tree reader's verified index pages, least recently used out first. A Map keeps insertion
 * order, so a hit moves its page to the end and the first key is the one to drop. lru-cache, which
 * this replaces here, cost a first `check` ~2.5 ms to initialise and ~10 ms for its ~12,000 gets
 * and sets in a cold process (its general machinery: TTLs, sizes, fetches); a page is keyed by
 * its place in the tree, `position * 64 + level` (a tree is at most 41 levels deep, treeShape).
 */
export class PageLru {
  private readonly pages = new Map<number, Buffer>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.pages.size;
  }

  static key(level: number, position: number): number {
    return position * 64 + level;
  }

  get(key: number): Buffer | undefined {
    const page = this.pages.get(key);
    if (page !== undefined) {
      this.pages.delete(key);
      this.pages.set(key, page);
    }
    return page;
  }

  set(key: number, page: Buffer): void {
    this.pages.delete(key);
    this.pages.set(key, page);
    if (this.pages.size > this.max) this.pages.delete(this.pages.keys().next().value!);
  }
}

import { expect, test } from 'vitest';
import { PageLru } from '../src/feed/page-lru';

const page = (n: number) => Buffer.from([n]);

test('keeps at most max pages, dropping the least recently used', () => {
  const lru = new PageLru(3);
  for (const n of [1, 2, 3]) lru.set(n, page(n));
  expect(lru.get(1)).toEqual(page(1)); // 1 is now the most recently used
  lru.set(4, page(4)); // drops 2
  expect(lru.size).toBe(3);
  expect(lru.get(2)).toBeUndefined();
  expect([1, 3, 4].map((n) => lru.get(n))).toEqual([page(1), page(3), page(4)]);
  lru.set(3, page(33)); // replacing a page does not grow the cache
  expect(lru.size).toBe(3);
  lru.set(5, page(5)); // 1 was used before 4 and 3: it goes
  expect(lru.get(1)).toBeUndefined();
  expect(lru.get(3)).toEqual(page(33));
});

test('keys are distinct for every level and position of a tree', () => {
  const keys = new Set<number>();
  for (let level = 0; level <= 40; level++) for (const position of [0, 1, 63, 64, 2 ** 39]) keys.add(PageLru.key(level, position));
  expect(keys.size).toBe(41 * 5);
  expect(Number.isSafeInteger(PageLru.key(40, 2 ** 40))).toBe(true);
});

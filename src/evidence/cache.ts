/**
 * Evidence cache: an in-memory LRU in front of an on-disk store under the cache directory.
 * Entries expire after the configured TTL; writes are atomic (temp file + rename), and a
 * torn or foreign file reads as a miss. Concurrent lookups of the same key share one fetch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LRUCache } from 'lru-cache';

const LAYOUT = 'evidence-v1';

interface Entry {
  key: string;
  storedAt: number;
  value: unknown;
}

export class EvidenceCache {
  private readonly memory = new LRUCache<string, { value: unknown; expires: number }>({ max: 20_000 });
  private readonly inflight = new Map<string, Promise<unknown>>();

  /**
   * @param dir directory of the on-disk cache; undefined = memory only
   * @param ttl milliseconds an entry stays valid; 0 disables caching
   */
  constructor(
    private readonly dir: string | undefined,
    private readonly ttl: number,
    private readonly now: () => number = Date.now,
  ) {}

  private fileFor(namespace: string, key: string): string | undefined {
    if (!this.dir) return undefined;
    const hash = createHash('sha256').update(key).digest('hex');
    return join(this.dir, LAYOUT, namespace, hash.slice(0, 2), `${hash}.json`);
  }

  async get(namespace: string, key: string): Promise<{ value: unknown } | undefined> {
    if (this.ttl <= 0) return undefined;
    const id = `${namespace}\0${key}`;
    const hit = this.memory.get(id);
    if (hit && hit.expires > this.now()) return { value: hit.value };
    const file = this.fileFor(namespace, key);
    if (!file) return undefined;
    let entry: Entry;
    try {
      entry = JSON.parse(await readFile(file, 'utf8')) as Entry;
    } catch {
      return undefined;
    }
    if (typeof entry !== 'object' || entry === null || entry.key !== key || typeof entry.storedAt !== 'number') return undefined;
    const expires = entry.storedAt + this.ttl;
    // A clock that went backwards must not make an entry live forever.
    if (expires <= this.now() || entry.storedAt > this.now() + 60_000) return undefined;
    this.memory.set(id, { value: entry.value, expires });
    return { value: entry.value };
  }

  async set(namespace: string, key: string, value: unknown): Promise<void> {
    if (this.ttl <= 0) return;
    const storedAt = this.now();
    this.memory.set(`${namespace}\0${key}`, { value, expires: storedAt + this.ttl });
    const file = this.fileFor(namespace, key);
    if (!file) return;
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(tmp, JSON.stringify({ key, storedAt, value } satisfies Entry));
      await rename(tmp, file);
    } catch {
      // A cache that cannot be written only costs speed.
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  /**
   * Cached value for (namespace, key), or the result of `fetch`, stored on success.
   * `fetch` throwing is not cached.
   */
  async getOrFetch<T>(namespace: string, key: string, fetch: () => Promise<T>): Promise<T> {
    const cached = await this.get(namespace, key);
    if (cached) return cached.value as T;
    const id = `${namespace}\0${key}`;
    const running = this.inflight.get(id);
    if (running) return running as Promise<T>;
    const promise = (async () => {
      try {
        const value = await fetch();
        await this.set(namespace, key, value);
        return value;
      } finally {
        this.inflight.delete(id);
      }
    })();
    this.inflight.set(id, promise);
    return promise;
  }
}

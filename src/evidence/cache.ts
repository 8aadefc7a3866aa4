/**
 * Evidence cache: an in-memory LRU in front of an on-disk store under the cache directory.
 * Entries expire after the configured TTL; writes are atomic (temp file + rename), and a
 * torn or foreign file reads as a miss. Concurrent lookups of the same key share one fetch.
 *
 * What is cached decides records and verdicts (`feed build`, `verify`, online checks), and the
 * cache directory may be restored from anywhere (a pull-request job's CI cache): each file
 * carries an HMAC under the machine secret (machine-secret.ts, in the state directory) over its
 * namespace and bytes, and one without it is a miss.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { readCacheFile } from '../cache-file';
import { machineSecret } from '../machine-secret';

const LAYOUT = 'evidence-v2';
const MAX_ENTRY_BYTES = 32 * 1024 * 1024;

interface Entry {
  key: string;
  storedAt: number;
  value: unknown;
}

/** Where entries persist: a directory, and the secret they are authenticated with. */
export interface EvidenceStore {
  dir: string;
  secret: Buffer;
}

/** The on-disk store under `cacheDir`, authenticated with the machine secret of `stateDir`; undefined (memory only) when there is no secret. */
export function evidenceStore(cacheDir: string, stateDir: string): EvidenceStore | undefined {
  const secret = machineSecret(stateDir, true);
  return secret ? { dir: cacheDir, secret } : undefined;
}

function macOf(secret: Buffer, namespace: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${LAYOUT}\0${namespace}\0`).update(body).digest();
}

export class EvidenceCache {
  private readonly memory = new LRUCache<string, { value: unknown; expires: number }>({ max: 20_000 });
  private readonly inflight = new Map<string, Promise<unknown>>();

  /**
   * @param store the on-disk cache (evidenceStore); undefined = memory only
   * @param ttl milliseconds an entry stays valid; 0 disables caching
   */
  constructor(
    private readonly store: EvidenceStore | undefined,
    private readonly ttl: number,
    private readonly now: () => number = Date.now,
  ) {}

  private fileFor(namespace: string, key: string): string | undefined {
    if (!this.store) return undefined;
    const hash = createHash('sha256').update(key).digest('hex');
    return join(this.store.dir, LAYOUT, namespace, hash.slice(0, 2), `${hash}.json`);
  }

  async get(namespace: string, key: string): Promise<{ value: unknown } | undefined> {
    if (this.ttl <= 0) return undefined;
    const id = `${namespace}\0${key}`;
    const hit = this.memory.get(id);
    if (hit && hit.expires > this.now()) return { value: hit.value };
    const file = this.fileFor(namespace, key);
    if (!file) return undefined;
    const entry = this.readEntry(file, namespace);
    if (typeof entry !== 'object' || entry === null || entry.key !== key || typeof entry.storedAt !== 'number') return undefined;
    const expires = entry.storedAt + this.ttl;
    // A clock that went backwards must not make an entry live forever.
    if (expires <= this.now() || entry.storedAt > this.now() + 60_000) return undefined;
    this.memory.set(id, { value: entry.value, expires });
    return { value: entry.value };
  }

  /** The entry of `file` when its MAC is this machine's: the MAC (hex) on the first line, the entry's JSON after it. */
  private readEntry(file: string, namespace: string): Entry | undefined {
    const bytes = readCacheFile(file, MAX_ENTRY_BYTES);
    const newline = bytes?.indexOf(0x0a) ?? -1;
    if (!bytes || newline !== 64 || !this.store) return undefined;
    const given = Buffer.from(bytes.subarray(0, newline).toString('latin1'), 'hex');
    const body = bytes.subarray(newline + 1);
    const expected = macOf(this.store.secret, namespace, body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      return JSON.parse(body.toString('utf8')) as Entry;
    } catch {
      return undefined;
    }
  }

  async set(namespace: string, key: string, value: unknown): Promise<void> {
    if (this.ttl <= 0) return;
    const storedAt = this.now();
    this.memory.set(`${namespace}\0${key}`, { value, expires: storedAt + this.ttl });
    const file = this.fileFor(namespace, key);
    if (!file || !this.store) return;
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true });
      const body = Buffer.from(JSON.stringify({ key, storedAt, value } satisfies Entry));
      await writeFile(tmp, Buffer.concat([Buffer.from(`${macOf(this.store.secret, namespace, body).toString('hex')}\n`), body]));
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

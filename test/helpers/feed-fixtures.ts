/** Small helpers for feed tests: temp dirs, keys, sample records, byte flips. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeedError } from '../../src/errors';
import { buildFeed, type BuildFeedOptions } from '../../src/feed/build';
import { generateKeyPair } from '../../src/feed/keys';
import type { FeedRecord } from '../../src/types';
import { rejected } from './errors';

export function tempDir(prefix = 'pg-feed-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestKeys {
  dir: string;
  privateKeyPath: string;
  publicKeyPath: string;
  publicKey: string;
}

export function makeKeys(dir = tempDir('pg-keys-')): TestKeys {
  return { dir, ...generateKeyPair(dir) };
}

export function sampleRecords(count: number, prefix = 'pkg'): FeedRecord[] {
  const records: FeedRecord[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      name: i % 5 === 0 ? `@scope/${prefix}-${i}` : `${prefix}-${i}`,
      version: `1.${i % 7}.${i}`,
      integrity: 'sha512-' + Buffer.alloc(64, i % 256).toString('base64'),
      repository: { url: `https://github.com/org/${prefix}-${i}`, commit: 'a'.repeat(40), status: i % 3 === 0 ? 'attested' : 'claimed' },
      ...(i % 2 === 0 ? { rebuild: { verdict: 'reproducible', source: 'oss-rebuild' } } : {}),
      ...(i % 4 === 0 ? { scorecard: { score: (i % 100) / 10, date: '2026-11-01', checks: { Maintained: 5, 'Dangerous-Workflow': 10 } } } : {}),
    });
  }
  return records;
}

export async function buildTestFeed(
  keys: TestKeys,
  records: FeedRecord[],
  out: string,
  extra: Partial<BuildFeedOptions> = {},
): Promise<string> {
  const result = await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out, ...extra });
  return result.path;
}

/** XORs one byte of a file. */
export function flipByte(path: string, offset: number, mask = 0x01): void {
  const data = readFileSync(path);
  data[offset] = data[offset]! ^ mask;
  writeFileSync(path, data);
}

export function writeNdjson(path: string, lines: (string | object)[]): string {
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

/** The FeedError `promise` rejects with (fails the test when it resolves or throws something else). */
export function feedRejection(promise: Promise<unknown>): Promise<FeedError> {
  return rejected(FeedError, promise);
}

/**
 * This machine's secret (`verdict.key` in the cache directory, 32 random bytes, 0600): what the
 * guard's own state is authenticated with (stored verdicts, the `#range` feed cache's metadata),
 * so a copy of that state made elsewhere, or committed in a pull request, is ignored.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';

const SECRET_FILE = 'verdict.key';

/** The secret; created on first use when `create` (undefined when it cannot be read or made). */
export function machineSecret(cacheDir: string, create: boolean): Buffer | undefined {
  const path = join(cacheDir, SECRET_FILE);
  try {
    const key = readFileSync(path);
    if (key.length === 32) return key;
    return undefined;
  } catch {
    if (!create) return undefined;
  }
  try {
    mkdirSync(cacheDir, { recursive: true });
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32));
    } finally {
      closeSync(fd);
    }
    return machineSecret(cacheDir, false);
  } catch {
    // Another process created it meanwhile, or the cache is not writable.
    return machineSecret(cacheDir, false);
  }
}

/** HMAC-SHA256 (hex) under the machine secret of a purpose and its fields; undefined when there is no secret. */
export function stateMac(cacheDir: string, create: boolean, purpose: string, fields: readonly (string | undefined)[]): string | undefined {
  const key = machineSecret(cacheDir, create);
  return key && createHmac('sha256', key).update(JSON.stringify([purpose, ...fields.map((f) => f ?? null)])).digest('hex');
}

/** Whether `given` is the MAC this machine makes of these fields. */
export function stateMacMatches(cacheDir: string, purpose: string, fields: readonly (string | undefined)[], given: unknown): boolean {
  const expected = stateMac(cacheDir, false, purpose, fields);
  if (expected === undefined || typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

/**
 * This machine's secret (`machine.key` in the state directory, paths.ts stateDir; 32 random
 * bytes, 0600): what the guard's own state and caches are authenticated with (stored verdicts,
 * downloaded feeds' `meta.json`, evidence answers), so a copy made elsewhere, committed in a pull
 * request or restored with a CI cache, is ignored. It never lives in the cache directory.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';

const SECRET_FILE = 'machine.key';

/** The secret; created on first use when `create` (undefined when it cannot be read or made). */
export function machineSecret(stateDir: string, create: boolean): Buffer | undefined {
  const path = join(stateDir, SECRET_FILE);
  try {
    const key = readFileSync(path);
    if (key.length === 32) return key;
    return undefined;
  } catch {
    if (!create) return undefined;
  }
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32));
    } finally {
      closeSync(fd);
    }
    return machineSecret(stateDir, false);
  } catch {
    // Another process created it meanwhile, or the state directory is not writable.
    return machineSecret(stateDir, false);
  }
}

/** HMAC-SHA256 (hex) under the machine secret of a purpose and its fields; undefined when there is no secret. */
export function stateMac(stateDir: string, create: boolean, purpose: string, fields: readonly (string | undefined)[]): string | undefined {
  const key = machineSecret(stateDir, create);
  return key && createHmac('sha256', key).update(JSON.stringify([purpose, ...fields.map((f) => f ?? null)])).digest('hex');
}

/** Whether `given` is the MAC this machine makes of these fields. */
export function stateMacMatches(stateDir: string, purpose: string, fields: readonly (string | undefined)[], given: unknown): boolean {
  const expected = stateMac(stateDir, false, purpose, fields);
  if (expected === undefined || typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

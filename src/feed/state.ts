/**
 * What this machine remembers about feeds, in the cache directory:
 * - feed-state.json: the highest serial accepted per signing key (rollback protection);
 * - verified/<fingerprint>: feeds already checked byte by byte, so later opens skip the full pass.
 * Several processes may read and write at once (pnpm runs hooks in child processes): every
 * write is temp file + rename, and serials are merged with max() so none goes backwards.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FeedError } from '../errors';
import { writeFileAtomic } from '../atomic';

const STATE_FILE = 'feed-state.json';

interface StateFile {
  version: 1;
  serials: Record<string, { serial: number; acceptedAt: string }>;
}

function statePath(dir: string): string {
  return join(dir, STATE_FILE);
}

function readState(dir: string): StateFile {
  const path = statePath(dir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, serials: {} };
    throw new FeedError(`cannot read feed state ${path}: ${(error as Error).message}`, { file: path, cause: error });
  }
  try {
    const parsed = JSON.parse(text) as StateFile;
    if (parsed && typeof parsed === 'object' && parsed.serials && typeof parsed.serials === 'object') return parsed;
  } catch {
    // fall through
  }
  // Failing closed: resetting this file silently would re-open the door to rollbacks.
  throw new FeedError(`feed state ${path} is corrupted; delete it to forget the accepted feed serials`, { file: path });
}

export function acceptedSerial(dir: string, keyId: string): number | undefined {
  const entry = readState(dir).serials[keyId];
  return typeof entry?.serial === 'number' ? entry.serial : undefined;
}

const LOCK_WAIT_MS = 3000;
const LOCK_STALE_MS = 10_000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Serializes read-merge-write of the state between processes with an O_EXCL lock file.
 * A lock left by a crashed process goes stale; if the lock cannot be had in time the
 * update goes ahead unlocked (the max() merge and re-check below still hold).
 */
function withLock(dir: string, fn: () => void): void {
  const lock = statePath(dir) + '.lock';
  let held = false;
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    // reported by the write below
  }
  const deadline = Date.now() + LOCK_WAIT_MS;
  while (!held && Date.now() < deadline) {
    try {
      closeSync(openSync(lock, 'wx'));
      held = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') break;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
      } catch {
        // gone meanwhile
      }
      sleep(5);
    }
  }
  try {
    fn();
  } finally {
    if (held) rmSync(lock, { force: true });
  }
}

export function recordSerial(dir: string, keyId: string, serial: number, now: Date): void {
  const current = readState(dir).serials[keyId]?.serial;
  if (typeof current === 'number' && current >= serial) return;
  withLock(dir, () => writeSerial(dir, keyId, serial, now));
}

function writeSerial(dir: string, keyId: string, serial: number, now: Date): void {
  for (let attempt = 0; attempt < 5; attempt++) {
    const state = readState(dir);
    const current = state.serials[keyId]?.serial;
    if (typeof current === 'number' && current >= serial) return;
    state.serials[keyId] = { serial, acceptedAt: now.toISOString() };
    try {
      writeFileAtomic(statePath(dir), JSON.stringify(state, null, 2) + '\n');
    } catch (error) {
      throw new FeedError(
        `cannot record the accepted feed serial in ${statePath(dir)}: ${(error as Error).message} (set PROVENANCE_GUARD_CACHE_DIR to a writable directory)`,
        { file: statePath(dir), cause: error },
      );
    }
    // Another process may have renamed its own version over ours: check and merge again.
  }
}

export interface FileIdentity {
  realpath: string;
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
  preambleSha256: string;
}

function verifiedPath(dir: string, identity: FileIdentity): string {
  const fingerprint = createHash('sha256').update(JSON.stringify(identity)).digest('hex');
  return join(dir, 'verified', fingerprint);
}

export function isVerified(dir: string, identity: FileIdentity): boolean {
  return existsSync(verifiedPath(dir, identity));
}

const KEEP_VERIFIED = 64;

export function markVerified(dir: string, identity: FileIdentity): void {
  try {
    const path = verifiedPath(dir, identity);
    writeFileAtomic(path, JSON.stringify(identity) + '\n');
    pruneVerified(join(dir, 'verified'));
  } catch {
    // Only an optimisation: the next open verifies everything again.
  }
}

/** Keeps the most recent marks: one is written per new feed file, they would pile up. */
function pruneVerified(dir: string): void {
  const names = readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n));
  if (names.length <= KEEP_VERIFIED) return;
  const byAge = names
    .map((name) => {
      try {
        return { name, mtime: statSync(join(dir, name)).mtimeMs };
      } catch {
        return { name, mtime: 0 };
      }
    })
    .sort((a, b) => b.mtime - a.mtime);
  for (const { name } of byAge.slice(KEEP_VERIFIED)) rmSync(join(dir, name), { force: true });
}

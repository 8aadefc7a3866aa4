/**
 * What this machine remembers about feeds, in the state directory (paths.ts stateDir, never the
 * cache directory a CI job may restore): feed-state.json, per signing key, the highest serial
 * accepted, when, and the SHA-256 of that feed's signed preamble (rollback and
 * same-serial-other-content protection).
 * Several processes may read and write at once (pnpm runs hooks in child processes): every
 * write is temp file + rename, and serials are merged with max() so none goes backwards.
 * A state file that cannot be read as such fails closed (ERR_PG_FEED_STATE): forgetting it
 * silently would re-open the door to rollbacks. `provenance-guard feed trust --reset` is the
 * deliberate way out.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FeedError } from '../errors';
import { sweepStaleTemps, writeFileAtomic } from '../atomic';
import { escapeControl } from '../report/escape';

const STATE_FILE = 'feed-state.json';
export const RESET_COMMAND = 'provenance-guard feed trust --reset';

export interface AcceptedFeed {
  serial: number;
  acceptedAt: string;
  /** SHA-256 of the accepted feed's magic, header and signature lines (they pin every byte). */
  sha256?: string;
}

export interface FeedTrustState {
  version: 1;
  serials: Record<string, AcceptedFeed>;
}

export function statePath(dir: string): string {
  return join(dir, STATE_FILE);
}

function stateError(path: string, problem: string, reset: string, cause?: unknown): FeedError {
  return new FeedError(
    `feed state ${path} ${problem}; it protects against feed rollbacks, so it is not ignored: ` +
      `run \`${reset}\` to forget the accepted serials deliberately`,
    { file: path, code: 'ERR_PG_FEED_STATE', ...(cause === undefined ? {} : { cause }) },
  );
}

function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why an entry is not an accepted-feed record, or undefined when it is one. */
function entryProblem(entry: unknown): string | undefined {
  if (!isPlain(entry)) return 'is not an object';
  if (typeof entry.serial !== 'number' || !Number.isSafeInteger(entry.serial) || entry.serial < 0) return 'has no whole-number serial';
  if (typeof entry.acceptedAt !== 'string' || Number.isNaN(Date.parse(entry.acceptedAt))) return 'has no acceptedAt date';
  if (entry.sha256 !== undefined && (typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256))) return 'has a malformed sha256';
  return undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FeedError(`cannot read feed state ${path}: ${(error as Error).message}`, { file: path, code: 'ERR_PG_FEED_STATE', cause: error });
  }
}

/** The state as stored; an absent file is an empty state, anything malformed fails closed. */
export function readFeedState(dir: string): FeedTrustState {
  const path = statePath(dir);
  const text = readText(path);
  if (text === undefined) return { version: 1, serials: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw stateError(path, 'is not valid JSON', `${RESET_COMMAND} --all`, error);
  }
  if (!isPlain(parsed) || parsed.version !== 1 || !isPlain(parsed.serials)) {
    throw stateError(path, 'is not a provenance-guard feed state (version 1 with serials)', `${RESET_COMMAND} --all`);
  }
  for (const [keyId, entry] of Object.entries(parsed.serials)) {
    const problem = entryProblem(entry);
    if (problem) {
      const key = escapeControl(keyId);
      throw stateError(path, `entry for key ${JSON.stringify(key)} ${problem}`, /^[\w.-]+$/.test(keyId) ? `${RESET_COMMAND} --key ${key}` : `${RESET_COMMAND} --all`);
    }
  }
  return parsed as unknown as FeedTrustState;
}

export function acceptedFeed(dir: string, keyId: string): AcceptedFeed | undefined {
  const state = readFeedState(dir);
  return Object.prototype.hasOwnProperty.call(state.serials, keyId) ? state.serials[keyId] : undefined;
}

export function sameSerialError(label: string, keyId: string, serial: number, accepted: AcceptedFeed): FeedError {
  return new FeedError(
    `feed ${label} has serial ${serial}, like the feed accepted on this machine at ${accepted.acceptedAt} for key ${keyId}, ` +
      'but other content: a serial is published once (refused)',
    { file: label, code: 'ERR_PG_FEED_SERIAL_REUSED' },
  );
}

// Not npm's `lockfile` (the one lock library in the tree, via verdaccio): its lockSync cannot wait between tries (it spins or throws) and it hangs signal-exit handlers on pnpm's process.
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
function withLock<T>(dir: string, fn: () => T): T {
  const lock = statePath(dir) + '.lock';
  let held = false;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
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
    return fn();
  } finally {
    if (held) rmSync(lock, { force: true });
  }
}

/** True when `entry` already covers the feed; throws when it has this serial with other content. */
function alreadyCovered(entry: AcceptedFeed | undefined, keyId: string, serial: number, sha256: string, label: string): boolean {
  if (!entry || entry.serial < serial) return false;
  if (entry.serial > serial) return true;
  if (entry.sha256 === undefined) return false;
  if (entry.sha256 !== sha256) throw sameSerialError(label, keyId, serial, entry);
  return true;
}

function writeState(dir: string, state: FeedTrustState, what: string): void {
  try {
    writeFileAtomic(statePath(dir), JSON.stringify(state, null, 2) + '\n');
  } catch (error) {
    throw new FeedError(
      `cannot ${what} in ${statePath(dir)}: ${(error as Error).message} (set PROVENANCE_GUARD_STATE_DIR to a writable directory)`,
      { file: statePath(dir), code: 'ERR_PG_FEED_STATE', cause: error },
    );
  }
}

/**
 * Remembers a feed that verified: its serial becomes the floor for its key, and its content
 * hash the only content that serial may have. Call only for a feed whose signature verified.
 */
export function recordSerial(dir: string, keyId: string, serial: number, sha256: string, now: Date, label = keyId): void {
  if (alreadyCovered(acceptedFeed(dir, keyId), keyId, serial, sha256, label)) return;
  withLock(dir, () => {
    sweepStaleTemps(dir);
    for (let attempt = 0; attempt < 5; attempt++) {
      const state = readFeedState(dir);
      if (alreadyCovered(state.serials[keyId], keyId, serial, sha256, label)) return;
      state.serials[keyId] = { serial, acceptedAt: now.toISOString(), sha256 };
      writeState(dir, state, 'record the accepted feed serial');
      // Another process may have renamed its own version over ours: check and merge again.
    }
  });
}

export type TrustReset = { all: true } | { keyId: string };

/**
 * Forgets accepted serials: all of them (removes the state file, even one that does not
 * parse), or one key's. Returns the entries forgotten.
 */
export function resetTrust(dir: string, which: TrustReset): Record<string, unknown> {
  const path = statePath(dir);
  return withLock(dir, () => {
    const text = readText(path);
    if (text === undefined) return {};
    if ('all' in which) {
      let forgotten: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(text);
        if (isPlain(parsed) && isPlain(parsed.serials)) forgotten = parsed.serials;
      } catch {
        // unreadable: forgotten all the same
      }
      rmSync(path, { force: true });
      return forgotten;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw stateError(path, 'is not valid JSON', `${RESET_COMMAND} --all`, error);
    }
    if (!isPlain(parsed) || !isPlain(parsed.serials)) throw stateError(path, 'is not a provenance-guard feed state', `${RESET_COMMAND} --all`);
    if (!Object.prototype.hasOwnProperty.call(parsed.serials, which.keyId)) return {};
    const forgotten = { [which.keyId]: parsed.serials[which.keyId] };
    delete parsed.serials[which.keyId];
    writeState(dir, { version: 1, serials: parsed.serials as Record<string, AcceptedFeed> }, 'forget the accepted feed serial');
    return forgotten;
  });
}


/**
 * What this machine remembers about feeds, in the cache directory:
 * - feed-state.json: the highest serial accepted per signing key (rollback protection);
 * - verified/<fingerprint>: feeds already checked byte by byte, so later opens skip the full pass.
 * Several processes may read and write at once (pnpm runs hooks in child processes): every
 * write is temp file + rename, and serials are merged with max() so none goes backwards.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FeedError } from '../errors';
import { writeFileAtomic } from './atomic';

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

export function recordSerial(dir: string, keyId: string, serial: number, now: Date): void {
  for (let attempt = 0; attempt < 5; attempt++) {
    const state = readState(dir);
    const current = state.serials[keyId]?.serial;
    if (typeof current === 'number' && current >= serial) return;
    state.serials[keyId] = { serial, acceptedAt: now.toISOString() };
    writeFileAtomic(statePath(dir), JSON.stringify(state, null, 2) + '\n');
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

export function markVerified(dir: string, identity: FileIdentity): void {
  try {
    writeFileAtomic(verifiedPath(dir, identity), JSON.stringify(identity) + '\n');
  } catch {
    // Only an optimisation: the next open verifies everything again.
  }
}

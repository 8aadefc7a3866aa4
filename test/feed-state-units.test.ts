/**
 * src/feed/state.ts beyond test/feed-units.test.ts, against the mutants Stryker left alive
 * (docs/mutation.md, run C): what a broken state file's error tells the user (the file, the
 * problem, the reset command, the cause), what is written to disk, a state folder that cannot be
 * written, and a lock held by another process. In-process, temp dirs only.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FeedError } from '../src/errors';
import { acceptedFeed, readFeedState, recordSerial, resetTrust, statePath } from '../src/feed/state';
import { thrown } from './helpers/errors';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-feed-state-units-');
const H = (c: string) => c.repeat(64);
const now = new Date('2026-11-01T00:00:00Z');
const RESET = 'provenance-guard feed trust --reset';

function write(dir: string, state: unknown): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(statePath(dir), typeof state === 'string' ? state : JSON.stringify(state));
  return statePath(dir);
}

describe('a feed state that cannot be used names the file, the problem and the way out', () => {
  it('invalid JSON: the file, "not valid JSON", reset --all, and the parse error as cause (read and reset alike)', () => {
    const dir = temp();
    const path = write(dir, '{"version":1,');
    for (const fn of [() => readFeedState(dir), () => resetTrust(dir, { keyId: 'k' })]) {
      const error = thrown(FeedError, fn);
      expect(error.code).toBe('ERR_PG_FEED_STATE');
      expect(error.file).toBe(path);
      expect(error.message).toContain(path);
      expect(error.message).toContain('not valid JSON');
      expect(error.message).toContain(`\`${RESET} --all\``);
      expect(error.cause).toBeInstanceOf(SyntaxError);
    }
  });

  it('another shape: the file, what it is not, reset --all, and no cause', () => {
    const dir = temp();
    const path = write(dir, { version: 2, serials: {} });
    const error = thrown(FeedError, () => readFeedState(dir));
    expect(error.message).toContain(path);
    expect(error.message).toContain('not a provenance-guard feed state');
    expect(error.message).toContain(`\`${RESET} --all\``);
    expect('cause' in error).toBe(false);
    write(dir, { version: 1, serials: [] });
    const reset = thrown(FeedError, () => resetTrust(dir, { keyId: 'k' }));
    expect(reset.code).toBe('ERR_PG_FEED_STATE');
    expect(reset.message).toContain(path);
    expect(reset.message).toContain('not a provenance-guard feed state');
    expect(reset.message).toContain(`\`${RESET} --all\``);
  });

  it('a bad entry: the file, the key, what is wrong with it, and the reset of that key', () => {
    const dir = temp();
    const path = write(dir, { version: 1, serials: { 'key-1': { serial: 'ten', acceptedAt: now.toISOString() } } });
    const error = thrown(FeedError, () => readFeedState(dir));
    expect(error.file).toBe(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain('"key-1"');
    expect(error.message).toContain('serial');
    expect(error.message).toContain(`\`${RESET} --key key-1\``);
  });

  it('a sha256 that is not a string is refused, even one that prints as 64 hex digits', () => {
    const dir = temp();
    write(dir, { version: 1, serials: { k: { serial: 1, acceptedAt: now.toISOString(), sha256: [H('a')] } } });
    const error = thrown(FeedError, () => readFeedState(dir));
    expect(error.code).toBe('ERR_PG_FEED_STATE');
    expect(error.message).toContain('sha256');
  });

  it('a state path that cannot be read names it', () => {
    const dir = temp();
    mkdirSync(statePath(dir));
    const error = thrown(FeedError, () => readFeedState(dir));
    expect(error.code).toBe('ERR_PG_FEED_STATE');
    expect(error.file).toBe(statePath(dir));
    expect(error.message).toContain(statePath(dir));
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('a serial accepted with other content: the feed, the serial and "other content"', () => {
    const dir = temp();
    recordSerial(dir, 'k', 7, H('a'), now);
    const error = thrown(FeedError, () => recordSerial(dir, 'k', 7, H('b'), now, 'https://feeds.example/provenance.feed'));
    expect(error.code).toBe('ERR_PG_FEED_SERIAL_REUSED');
    expect(error.file).toBe('https://feeds.example/provenance.feed');
    expect(error.message).toContain('https://feeds.example/provenance.feed');
    expect(error.message).toContain('serial 7');
    expect(error.message).toContain('other content');
  });
});

describe('writing the feed state', () => {
  it('writes the state as indented JSON ending in a newline', () => {
    const dir = temp();
    recordSerial(dir, 'k', 3, H('c'), now);
    expect(readFileSync(statePath(dir), 'utf8')).toBe(JSON.stringify({ version: 1, serials: { k: { serial: 3, acceptedAt: now.toISOString(), sha256: H('c') } } }, null, 2) + '\n');
  });

  // /proc/self exists and can be listed, but no file can be made in it, even by root.
  it.skipIf(!existsSync('/proc/self'))('a folder where the state cannot be written fails closed at once, naming the file and the way out', () => {
    const dir = '/proc/self';
    const started = Date.now();
    const error = thrown(FeedError, () => recordSerial(dir, 'k', 1, H('a'), now));
    // No lock can be made there either: it does not wait out the lock deadline (3 s) for one.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.code).toBe('ERR_PG_FEED_STATE');
    expect(error.file).toBe(statePath(dir));
    expect(error.message).toContain(statePath(dir));
    expect(error.message).toContain('record');
    expect(error.message).toContain('PROVENANCE_GUARD_STATE_DIR');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('waits out a lock another process holds (3 s), then records anyway and leaves that lock alone', () => {
    const dir = temp();
    mkdirSync(dir, { recursive: true });
    const lock = statePath(dir) + '.lock';
    writeFileSync(lock, '');
    const started = Date.now();
    recordSerial(dir, 'k', 4, H('d'), now);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(2900);
    expect(took).toBeLessThan(8000);
    expect(acceptedFeed(dir, 'k')?.serial).toBe(4);
    expect(existsSync(lock)).toBe(true);
  });
});

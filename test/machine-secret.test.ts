/**
 * This machine's secret (src/machine-secret.ts), which authenticates stored verdicts, downloaded
 * feeds' meta.json and evidence answers: made once, private, never replaced; and the MACs made
 * with it, which must tell every field apart and refuse anything else without an error.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { machineSecret, stateMac, stateMacMatches } from '../src/machine-secret';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-secret-'));
  dirs.push(dir);
  return join(dir, 'state');
}

test('is made on first use when asked to (32 random bytes, 0600, in a 0700 folder), and the same after', () => {
  const dir = stateDir();
  expect(machineSecret(dir, false)).toBeUndefined();
  expect(existsSync(dir)).toBe(false);
  const key = machineSecret(dir, true)!;
  expect(key).toHaveLength(32);
  expect(readFileSync(join(dir, 'machine.key')).equals(key)).toBe(true);
  expect(statSync(join(dir, 'machine.key')).mode & 0o777).toBe(0o600);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(machineSecret(dir, true)!.equals(key)).toBe(true);
  expect(machineSecret(dir, false)!.equals(key)).toBe(true);
  // Another state directory, another secret.
  expect(machineSecret(stateDir(), true)!.equals(key)).toBe(false);
});

test.each([0, 31, 33])('a secret file of %i bytes is no secret, and is never replaced', (length) => {
  const dir = stateDir();
  machineSecret(dir, true);
  const planted = Buffer.alloc(length, 7);
  writeFileSync(join(dir, 'machine.key'), planted);
  expect(machineSecret(dir, false)).toBeUndefined();
  expect(machineSecret(dir, true)).toBeUndefined();
  expect(readFileSync(join(dir, 'machine.key')).equals(planted)).toBe(true);
  expect(stateMac(dir, true, 'purpose', ['a'])).toBeUndefined();
});

test('a MAC names its purpose and every field, an absent one apart from any string', () => {
  const dir = stateDir();
  const mac = stateMac(dir, true, 'feed-meta', ['a', 'b'])!;
  expect(mac).toMatch(/^[0-9a-f]{64}$/);
  expect(stateMac(dir, false, 'feed-meta', ['a', 'b'])).toBe(mac);
  const others = [
    stateMac(dir, false, 'evidence', ['a', 'b']),
    stateMac(dir, false, 'feed-meta', ['b', 'a']),
    stateMac(dir, false, 'feed-meta', ['a']),
    stateMac(dir, false, 'feed-meta', ['ab', '']),
    stateMac(dir, false, 'feed-meta', ['a', undefined]),
    stateMac(dir, false, 'feed-meta', ['a', 'null']),
    stateMac(stateDir(), true, 'feed-meta', ['a', 'b']),
  ];
  expect(new Set([mac, ...others]).size).toBe(others.length + 1);
  // No secret yet, and not asked to make one: no MAC.
  expect(stateMac(stateDir(), false, 'feed-meta', ['a', 'b'])).toBeUndefined();
});

test('a MAC matches only itself: another MAC, another length, a non-string or no secret is refused without an error', () => {
  const dir = stateDir();
  const mac = stateMac(dir, true, 'feed-meta', ['a'])!;
  expect(stateMacMatches(dir, 'feed-meta', ['a'], mac)).toBe(true);
  expect(stateMacMatches(dir, 'feed-meta', ['b'], mac)).toBe(false);
  expect(stateMacMatches(dir, 'evidence', ['a'], mac)).toBe(false);
  expect(stateMacMatches(dir, 'feed-meta', ['a'], mac.slice(1))).toBe(false);
  expect(stateMacMatches(dir, 'feed-meta', ['a'], `${mac}0`)).toBe(false);
  expect(stateMacMatches(dir, 'feed-meta', ['a'], Buffer.from(mac))).toBe(false);
  expect(stateMacMatches(dir, 'feed-meta', ['a'], undefined)).toBe(false);
  const elsewhere = stateDir();
  expect(stateMacMatches(elsewhere, 'feed-meta', ['a'], mac)).toBe(false);
  // Checking never makes a secret.
  expect(existsSync(join(elsewhere, 'machine.key'))).toBe(false);
});

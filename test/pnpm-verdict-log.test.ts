/**
 * plugins/pnpm/verdicts.ts VerdictLog: what the pnpm hooks throw for blocked packages and print
 * for warned ones, in pnpm 10's shape (the details in the error) and pnpm 12's (the details once on
 * stderr, a short error: pnpm 12 repeats a hook error twice).
 */
import { expect, test } from 'vitest';
import { VerdictLog } from '../plugins/pnpm/verdicts';
import type { PackageResult, Verdict } from '../src/types';

function result(name: string, verdict: Exclude<Verdict, 'skip'>): PackageResult {
  const findings = verdict === 'pass' ? [] : [{ rule: 'repository' as const, severity: verdict, message: `${name}: no source repository` }];
  return { name, version: '1.0.0', verdict, findings };
}

function log(detailsOnStderr = false) {
  const output: string[] = [];
  return { output, log: new VerdictLog((text) => void output.push(text), detailsOnStderr) };
}

test('a passing package is neither blocked nor printed, and does not silence a later warning about it', () => {
  const { output, log: verdicts } = log();
  verdicts.remember(result('fine', 'pass'));
  verdicts.flushWarnings();
  expect(verdicts.hasBlocks).toBe(false);
  expect(output).toEqual([]);
  // Evaluated again with another result (a dist-less package settled under its real key): the warning stands.
  verdicts.remember(result('fine', 'warn'));
  verdicts.flushWarnings(true);
  expect(output.join('')).toContain('fine@1.0.0');
});

test('a warned package is printed once, however often it is evaluated', () => {
  const { output, log: verdicts } = log();
  verdicts.remember(result('shaky', 'warn'));
  verdicts.flushWarnings();
  verdicts.remember(result('shaky', 'warn'));
  verdicts.flushWarnings(true);
  const text = output.join('');
  expect(text).toContain('provenance-guard warns about 1 package');
  expect(text.match(/shaky@1\.0\.0/g)?.length).toBeGreaterThan(0);
  expect(output).toHaveLength(1);
  expect(output[0]!.endsWith('\n')).toBe(true);
  expect(verdicts.hasBlocks).toBe(false);
});

test('nothing pending prints nothing, not even a blank line', () => {
  const { output, log: verdicts } = log();
  verdicts.flushWarnings();
  verdicts.flushWarnings(true);
  expect(output).toEqual([]);
});

test("pnpm 10: the error carries every blocked package's details; nothing goes to stderr", () => {
  const { output, log: verdicts } = log(false);
  verdicts.remember(result('bad-a', 'block'));
  verdicts.remember(result('bad-b', 'block'));
  expect(verdicts.hasBlocks).toBe(true);
  const error = verdicts.failure() as Error & { code?: string };
  expect(error.code).toBe('ERR_PNPM_PROVENANCE_BLOCKED');
  expect(error.message).toContain('provenance-guard blocked 2 packages');
  expect(error.message).toContain('bad-a: no source repository');
  expect(output).toEqual([]);
});

test('pnpm 12: the details go to stderr once per new finding, the error names each package and its rules', () => {
  const { output, log: verdicts } = log(true);
  verdicts.remember(result('bad-a', 'block'));
  const first = verdicts.failure();
  expect(first.message).toBe('provenance-guard blocked bad-a@1.0.0 [repository] (details and the override to add are above)');
  expect(output).toHaveLength(1);
  expect(output[0]).toContain('bad-a: no source repository');
  expect(output[0]!.endsWith('\n')).toBe(true);
  // The same blocked set again (concurrent hook calls): not printed twice.
  verdicts.failure();
  expect(output).toHaveLength(1);
  verdicts.remember(result('bad-b', 'block'));
  expect(verdicts.failure().message).toContain('bad-b@1.0.0 [repository]');
  expect(output).toHaveLength(2);
  expect(output[1]).toContain('provenance-guard blocked 2 packages');
});

test('a tentative block counts at once; a tentative warning waits for the resolution, which replaces it', () => {
  const { output, log: verdicts } = log();
  verdicts.rememberTentative(result('maybe-bad', 'block'));
  expect(verdicts.hasBlocks).toBe(true);
  const held = log();
  held.log.rememberTentative(result('as-key', 'warn'));
  held.log.flushWarnings();
  expect(held.output).toEqual([]);
  held.log.settle([result('real-name', 'warn')]);
  held.log.flushWarnings(true);
  expect(held.output.join('')).toContain('real-name@1.0.0');
  expect(held.output.join('')).not.toContain('as-key@1.0.0');
  expect(output).toEqual([]);
});

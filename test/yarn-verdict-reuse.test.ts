/**
 * The Yarn gate's stored verdict (plugins/yarn/verdict-reuse.ts): what it keeps beside the report
 * (each fetch expectation, and the archive verified for it) and what it refuses to read back.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { loadConfig } from '../src/config/load';
import type { Report } from '../src/types';
import { storeVerdict, type VerdictInputs } from '../src/verdict-store';
import { INTEGRITY_IN_FEED, reuseGate, storedExpectations } from '../plugins/yarn/verdict-reuse';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const pass: Report = { summary: { packages: 2, pass: 2, warn: 0, block: 0, skip: 0 }, packages: [] };
const A = 'sha512-' + Buffer.alloc(64, 1).toString('base64');

async function inputs(): Promise<VerdictInputs> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-yarn-verdict-'));
  dirs.push(dir);
  writeFileSync(join(dir, '.provenancerc'), 'mode: off\n');
  mkdirSync(join(dir, 'node_modules'));
  const config = await loadConfig({ cwd: dir, env: {} });
  return { file: join(dir, 'node_modules', '.provenance-guard', 'yarn-verdict.json'), scope: 'yarn', lockfilePath: join(dir, 'yarn.lock'), lockfile: 'state', config, feedPath: undefined, stateDir: join(dir, '.cache'), now: new Date() };
}

const stored = (entries: [string, string, string][]) => ({ count: entries.length, ids: entries.map((e) => e[0]).join('\n'), integrities: entries.map((e) => e[1]).join('\n'), archives: entries.map((e) => e[2]).join('\n') });

test('reads back the expectations and the archives remembered for them; beside an archive, a sha512 not carried is the feed\'s', async () => {
  const verdict = await inputs();
  storeVerdict(verdict, pass, stored([['a@1.0.0', A, 'c'.repeat(64)], ['b@1.0.0', '', ''], ['c@1.0.0', A, ''], ['d@1.0.0', '', 'e'.repeat(64)]]));
  const reused = reuseGate(verdict)!;
  expect([...reused.expectations]).toEqual([['a@1.0.0', A], ['b@1.0.0', null], ['c@1.0.0', A], ['d@1.0.0', INTEGRITY_IN_FEED]]);
  expect([...reused.archives]).toEqual([['a@1.0.0', 'c'.repeat(64)], ['d@1.0.0', 'e'.repeat(64)]]);
  storeVerdict(verdict, pass, stored([]));
  expect(reuseGate(verdict)?.expectations.size).toBe(0);
});

test.each([
  ['an archive of another length', stored([['a@1.0.0', A, 'c'.repeat(63)]])],
  ['an empty name', stored([['', A, '']])],
  ['a line more than its count', { ...stored([['a@1.0.0', A, '']]), ids: 'a@1.0.0\nb@1.0.0' }],
  ['a line less than its count', { ...stored([['a@1.0.0', A, ''], ['b@1.0.0', A, '']]), integrities: A }],
  ['no lines for a count of 0', { count: 0, ids: 'a@1.0.0', integrities: '', archives: '' }],
  ['a count that is not a whole number', { ...stored([['a@1.0.0', A, '']]), count: 0.5 }],
  ['the arrays of the format before', [['a@1.0.0', A]]],
])('a verdict with %s is not reused', async (_what, attachment) => {
  const verdict = await inputs();
  storeVerdict(verdict, pass, attachment);
  expect(reuseGate(verdict)).toBeUndefined();
});

test('stores each archive beside its expectation, without the sha512 it stands for; a name or integrity that is not one line is never stored', async () => {
  const archives = new Map([['a@1.0.0', 'c'.repeat(64)], ['b@1.0.0', 'd'.repeat(64)], ['e@1.0.0', 'f'.repeat(64)]]);
  const attachment = storedExpectations(new Map([['a@1.0.0', A], ['b@1.0.0', null], ['c@1.0.0', A], ['e@1.0.0', INTEGRITY_IN_FEED]]), archives);
  expect(attachment).toEqual({ count: 4, ids: 'a@1.0.0\nb@1.0.0\nc@1.0.0\ne@1.0.0', integrities: `\n\n${A}\n`, archives: `${'c'.repeat(64)}\n\n\n${'f'.repeat(64)}` });
  const verdict = await inputs();
  storeVerdict(verdict, pass, attachment);
  const reused = reuseGate(verdict)!;
  expect([...reused.archives]).toEqual([['a@1.0.0', 'c'.repeat(64)], ['e@1.0.0', 'f'.repeat(64)]]);
  expect([...reused.expectations]).toEqual([['a@1.0.0', INTEGRITY_IN_FEED], ['b@1.0.0', null], ['c@1.0.0', A], ['e@1.0.0', INTEGRITY_IN_FEED]]);
  // A sha512 not carried, without its archive, would read back as nothing to compare: nothing is stored.
  expect(storedExpectations(new Map([['a@1.0.0', INTEGRITY_IN_FEED]]), new Map())).toBeUndefined();
  expect(storedExpectations(new Map([['a@1.0.0', INTEGRITY_IN_FEED]]), new Map([['b@1.0.0', 'c'.repeat(64)]]))).toBeUndefined();
  expect(storedExpectations(new Map([['a@1.0.0\nb@1.0.0', A]]), new Map())).toBeUndefined();
  expect(storedExpectations(new Map([['a@1.0.0', `${A}\nsha512-x`]]), new Map())).toBeUndefined();
  expect(storedExpectations(new Map([['a@1.0.0', '']]), new Map())).toBeUndefined();
  expect(storedExpectations(new Map([['', A]]), new Map())).toBeUndefined();
});

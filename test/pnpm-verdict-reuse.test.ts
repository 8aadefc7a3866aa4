/**
 * The pnpm hook's stored lockfile verdict (plugins/pnpm/verdict-reuse.ts), in process: reused only
 * for exactly the batch it was made for. Each input the batch's result depends on is changed in
 * turn, and each change must miss: a stored pass answering for another lockfile, another part of
 * it, other registries or another config would let a package through unchecked.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config/load';
import type { GuardInputs } from '../src/guard';
import type { Report, ResolvedPackage } from '../src/types';
import { storeVerdict } from '../src/verdict-store';
import { batchVerdictInputs, pnpmVerdictFile, reuseBatch, storeBatch, type LockfileBatch } from '../plugins/pnpm/verdict-reuse';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-pnpm-reuse-');

let dir: string;
let inputs: GuardInputs;
const env = (): NodeJS.ProcessEnv => ({ HOME: dir, PROVENANCE_GUARD_CACHE_DIR: join(dir, '.cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, '.state') });

beforeAll(async () => {
  dir = temp();
  writeFileSync(join(dir, '.provenancerc'), 'mode: block\nfeed:\n  source: ./feed\n  publicKeys: ["k"]\n');
  inputs = { config: await loadConfig({ cwd: dir, env: env() }), feedPath: undefined, cacheDir: join(dir, '.cache'), stateDir: join(dir, '.state'), now: new Date() };
});

const SRI = `sha512-${Buffer.alloc(64, 1).toString('base64')}`;
const lockfile = {
  lockfileVersion: '9.0',
  importers: { '.': { dependencies: { a: { specifier: '1.0.0', version: '1.0.0' }, g: { specifier: 'github:o/g', version: 'g@git+https://x/g.git#abc' } } } },
  packages: { 'a@1.0.0': { resolution: { integrity: SRI } }, 'g@git+https://x/g.git#abc': { resolution: { tarball: 'https://x/g.tgz' } } },
};
const registries = { default: 'https://registry.npmjs.org/', scopes: {} };
const batch = (over: Partial<LockfileBatch> = {}): LockfileBatch => ({ dir, lockfile, scope: { declared: new Set(['a', 'g']) }, registries, ...over });
const pass: Report = { summary: { packages: 2, pass: 1, warn: 1, block: 0, skip: 0 }, packages: [
  { name: 'a', version: '1.0.0', verdict: 'pass', findings: [] },
  { name: 'g', version: '0.0.0', verdict: 'warn', findings: [{ rule: 'source', severity: 'warn', message: 'a git source' }] },
] };
const locked: ResolvedPackage[] = [
  { name: 'a', version: '1.0.0', source: 'registry', integrity: SRI },
  { name: 'g', version: '0.0.0', source: 'git', resolved: 'github:o/g' },
];

test('reused for the same batch, with what it reprints and the packages it covered', () => {
  const verdict = batchVerdictInputs(inputs, batch())!;
  expect(verdict.file).toBe(pnpmVerdictFile(dir, inputs.stateDir));
  storeBatch(verdict, pass, locked);
  const reused = reuseBatch(batchVerdictInputs(inputs, batch())!);
  expect(reused?.count).toBe(2);
  expect(reused?.report.summary).toEqual(pass.summary);
  // Only the warning is printed again.
  expect(reused?.report.packages.map((p) => p.name)).toEqual(['g']);
  expect(reused?.locked()).toEqual([
    { name: 'a', version: '1.0.0', source: 'registry' },
    { name: 'g', version: '0.0.0', source: 'file' },
  ]);
});

test('any input of the batch changed: not reused', () => {
  storeBatch(batchVerdictInputs(inputs, batch())!, pass, locked);
  expect(reuseBatch(batchVerdictInputs(inputs, batch())!)).toBeDefined();
  const changed: Array<[string, Partial<LockfileBatch>]> = [
    ['the lockfile', { lockfile: { ...lockfile, packages: { ...lockfile.packages, 'a@1.0.0': { resolution: { integrity: `sha512-${Buffer.alloc(64, 2).toString('base64')}` } } } } }],
    ['the registries', { registries: { default: 'https://mirror.example/', scopes: {} } }],
    ['a scoped registry', { registries: { default: registries.default, scopes: { '@acme': 'https://acme.example/' } } }],
    ['the names still declared', { scope: { declared: new Set(['a']) } }],
    ['the importers a filter selects', { scope: { declared: new Set(['a', 'g']), importers: new Set(['.']) } }],
  ];
  for (const [what, over] of changed) expect(reuseBatch(batchVerdictInputs(inputs, batch(over))!), what).toBeUndefined();
  const elsewhere = temp('pg-pnpm-reuse-other-');
  // Another lockfile directory has a verdict file of its own; the same one under its name answers nothing either.
  expect(pnpmVerdictFile(elsewhere, inputs.stateDir)).not.toBe(pnpmVerdictFile(dir, inputs.stateDir));
  expect(reuseBatch({ ...batchVerdictInputs(inputs, batch({ dir: elsewhere }))!, file: pnpmVerdictFile(dir, inputs.stateDir) })).toBeUndefined();
  expect(reuseBatch(batchVerdictInputs({ ...inputs, config: { ...inputs.config, mode: 'warn' } }, batch())!)).toBeUndefined();
  // A filter selecting other projects of the same lockfile.
  storeBatch(batchVerdictInputs(inputs, batch({ scope: { declared: new Set(['a', 'g']), importers: new Set(['packages/a']) } }))!, pass, locked);
  expect(reuseBatch(batchVerdictInputs(inputs, batch({ scope: { declared: new Set(['a', 'g']), importers: new Set(['packages/a']) } }))!)).toBeDefined();
  expect(reuseBatch(batchVerdictInputs(inputs, batch({ scope: { declared: new Set(['a', 'g']), importers: new Set(['packages/b']) } }))!)).toBeUndefined();
  expect(reuseBatch(batchVerdictInputs(inputs, batch({ scope: { declared: new Set(['a', 'g']), importers: new Set(['packages/a', 'packages/b']) } }))!)).toBeUndefined();
  storeBatch(batchVerdictInputs(inputs, batch())!, pass, locked);
  // The names declared are a set: their order does not matter.
  expect(reuseBatch(batchVerdictInputs(inputs, batch({ scope: { declared: new Set(['g', 'a']) } }))!)).toBeDefined();
});

test('live evidence is never stored; a block removes what was stored; a stored verdict without its package list is not reused', () => {
  expect(batchVerdictInputs({ ...inputs, config: { ...inputs.config, online: true } }, batch())).toBeUndefined();
  const verdict = batchVerdictInputs(inputs, batch())!;
  storeBatch(verdict, pass, locked);
  storeBatch(verdict, { ...pass, summary: { ...pass.summary, pass: 0, block: 1 }, packages: [{ ...pass.packages[0]!, verdict: 'block' }, pass.packages[1]!] }, locked);
  expect(reuseBatch(verdict)).toBeUndefined();
  for (const attachment of [undefined, 'x', [['a', '1.0.0']], [['a', '1.0.0', 'yes']], [[1, '1.0.0', true]], [['a', 1, true]], [['a', '1.0.0', true], ['b', '1.0.0']]]) {
    storeVerdict(verdict, pass, attachment);
    expect(reuseBatch(verdict), JSON.stringify(attachment)).toBeUndefined();
  }
  storeVerdict(verdict, pass, [['a', '1.0.0', true]]);
  expect(reuseBatch(verdict)?.count).toBe(1);
});

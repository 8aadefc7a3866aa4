/**
 * Names, versions and messages from lockfiles, feeds and registries reach no terminal raw:
 * ESC/OSC sequences, CR, NUL, newlines and bidi overrides are shown escaped in every output.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatExplanation } from '../src/report/explain';
import { defaultConfig } from '../src/config/defaults';
import type { Config } from '../src/config/types';
import { errorText, type LockfileError } from '../src/errors';
import { fail } from '../src/lockfile/common';
import type { Guard } from '../src/guard';
import { Policy, type Evaluation } from '../src/policy/evaluate';
import { buildReport } from '../src/report/build';
import { configLine } from '../src/report/config-line';
import { blockedSummary, formatHuman } from '../src/report/human';
import { overrideSnippet } from '../src/report/override-hint';
import type { PackageResult } from '../src/types';
import { blockedError, failClosedError, shortBlockedError } from '../plugins/pnpm/messages';
import { packageMessage } from '../plugins/yarn/messages';
import { runCli } from './helpers/cli';
import { cliProject, packageLock, SHA, type TestProject } from './helpers/cli-project';

/** Clears the screen, opens an OSC 8 link, forges a PASS line, hides text with CR and NUL, flips text with a bidi override. */
const HOSTILE = 'evil\u001b[2J\u001b]8;;https://x.invalid\u0007\nPASS  all good\r\u0000\u009b\u202eeulav\u2066\u2028';
/** Every character that must never reach a terminal raw, the line feed excepted (outputs are multi-line). */
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Our own colours (SGR sequences) are allowed; nothing else. */
function expectSafe(output: string): void {
  // eslint-disable-next-line no-control-regex
  output = output.replace(/\u001b\[\d+(;\d+)*m/g, '');
  expect(output).not.toMatch(RAW);
  expect(output.split('\n').some((line) => line.startsWith('PASS'))).toBe(false);
  expect(output).toContain('\\e[2J');
}

/** The error a lockfile reader throws for a problem quoting a lockfile key. */
function lockfileError(problem: string): LockfileError {
  try {
    return fail('/p/pnpm-lock.yaml', problem);
  } catch (error) {
    return error as LockfileError;
  }
}

const hostile: PackageResult = {
  name: HOSTILE,
  version: `1.0.0${HOSTILE}`,
  verdict: 'block',
  findings: [
    { rule: 'scorecard', severity: 'block', message: `Scorecard check ${HOSTILE} scores 1` },
    { rule: 'integrity', severity: 'block', message: `integrity ${HOSTILE} does not match` },
  ],
};
const report = buildReport([hostile, { ...hostile, verdict: 'warn', findings: [{ rule: 'repository', severity: 'warn', message: HOSTILE }] }]);

describe('every output escapes what came from outside', () => {
  test('human report, with and without colour', () => {
    expectSafe(formatHuman(report, { color: false }));
    expectSafe(formatHuman(report, { color: true }));
  });

  test('the suggested overrides: entry stays one YAML string holding the real name', () => {
    // (An integrity block is never suggested away: the snippet is for the package's other findings.)
    const waivable: PackageResult = { ...hostile, findings: hostile.findings.filter((f) => f.rule !== 'integrity') };
    const snippet = overrideSnippet(waivable)!;
    expectSafe(snippet);
    const parsed = parseYaml(`overrides:\n${snippet}`) as { overrides: Array<{ package: string }> };
    expect(parsed.overrides[0]!.package).toBe(`${HOSTILE}@1.0.0${HOSTILE}`);
    const quoted = overrideSnippet({ ...waivable, name: 'a"b\\c' })!;
    expect((parseYaml(`overrides:\n${quoted}`) as { overrides: Array<{ package: string }> }).overrides[0]!.package).toBe(`a"b\\c@1.0.0${HOSTILE}`);
  });

  test('pnpm hook messages', () => {
    expectSafe(blockedSummary(report));
    expectSafe(blockedSummary(report, { severity: 'warn' }));
    const blocked = blockedError([hostile]);
    expectSafe(blocked.message);
    expectSafe(shortBlockedError([hostile]).message);
    const failed = failClosedError(lockfileError(`package "${HOSTILE}" has no resolution`));
    expectSafe(failed.message);
    expect(failed.message).toMatch(/^provenance-guard: ERR_PG_LOCKFILE_INVALID: /);
  });

  test('Yarn messages', () => {
    expectSafe(packageMessage(hostile, `/p/${HOSTILE}/.provenancerc`));
    expectSafe(packageMessage({ ...hostile, verdict: 'warn' }, undefined));
  });

  test('explain', () => {
    const evaluation: Evaluation = {
      ...hostile,
      record: {
        name: HOSTILE,
        version: '1.0.0',
        integrity: SHA(1),
        repository: { url: `https://github.com/${HOSTILE}`, commit: 'a'.repeat(40), status: 'mismatch', attestedUrl: HOSTILE },
        rebuild: { verdict: 'reproducible', source: HOSTILE },
        scorecard: { score: 4, date: HOSTILE, checks: { [HOSTILE]: 1 } },
      },
      decisions: [{ rule: 'scorecard', outcome: 'violation', message: HOSTILE }],
      waived: [{ rule: 'rebuild', severity: 'warn', message: HOSTILE }],
      appliedOverrides: [{ package: HOSTILE, rules: 'all', reason: HOSTILE, expires: '2099-01-01' }],
      expiredOverrides: [],
    };
    const guard = { config: { mode: 'block' } as Config, feed: undefined } as unknown as Guard;
    const pkg = { name: HOSTILE, version: '1.0.0', source: 'tarball' as const, resolved: `https://x.invalid/${HOSTILE}.tgz`, integrity: HOSTILE, alias: HOSTILE };
    expectSafe(formatExplanation(evaluation, { pkg, lockfile: `/p/${HOSTILE}`, guard, color: false }));
    expectSafe(formatExplanation(evaluation, { pkg, guard, color: true }));
  });

  test('error lines and the config line', () => {
    expectSafe(errorText(lockfileError(`a\nb ${HOSTILE}`)));
    expectSafe(configLine({ filepath: `/p/${HOSTILE}/.provenancerc`, mode: 'block' }));
  });
});

describe('the CLI on a lockfile with hostile names', () => {
  let project: TestProject | undefined;
  afterEach(() => project?.cleanup());

  test('hostile and malformed names in a lockfile are an error naming the entry, printed escaped', async () => {
    project = await cliProject([], [{ name: 'ok-pkg', version: '1.0.0', integrity: SHA(1) }]);
    for (const [name, version] of [[HOSTILE, '1.0.0'], ['x', 'latest; rm -rf /'], ['@@@', '1.0.0']] as const) {
      writeFileSync(join(project.dir, 'package-lock.json'), packageLock([{ name, version, integrity: SHA(2) }, { name: 'ok-pkg', version: '1.0.0', integrity: SHA(1) }]));
      const r = await runCli(project.dir, ['check']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^provenance-guard: ERR_PG_LOCKFILE_ENTRY: /m);
      expect(r.stderr).not.toMatch(RAW);
      expect(r.stderr.split('\n').some((line) => line.startsWith('PASS'))).toBe(false);
    }
  });

  test('a package an adapter hands over with such a name is a blocking source finding, never looked up, excluded or waived', () => {
    const config = { ...defaultConfig('/p'), mode: 'block' as const, unknown: 'allow' as const, exclude: ['*'] };
    const policy = new Policy(config);
    for (const pkg of [{ name: HOSTILE, version: '1.0.0' }, { name: 'x', version: 'latest; rm -rf /' }, { name: '@@@', version: '1.0.0' }]) {
      const evaluation = policy.evaluate({ ...pkg, source: 'registry' }, undefined);
      expect(evaluation.verdict).toBe('block');
      expect(evaluation.findings.map((f) => f.rule)).toEqual(['source']);
      expect(evaluation.excludedBy).toBeUndefined();
      if (pkg.name === HOSTILE) expectSafe(formatHuman(buildReport([evaluation]), { color: false }));
    }
    expect(policy.evaluate({ name: 'ok', version: '1.0.0', source: 'registry' }, undefined).verdict).toBe('skip');
  });

  test('a lockfile error quoting a hostile key is printed escaped with its code', async () => {
    project = await cliProject([], []);
    writeFileSync(join(project.dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': {}, [`node_modules/${HOSTILE}`]: 'not an object' } }));
    const r = await runCli(project.dir, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^provenance-guard: ERR_PG_LOCKFILE_INVALID: /);
    expectSafe(r.stderr);
  });
});

/**
 * The executable's fast path (src/cli/entry.ts): a repeat `check` of an unchanged, installed
 * project is answered from its stored verdict by dist/cli.cjs alone, with the output of the full
 * command; anything it cannot answer goes to the full CLI (dist/cli-main.cjs).
 *
 * "Alone" is checked by running a copy of the executable in a directory with neither
 * dist/cli-main.cjs, nor its YAML parser (dist/cli-yaml.cjs), nor node_modules: a run it answers
 * succeeds there, a run it leaves to the full CLI fails there (module not found, exit 2). The YAML
 * .provenancerc is not parsed again while unchanged: the stored verdict remembers it (config/memo.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cliProject, packageLock, SHA, type TestProject } from './helpers/cli-project';
import { BUN_BIN } from './helpers/bun';
import { tempDirs } from './helpers/temp';

const DIST = join(__dirname, '..', 'dist');
const tempDir = tempDirs('pg-fast-');

const record = (name: string, n: number, score: number) => ({
  name,
  version: '1.0.0',
  integrity: SHA(n),
  repository: { url: `https://github.com/acme/${name}`, commit: 'a'.repeat(40), status: 'attested' },
  rebuild: { verdict: 'reproducible', source: 'oss-rebuild' },
  scorecard: { score, date: '2026-11-01', checks: { 'Dangerous-Workflow': 10 } },
});

const cliEnv = (cwd: string) => ({ PATH: process.env.PATH, HOME: cwd, PROVENANCE_GUARD_CACHE_DIR: join(cwd, '.cache'), PROVENANCE_GUARD_STATE_DIR: join(cwd, '.cache', 'state'), NO_COLOR: '1' });

function run(cli: string, cwd: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', env: cliEnv(cwd) });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A run whose reader has gone before it writes (`provenance-guard check | head -0`). */
function runPipeClosed(cwd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(DIST, 'cli.cjs'), ...args], { cwd, env: cliEnv(cwd), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((done) => child.on('close', (code) => done({ code, stderr })));
}

let project: TestProject;
let alone: string;
const full = (args: string[]) => run(join(DIST, 'cli.cjs'), project.dir, args);
const small = (args: string[]) => run(alone, project.dir, args);

beforeAll(async () => {
  project = await cliProject([record('a', 1, 8), record('b', 2, 8), record('c', 3, 2)], [{ name: 'a', version: '1.0.0', integrity: SHA(1) }, { name: 'b', version: '1.0.0', integrity: SHA(2) }]);
  mkdirSync(join(project.dir, 'node_modules'));
  const bin = tempDir();
  copyFileSync(join(DIST, 'cli.cjs'), join(bin, 'cli.cjs'));
  alone = join(bin, 'cli.cjs');
}, 60_000);
afterAll(() => project.cleanup());

describe('dist/cli.cjs answers a repeat check alone', () => {
  test('same output and exit code as the full command, for each format', () => {
    for (const format of ['json', 'human', 'sarif']) {
      const first = full(['check', '--format', format]);
      expect(first.code, first.stderr).toBe(0);
      // Without the full CLI or any node_modules: only the fast path can answer.
      expect(small(['check', '--format', format])).toEqual(first);
      expect(full(['check', '--format', format])).toEqual(first);
    }
    // A JSON verdict keeps the document as printed (written out again, not re-formatted) and the summary.
    const json = full(['check', '--format', 'json']);
    const [, head, body, ...printed] = readFileSync(join(project.dir, 'node_modules', '.provenance-guard', 'check-verdict.json'), 'utf8').split('\n');
    expect(JSON.parse(body!)).toEqual({ report: { summary: JSON.parse(json.stdout).summary, packages: [] } });
    expect(printed.join('\n')).toBe(json.stdout);
    expect(JSON.parse(head!).printedBytes).toBe(Buffer.byteLength(json.stdout));
    // The human verdict keeps only what human output prints (no passing package), and prints the same, --verbose too.
    expect(full(['check']).code).toBe(0);
    const stored = readFileSync(join(project.dir, 'node_modules', '.provenance-guard', 'check-verdict.json'), 'utf8');
    expect(stored).toContain('"summary":{"packages":2,"pass":2');
    expect(stored).not.toContain('"verdict":"pass"');
    const verbose = full(['check', '--verbose']);
    expect(small(['check', '--verbose'])).toEqual(verbose);
  });

  test('a changed lockfile, a tampered store, --online or another command goes to the full CLI', () => {
    expect(full(['check', '--format', 'json']).code).toBe(0);
    expect(small(['check', '--format', 'json']).code).toBe(0);
    const store = join(project.dir, 'node_modules', '.provenance-guard', 'check-verdict.json');
    const stored = readFileSync(store, 'utf8');
    writeFileSync(store, stored.replace('"pass":2', '"pass":3'));
    const tampered = small(['check', '--format', 'json']);
    expect(tampered.code).toBe(2);
    expect(tampered.stderr).toMatch(/cli-main\.cjs/);
    expect(full(['check', '--format', 'json']).code).toBe(0);

    writeFileSync(join(project.dir, 'package-lock.json'), packageLock([{ name: 'a', version: '1.0.0', integrity: SHA(1) }, { name: 'c', version: '1.0.0', integrity: SHA(3) }]));
    expect(small(['check']).code).toBe(2);
    const blocked = full(['check']);
    expect(blocked.code, blocked.stderr).toBe(1);
    expect(blocked.stdout).toMatch(/c@1\.0\.0/);
    // A block is never stored: every later run checks again.
    expect(small(['check']).code).toBe(2);
    expect(full(['check']).code).toBe(1);

    for (const args of [['check', '--online'], ['explain', 'a@1.0.0'], ['--version']]) expect(small(args).stderr).toMatch(/cli-main\.cjs/);
  });

  test('a lockfile changed by one byte past its first 64 KB (the piece it is hashed in) is checked again', () => {
    const padded = (last: string) => `${packageLock([{ name: 'a', version: '1.0.0', integrity: SHA(1) }, { name: 'b', version: '1.0.0', integrity: SHA(2) }])}${' '.repeat(100_000)}${last}`;
    const lockfile = join(project.dir, 'package-lock.json');
    writeFileSync(lockfile, padded(' '));
    expect(full(['check', '--format', 'json']).code).toBe(0);
    expect(small(['check', '--format', 'json']).code).toBe(0);
    // JSON whitespace: the same packages, other bytes, at offset ~100,000.
    writeFileSync(lockfile, padded('\n'));
    const changed = small(['check', '--format', 'json']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/cli-main\.cjs/);
    expect(full(['check', '--format', 'json']).code).toBe(0);
    expect(small(['check', '--format', 'json']).code).toBe(0);
  });

  test('a config file changed by one byte is read again (a comment here), then remembered again', () => {
    writeFileSync(join(project.dir, 'package-lock.json'), packageLock([{ name: 'a', version: '1.0.0', integrity: SHA(1) }]));
    const first = full(['check', '--format', 'json']);
    expect(first.code, first.stderr).toBe(0);
    expect(small(['check', '--format', 'json'])).toEqual(first);
    const rc = join(project.dir, '.provenancerc');
    writeFileSync(rc, `${readFileSync(rc, 'utf8')}# edited\n`);
    expect(small(['check', '--format', 'json']).code).toBe(2);
    expect(full(['check', '--format', 'json'])).toEqual(first);
    expect(small(['check', '--format', 'json'])).toEqual(first);
    // A policy change in the file decides at once, however the verdict was stored.
    writeFileSync(rc, readFileSync(rc, 'utf8').replace('minScore: 5', 'minScore: 9'));
    const strict = full(['check', '--format', 'json']);
    expect(strict.code).toBe(1);
  });

  test('a reader that goes away gets no stack trace, and the exit code still tells the verdict', async () => {
    const rc = join(project.dir, '.provenancerc');
    // Blocked (minScore 9 from the test above), by the full CLI: exit 1 however far the report got.
    const blocked = await runPipeClosed(project.dir, ['check', '--format', 'json']);
    expect(blocked).toEqual({ code: 1, stderr: expect.not.stringMatching(/EPIPE|\n\s+at /) });
    writeFileSync(rc, readFileSync(rc, 'utf8').replace('minScore: 9', 'minScore: 5'));
    expect(full(['check', '--format', 'json']).code).toBe(0);
    // Answered from the stored verdict by the small executable.
    const reused = await runPipeClosed(project.dir, ['check', '--format', 'json']);
    expect(reused).toEqual({ code: 0, stderr: expect.not.stringMatching(/EPIPE|\n\s+at /) });
    expect(reused.stderr).toMatch(/provenance-guard: config/);
  });

  test("the executable runs from V8's code cache made by a run that answered; the output is the same", () => {
    expect(full(['check', '--format', 'json']).code).toBe(0);
    const state = join(project.dir, '.cache', 'state');
    const cacheDir = join(state, 'code-cache');
    rmSync(cacheDir, { recursive: true, force: true });
    const cached = () => existsSync(cacheDir) && readdirSync(cacheDir).some((f) => /^cli-[0-9a-f]{16}\.v8$/.test(f));
    const timed = (args: string[]) => spawnSync(process.execPath, [alone, ...args], { cwd: project.dir, encoding: 'utf8', env: { ...cliEnv(project.dir), PROVENANCE_GUARD_TIMING: '1' } });
    // A run the executable cannot answer (SARIF is never stored) leaves no cache of its own code.
    timed(['check', '--format', 'sarif']);
    expect(cached()).toBe(false);
    const making = timed(['check', '--format', 'json']);
    expect(making.stderr).toMatch(/code cache cli miss/);
    expect(cached()).toBe(true);
    const fromCache = timed(['check', '--format', 'json']);
    expect(fromCache.stderr).toMatch(/code cache cli hit/);
    expect({ code: fromCache.status, stdout: fromCache.stdout }).toEqual({ code: 0, stdout: making.stdout });
    expect(small(['check', '--format', 'json'])).toEqual(full(['check', '--format', 'json']));
  });

  test('Bun runs the executable too: it drops comments, so the bundle is read from the file, and no code cache is used', () => {
    expect(full(['check', '--format', 'json']).code).toBe(0);
    const bun = (args: string[], cli = alone) => spawnSync(BUN_BIN, [cli, ...args], { cwd: project.dir, encoding: 'utf8', env: { ...cliEnv(project.dir), PROVENANCE_GUARD_TIMING: '1' } });
    // Through the full CLI beside it.
    const version = bun(['--version'], join(DIST, 'cli.cjs'));
    expect({ code: version.status, stdout: version.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
    const answered = bun(['check', '--format', 'json']);
    expect(answered.stderr).toMatch(/code cache cli off/);
    expect({ code: answered.status, stdout: answered.stdout }).toEqual({ code: 0, stdout: small(['check', '--format', 'json']).stdout });
  });

  test.skipIf(!existsSync('/dev/full'))('a report that cannot be written (a full disk) is exit 2 with the reason, answered from the verdict or evaluated', () => {
    const toFullDisk = (cli: string, format: string) => {
      const fd = openSync('/dev/full', 'w');
      try {
        const r = spawnSync(process.execPath, [cli, 'check', '--format', format], { cwd: project.dir, env: cliEnv(project.dir), stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
        return { code: r.status, stderr: r.stderr };
      } finally {
        closeSync(fd);
      }
    };
    expect(full(['check', '--format', 'json']).code).toBe(0);
    // The executable alone answers (it has no full CLI beside it): its own write failed.
    const answered = toFullDisk(alone, 'json');
    expect(answered).toEqual({ code: 2, stderr: expect.stringMatching(/^provenance-guard: config .*\nprovenance-guard: could not write to standard output: ENOSPC/) });
    expect(answered.stderr).not.toMatch(/\n\s+at /);
    // SARIF is never stored: the full CLI evaluates, and its write fails the same way.
    const evaluated = toFullDisk(join(DIST, 'cli.cjs'), 'sarif');
    expect(evaluated).toEqual({ code: 2, stderr: expect.stringMatching(/could not write to standard output: ENOSPC/) });
    expect(evaluated.stderr).not.toMatch(/\n\s+at /);
  });

  test('a JSON verdict without the printed document (stored by an earlier version) is checked again, not printed empty', () => {
    // minScore is 5 again (the test above).
    writeFileSync(join(project.dir, 'package-lock.json'), packageLock([{ name: 'a', version: '1.0.0', integrity: SHA(1) }, { name: 'b', version: '1.0.0', integrity: SHA(2) }]));
    const first = full(['check', '--format', 'json']);
    expect(first.code, first.stderr).toBe(0);
    const store = join(project.dir, 'node_modules', '.provenance-guard', 'check-verdict.json');
    const [, headLine, bodyLine] = readFileSync(store, 'utf8').split('\n');
    // Re-signed with this user's own secret, as an earlier version stored it: the summary, no output.
    const { printedBytes: _printed, ...head } = JSON.parse(headLine!) as Record<string, unknown>;
    const signed = `${JSON.stringify(head)}\n${bodyLine}`;
    const key = readFileSync(join(project.dir, '.cache', 'state', 'machine.key'));
    writeFileSync(store, `${createHmac('sha256', key).update(signed).digest('hex')}\n${signed}`);
    expect(small(['check', '--format', 'json']).stderr).toMatch(/cli-main\.cjs/);
    expect(full(['check', '--format', 'json'])).toEqual(first);
    expect(small(['check', '--format', 'json'])).toEqual(first);
  });
});

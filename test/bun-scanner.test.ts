/** The Bun scanner's decisions without Bun: levels, TTY handling, failing closed, and how Bun's packages are classified. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import type { Guard, GuardInputs } from '../src/guard';
import { loadConfig } from '../src/config/load';
import { reuseVerdict, stateVerdictFile } from '../src/verdict-store';
import { scanVerdictInputs, storeScan } from '../plugins/bun/verdict-reuse';
import { ConfigError } from '../src/errors';
import type { Mode, PackageResult, Report, ResolvedPackage } from '../src/types';
import { lockedIntegrities, registryIntegrity, toResolvedPackage, type BunPackage, type IntegritySource } from '../plugins/bun/packages';
import { startEvidenceServer } from './helpers/evidence-servers';
import { createBunScanner, type ScannerDependencies } from '../plugins/bun/scanner';
import { withScanner } from '../src/init/bun';

const SRI = 'sha512-' + Buffer.alloc(64, 1).toString('base64');
const REG = 'https://registry.example/';
const SCOPED = 'https://scoped.example/acme/';
const REGS = { default: REG, scopes: { '@acme': SCOPED } };

function result(name: string, verdict: 'pass' | 'warn' | 'block'): PackageResult {
  const severity = verdict === 'block' ? 'block' : 'warn';
  return { name, version: '1.0.0', verdict, findings: verdict === 'pass' ? [] : [{ rule: 'rebuild', severity, message: `not reproducible \u001b[2J${name}` }] };
}

function fakeGuard(mode: Mode, results: PackageResult[]): Guard {
  return {
    config: { mode } as Guard['config'],
    feed: undefined,
    evaluate: async () => results as never,
    check: async () => ({ summary: { packages: 0, pass: 0, warn: 0, block: 0, skip: 0 }, packages: [] }),
    close: () => {},
  };
}

function scanner(options: Partial<ScannerDependencies> & { results?: PackageResult[]; mode?: Mode }) {
  let out = '';
  const s = createBunScanner({
    createGuard: async () => fakeGuard(options.mode ?? 'block', options.results ?? []),
    failureMode: async () => 'block',
    resolve: async (p) => p.map((x): ResolvedPackage => ({ name: x.name, version: x.version, source: 'registry' })),
    cwd: () => '/p',
    env: {},
    write: (t) => void (out += t),
    interactive: () => false,
    ...options,
  });
  return { s, output: () => out };
}

const pkg = (name: string, tarball = `${REG}${name}/-/${name.split('/').pop()}-1.0.0.tgz`, version = '1.0.0'): BunPackage => ({ name, version, requestedRange: '^1.0.0', tarball });

describe('createBunScanner', () => {
  test('block → fatal advisories naming name@version, escaped; details with the override on stderr', async () => {
    const { s, output } = scanner({ results: [result('bad', 'block'), result('good', 'pass')] });
    const advisories = await s.scan({ packages: [pkg('bad'), pkg('good')] });
    expect(s.version).toBe('1');
    expect(advisories).toHaveLength(1);
    expect(advisories[0]).toMatchObject({ level: 'fatal', package: 'bad', url: null });
    expect(advisories[0]!.description).toContain('bad@1.0.0');
    expect(advisories[0]!.description).toContain('\\e[2J');
    expect(advisories[0]!.description).not.toContain('\u001b');
    expect(output()).toContain('provenance-guard blocked 1 package');
    expect(output()).toContain('overrides:');
  });

  test('warnings: printed by the scanner, returned to Bun only when it can prompt (else Bun cancels the install)', async () => {
    const quiet = scanner({ mode: 'warn', results: [result('w', 'warn')] });
    expect(await quiet.s.scan({ packages: [pkg('w')] })).toEqual([]);
    expect(quiet.output()).toContain('provenance-guard warns about 1 package');
    const tty = scanner({ mode: 'warn', results: [result('w', 'warn')], interactive: () => true });
    expect((await tty.s.scan({ packages: [pkg('w')] })).map((a) => a.level)).toEqual(['warn']);
  });

  test('a guard that cannot be set up: throws under block (Bun stops), lets the install go under warn and off', async () => {
    const failing = { createGuard: async () => Promise.reject(new ConfigError('.provenancerc: feed.publicKeys: bad')) };
    await expect(scanner({ ...failing }).s.scan({ packages: [pkg('a')] })).rejects.toThrow(/fails closed/);
    const warn = scanner({ ...failing, failureMode: async () => 'warn' });
    expect(await warn.s.scan({ packages: [pkg('a')] })).toEqual([]);
    expect(warn.output()).toContain('continuing without checking');
    expect(await scanner({ ...failing, failureMode: async () => 'off' }).s.scan({ packages: [pkg('a')] })).toEqual([]);
    expect(await scanner({ mode: 'off', results: [result('bad', 'block')] }).s.scan({ packages: [pkg('bad')] })).toEqual([]);
  });

  test("an advisory lists its own level's findings; passing packages are no advisory, and nothing blocked or warned prints nothing", async () => {
    const mixed: PackageResult = { name: 'bad', version: '1.0.0', verdict: 'block', findings: [
      { rule: 'rebuild', severity: 'block', message: 'not reproducible' },
      { rule: 'scorecard', severity: 'warn', message: 'score 4.1' },
      { rule: 'repository', severity: 'block', message: 'no repository' },
    ] };
    const tty = scanner({ results: [mixed, result('w', 'warn'), result('good', 'pass')], interactive: () => true });
    const advisories = await tty.s.scan({ packages: [pkg('bad'), pkg('w'), pkg('good')] });
    expect(advisories.map((a) => [a.level, a.package])).toEqual([['fatal', 'bad'], ['warn', 'w']]);
    expect(advisories[0]!.description).toBe('provenance-guard: bad@1.0.0: [rebuild] not reproducible; [repository] no repository');
    expect(advisories[1]!.description).toContain('[rebuild] not reproducible');
    // The details on stderr keep their lines.
    expect(tty.output()).toContain('provenance-guard blocked 1 package:\n');
    expect(tty.output()).toContain('provenance-guard warns about 1 package:\n');
    const clean = scanner({ results: [result('good', 'pass')], interactive: () => true });
    expect(await clean.s.scan({ packages: [pkg('good')] })).toEqual([]);
    expect(clean.output()).toBe('provenance-guard: no config file found in the project (defaults apply), mode block\n');
  });

  // The default check asks this process's stdin and stdout (a test worker has no terminal; skipped where it has both).
  test.skipIf(Boolean(process.stdin.isTTY && process.stdout.isTTY))('without a terminal (no interactive check given) warnings are not returned to Bun', async () => {
    const quiet = scanner({ mode: 'warn', results: [result('w', 'warn')], interactive: undefined });
    expect(await quiet.s.scan({ packages: [pkg('w')] })).toEqual([]);
    expect(quiet.output()).toContain('provenance-guard warns about 1 package');
  });
});

describe('Bun packages → ResolvedPackage', () => {
  const integrity = (locked?: string, registry?: string): IntegritySource & { asked: string[] } => {
    const asked: string[] = [];
    return { asked, locked: () => locked, fromRegistry: async (n, v, r) => (asked.push(`${n}@${v} ${r}`), registry) };
  };

  test('a registry tarball under a configured registry: integrity from bun.lock first, else from the registry', async () => {
    const fromLock = integrity(SRI, 'sha512-other');
    expect(await toResolvedPackage(pkg('@s/a'), '/p', REGS, fromLock)).toEqual({ name: '@s/a', version: '1.0.0', source: 'registry', integrity: SRI });
    expect(fromLock.asked).toEqual([]);
    const fromRegistry = integrity(undefined, SRI);
    expect(await toResolvedPackage(pkg('a'), '/p', REGS, fromRegistry)).toMatchObject({ source: 'registry', integrity: SRI });
    expect(fromRegistry.asked).toEqual([`a@1.0.0 ${REG}`]);
    // Unreadable: no integrity (rule integrity decides), never an assumed one.
    expect((await toResolvedPackage(pkg('a'), '/p', REGS, integrity())).integrity).toBeUndefined();
  });

  test('a tarball from elsewhere, or not at the registry path of that name@version, is a tarball source', async () => {
    expect(await toResolvedPackage(pkg('a', 'https://evil.example/a/-/a-1.0.0.tgz'), '/p', REGS, integrity(SRI))).toMatchObject({ source: 'tarball' });
    // Bun downloads the URL as it is: the registry's tarball of another name@version is that package (as `check` reads bun.lock).
    const other = integrity(undefined, SRI);
    expect(await toResolvedPackage(pkg('a', `${REG}b/-/b-2.0.0.tgz`), '/p', REGS, other)).toEqual({ name: 'b', version: '2.0.0', source: 'registry', alias: 'a', integrity: SRI });
    expect(other.asked).toEqual([`b@2.0.0 ${REG}`]);
    expect(await toResolvedPackage(pkg('a', `${REG}b/-/b-1.0.x.tgz`), '/p', REGS, integrity(SRI))).toMatchObject({ source: 'tarball' });
    const own = integrity(undefined, SRI);
    expect(await toResolvedPackage(pkg('a', `${REG}a/-/a-1.0.0.tgz`), '/p', REGS, own)).toMatchObject({ name: 'a', source: 'registry' });
    expect(own.asked).toEqual([`a@1.0.0 ${REG}`]);
    // A scope's packages come from its registry (the same rule as `check` over bun.lock), and only they do.
    const scoped = integrity(undefined, SRI);
    expect(await toResolvedPackage(pkg('@acme/x', `${SCOPED}@acme/x/-/x-1.0.0.tgz`), '/p', REGS, scoped)).toMatchObject({ name: '@acme/x', source: 'registry' });
    expect(scoped.asked).toEqual([`@acme/x@1.0.0 ${SCOPED}`]);
    expect(await toResolvedPackage(pkg('@acme/x', `${REG}@acme/x/-/x-1.0.0.tgz`), '/p', REGS, integrity(SRI))).toMatchObject({ source: 'tarball' });
    expect(await toResolvedPackage(pkg('a', `${SCOPED}a/-/a-1.0.0.tgz`), '/p', REGS, integrity(SRI))).toMatchObject({ source: 'tarball' });
  });

  test('non-registry specifiers as Bun 1.4 passes them', async () => {
    const none = integrity();
    expect(await toResolvedPackage({ name: 'l', version: 'file:../l', requestedRange: 'file:../l', tarball: '' }, '/p', REGS, none)).toMatchObject({ source: 'file' });
    expect(await toResolvedPackage({ name: 't', version: 'https://x/t.tgz', requestedRange: 'https://x/t.tgz', tarball: 'https://x/t.tgz' }, '/p', REGS, none)).toMatchObject({ source: 'tarball' });
    const at = `${REG}b/-/b-2.0.0.tgz`;
    expect(await toResolvedPackage({ name: 'a', version: at, requestedRange: at, tarball: at }, '/p', REGS, none)).toEqual({ name: 'b', version: '2.0.0', source: 'tarball', resolved: at, alias: 'a' });
    expect(await toResolvedPackage({ name: 'g', version: 'github:o/g#abc', requestedRange: 'github:o/g', tarball: 'https://api.github.com/repos/o/g/tarball/abc' }, '/p', REGS, none)).toMatchObject({ source: 'git' });
    expect(await toResolvedPackage({ name: 'w', version: 'workspace:packages/w', requestedRange: 'workspace:*', tarball: '' }, '/p', REGS, none)).toMatchObject({ source: 'workspace' });
    // `link:<name>`: a folder registered with `bun link`, outside the project (bun-agreement.test.ts), as `check` reads bun.lock.
    expect(await toResolvedPackage({ name: 'l', version: 'link:l', requestedRange: 'link:l', tarball: '' }, '/p', REGS, none)).toEqual({ name: 'l', version: '0.0.0', source: 'link', resolved: 'link:l' });
  });

  test('each kind exactly, as the policy and the report see it', async () => {
    const none = integrity();
    const is = async (p: BunPackage, expected: ResolvedPackage, registries = REGS) => expect(await toResolvedPackage(p, '/p', registries, none)).toStrictEqual(expected);
    // A registry served over plain http (a local verdaccio, a company mirror) is a registry.
    const local = { default: 'http://127.0.0.1:4873/', scopes: {} };
    const pinned = integrity(SRI);
    expect(await toResolvedPackage(pkg('a', 'http://127.0.0.1:4873/a/-/a-1.0.0.tgz'), '/p', local, pinned)).toStrictEqual({ name: 'a', version: '1.0.0', source: 'registry', integrity: SRI });
    // A version with no tarball URL, or a URL that is no registry's: a tarball source, with the URL when there is one.
    await is(pkg('a', ''), { name: 'a', version: '1.0.0', source: 'tarball' });
    await is(pkg('a', 'https://evil.example/a-1.0.0.tgz'), { name: 'a', version: '1.0.0', source: 'tarball', resolved: 'https://evil.example/a-1.0.0.tgz' });
    await is({ name: 'w', version: 'workspace:packages/w', requestedRange: 'workspace:*', tarball: '' }, { name: 'w', version: '0.0.0', source: 'workspace', resolved: 'workspace:packages/w' });
    await is({ name: 'l', version: 'file:../l', requestedRange: 'file:../l', tarball: '' }, { name: 'l', version: '0.0.0', source: 'file', resolved: 'file:../l' });
    // git when either the version or the range Bun passes is a git specifier.
    await is({ name: 'g', version: 'git+https://example.com/g.git#abc', requestedRange: '^1.0.0', tarball: '' }, { name: 'g', version: '0.0.0', source: 'git', resolved: 'git+https://example.com/g.git#abc' });
    await is({ name: 'g', version: 'abc', requestedRange: 'github:o/g', tarball: '' }, { name: 'g', version: '0.0.0', source: 'git', resolved: 'abc' });
    // A URL as the version or as the tarball (either alone): a tarball source resolved to the tarball, else the version.
    await is({ name: 't', version: 'https://x.example/t.tgz', requestedRange: 'https://x.example/t.tgz', tarball: '' }, { name: 't', version: '0.0.0', source: 'tarball', resolved: 'https://x.example/t.tgz' });
    await is({ name: 't', version: 't.tgz', requestedRange: 't.tgz', tarball: 'http://x.example/t.tgz' }, { name: 't', version: '0.0.0', source: 'tarball', resolved: 'http://x.example/t.tgz' });
    await is({ name: 't', version: 'http://x.example/t.tgz', requestedRange: 'http://x.example/t.tgz', tarball: '' }, { name: 't', version: '0.0.0', source: 'tarball', resolved: 'http://x.example/t.tgz' });
  });
});

describe('init --pm bun: bunfig.toml', () => {
  test('adds the table, keeps the rest, replaces only our own scanner unless forced', () => {
    expect(withScanner('', 'bunfig.toml', false)).toBe('[install.security]\nscanner = "provenance-guard"\n');
    expect(withScanner('[install]\nregistry = "x"\n', 'bunfig.toml', false)).toBe('[install]\nregistry = "x"\n\n[install.security]\nscanner = "provenance-guard"\n');
    expect(withScanner('[install.security]\nscanner = "provenance-guard/bun"\n[run]\n', 'b', false)).toBe('[install.security]\nscanner = "provenance-guard"\n[run]\n');
    expect(() => withScanner('[install.security]\nscanner = "@acme/other"\n', 'b', false)).toThrow(ConfigError);
    expect(withScanner('[install.security]\nscanner = "@acme/other"\n', 'b', true)).toContain('scanner = "provenance-guard"');
  });
});

describe('provenance-guard init --pm bun (CLI)', () => {
  test('writes .provenancerc, bunfig.toml and the devDependency; keeps another scanner unless --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-init-bun-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{\n    "name": "x",\n    "devDependencies": { "typescript": "5" }\n}\n');
      const r = await runCli(dir, ['init', '--pm', 'bun']);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(join(dir, '.provenancerc'))).toBe(true);
      expect(readFileSync(join(dir, 'bunfig.toml'), 'utf8')).toContain('scanner = "provenance-guard"');
      const manifest = readFileSync(join(dir, 'package.json'), 'utf8');
      expect(JSON.parse(manifest).devDependencies).toMatchObject({ typescript: '5', 'provenance-guard': expect.stringMatching(/^\^\d/) });
      expect(manifest).toContain('\n    "name"');
      writeFileSync(join(dir, 'bunfig.toml'), '[install.security]\nscanner = "@acme/scanner"\n');
      const refused = await runCli(dir, ['init', '--pm', 'bun']);
      expect(refused.code).toBe(2);
      expect(readFileSync(join(dir, 'bunfig.toml'), 'utf8')).toContain('@acme/scanner');
      expect((await runCli(dir, ['init', '--pm', 'bun', '--force'])).code).toBe(0);
      expect(readFileSync(join(dir, 'bunfig.toml'), 'utf8')).toContain('scanner = "provenance-guard"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stored scans (plugins/bun/verdict-reuse.ts)', () => {
  const pass: Report = { summary: { packages: 1, pass: 1, warn: 0, block: 0, skip: 0 }, packages: [{ name: 'a', version: '1.0.0', verdict: 'pass', findings: [] }] };

  async function setUp() {
    const dir = mkdtempSync(join(tmpdir(), 'pg-bun-store-'));
    writeFileSync(join(dir, '.provenancerc'), 'mode: block\nfeed:\n  source: ./feed\n  publicKeys: ["k"]\n');
    writeFileSync(join(dir, 'bun.lock'), `{\n  "lockfileVersion": 1,\n  "workspaces": { "": { "name": "app", "dependencies": { "a": "^1.0.0" } } },\n  "packages": {\n    "a": ["a@1.0.0", "", {}, "${SRI}"],\n  }\n}\n`);
    mkdirSync(join(dir, 'node_modules'));
    const env = { HOME: dir, PROVENANCE_GUARD_CACHE_DIR: join(dir, '.cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, '.cache', 'state') };
    const config = await loadConfig({ cwd: dir, env });
    const inputs: GuardInputs = { config, feedPath: undefined, cacheDir: join(dir, '.cache'), stateDir: join(dir, '.state'), now: new Date() };
    return { dir, env, inputs, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
  const a = (tarball = 'https://registry.npmjs.org/a/-/a-1.0.0.tgz'): BunPackage => ({ name: 'a', version: '1.0.0', requestedRange: '^1.0.0', tarball });
  const reuse = (inputs: GuardInputs, packages: BunPackage[], dir: string, env: NodeJS.ProcessEnv) => reuseVerdict(scanVerdictInputs(inputs, packages, dir, env)!);

  test('keyed by the packages as Bun passes them and by bun.lock; stored only when bun.lock pins every registry integrity', async () => {
    const { dir, env, inputs, cleanup } = await setUp();
    try {
      const resolved: ResolvedPackage[] = [{ name: 'a', version: '1.0.0', source: 'registry', integrity: SRI }];
      storeScan(inputs, [a()], resolved, pass, dir, env);
      // What is stored is what the scanner prints again: the summary and the packages that warn.
      expect(reuse(inputs, [a()], dir, env)).toEqual({ ...pass, packages: [] });
      expect(reuse(inputs, [a('https://registry.npmjs.org/a/-/a-1.0.1.tgz')], dir, env)).toBeUndefined();
      expect(reuse(inputs, [a(), { ...a(), name: 'b' }], dir, env)).toBeUndefined();
      writeFileSync(join(dir, 'bun.lock'), readFileSync(join(dir, 'bun.lock'), 'utf8').replace('"a": [', '"a": [ '));
      expect(reuse(inputs, [a()], dir, env)).toBeUndefined();

      // An integrity read from the registry (bun.lock pins another one, or none): never stored.
      const stored = stateVerdictFile(inputs.stateDir, 'bun', dir);
      rmSync(stored, { force: true });
      storeScan(inputs, [a()], [{ ...resolved[0]!, integrity: 'sha512-' + Buffer.alloc(64, 9).toString('base64') }], pass, dir, env);
      expect(existsSync(stored)).toBe(false);
      storeScan(inputs, [a()], resolved, pass, dir, env);
      expect(existsSync(stored)).toBe(true);
      // A block removes what was stored.
      storeScan(inputs, [a()], resolved, { ...pass, summary: { ...pass.summary, pass: 0, block: 1 }, packages: [{ ...pass.packages[0]!, verdict: 'block' }] }, dir, env);
      expect(existsSync(stored)).toBe(false);
    } finally {
      cleanup();
    }
  });

  test('stored only when bun.lock pins every registry package, whatever else the scan holds', async () => {
    const { dir, env, inputs, cleanup } = await setUp();
    try {
      const SRI2 = 'sha512-' + Buffer.alloc(64, 2).toString('base64');
      // b@2.0.0 is locked twice (two registries): either entry pins it.
      writeFileSync(join(dir, 'bun.lock'), `{\n  "lockfileVersion": 1,\n  "workspaces": { "": { "name": "app", "dependencies": { "a": "^1.0.0", "b": "^2.0.0" } } },\n  "packages": {\n    "a": ["a@1.0.0", "", {}, "${SRI}"],\n    "b": ["b@2.0.0", "", {}, "${SRI}"],\n    "x/b": ["b@2.0.0", "", {}, "${SRI2}"],\n  }\n}\n`);
      const stored = stateVerdictFile(inputs.stateDir, 'bun', dir);
      const packages = [a(), { name: 'b', version: '2.0.0', requestedRange: '^2.0.0', tarball: 'https://registry.npmjs.org/b/-/b-2.0.0.tgz' }];
      const report: Report = { ...pass, summary: { ...pass.summary, packages: 2, pass: 2 } };
      const aPinned: ResolvedPackage = { name: 'a', version: '1.0.0', source: 'registry', integrity: SRI };
      const git: ResolvedPackage = { name: 'g', version: '0.0.0', source: 'git', resolved: 'git+https://example.com/g.git' };
      // One of two registry packages read from the registry: not stored.
      storeScan(inputs, packages, [aPinned, { name: 'b', version: '2.0.0', source: 'registry', integrity: 'sha512-' + Buffer.alloc(64, 3).toString('base64') }], report, dir, env);
      expect(existsSync(stored)).toBe(false);
      // A registry package without an integrity: not stored.
      storeScan(inputs, packages, [aPinned, { name: 'b', version: '2.0.0', source: 'registry' }], report, dir, env);
      expect(existsSync(stored)).toBe(false);
      // The second of b's two entries pins it; a git package needs no pinned integrity.
      storeScan(inputs, packages, [aPinned, { name: 'b', version: '2.0.0', source: 'registry', integrity: SRI2 }, git], report, dir, env);
      expect(existsSync(stored)).toBe(true);
      expect(reuse(inputs, packages, dir, env)).toEqual({ ...report, packages: [] });
      // Another registry configured: the stored scan is not this one.
      writeFileSync(join(dir, '.npmrc'), 'registry=https://mirror.example/\n');
      expect(reuse(inputs, packages, dir, env)).toBeUndefined();
    } finally {
      cleanup();
    }
  });

  test('never stored or reused without bun.lock, nor with live evidence', async () => {
    const { dir, env, inputs, cleanup } = await setUp();
    try {
      const resolved: ResolvedPackage[] = [{ name: 'a', version: '1.0.0', source: 'registry', integrity: SRI }];
      const stored = stateVerdictFile(inputs.stateDir, 'bun', dir);
      const online = { ...inputs, config: { ...inputs.config, online: true } };
      expect(scanVerdictInputs(online, [a()], dir, env)).toBeUndefined();
      storeScan(online, [a()], resolved, pass, dir, env);
      expect(existsSync(stored)).toBe(false);
      rmSync(join(dir, 'bun.lock'));
      expect(scanVerdictInputs(inputs, [a()], dir, env)).toBeUndefined();
      expect(() => storeScan(inputs, [a()], resolved, pass, dir, env)).not.toThrow();
      expect(existsSync(stored)).toBe(false);
    } finally {
      cleanup();
    }
  });

  test('the guard is built for the directory and environment Bun scans in, and what it evaluated is stored', async () => {
    const asked: string[] = [];
    const stored: string[] = [];
    const env = { PROVENANCE_GUARD_TIMING: '1', MARK: 'x' };
    const { s, output } = scanner({
      cwd: () => '/project',
      env,
      createGuard: async (options) => (asked.push(`guard ${options.cwd} ${options.env?.MARK}`), fakeGuard('block', [result('bad', 'block'), result('meh', 'warn')])),
      reuse: {
        reused: async (_p, cwd, e) => (asked.push(`reused ${cwd} ${e.MARK}`), undefined),
        store: (packages, resolved, report, cwd, e) => void stored.push(`${packages.length} ${resolved.length} ${report.summary.block} ${cwd} ${e.MARK}`),
      },
    });
    await s.scan({ packages: [pkg('bad'), pkg('meh')] });
    expect(asked).toEqual(['reused /project x', 'guard /project x']);
    expect(stored).toEqual(['2 2 1 /project x']);
    // One summary per level, each naming only its own packages.
    const text = output();
    expect(text).toMatch(/provenance-guard blocked 1 package:[^]*bad@1\.0\.0/);
    expect(text).toMatch(/provenance-guard warns about 1 package:[^]*meh@1\.0\.0/);
    expect(text.split('provenance-guard warns about')[0]).not.toContain('meh@1.0.0');
    const timing = /provenance-guard timing: scanner ([\d.]+) ms for 2 packages, process uptime (\d+) ms\n$/.exec(text);
    // the scan's own milliseconds, and this process's uptime in milliseconds (a test worker has run for longer than 100 ms)
    expect(Number(timing?.[1])).toBeLessThan(10_000);
    expect(Number(timing?.[2])).toBeGreaterThan(100);
  });

  test('a setup failure asks the failure mode for the same directory and environment', async () => {
    const asked: string[] = [];
    const { s, output } = scanner({
      cwd: () => '/project',
      env: { MARK: 'y' },
      createGuard: async () => { throw new ConfigError('/project/.provenancerc: broken', { code: 'ERR_PG_CONFIG_INVALID' }); },
      failureMode: async (options) => (asked.push(`${options.cwd} ${options.env?.MARK}`), 'warn'),
    });
    expect(await s.scan({ packages: [pkg('a')] })).toEqual([]);
    expect(asked).toEqual(['/project y']);
    expect(output()).toContain('provenance-guard: warn mode: continuing without checking packages');
  });

  test('the scanner answers from a stored scan without building a guard, and a failing store never fails a scan', async () => {
    let built = 0;
    const stored: Report = { summary: { packages: 1, pass: 0, warn: 1, block: 0, skip: 0 }, packages: [result('w', 'warn')] };
    const { s, output } = scanner({
      createGuard: async () => (built++, fakeGuard('block', [])),
      reuse: { reused: async () => ({ report: stored, inputs: { config: { mode: 'warn', filepath: '/p/.provenancerc' } as Guard['config'] } }), store: () => {} },
    });
    expect(await s.scan({ packages: [pkg('w')] })).toEqual([]);
    expect(built).toBe(0);
    expect(output()).toContain('w@1.0.0');
    expect(output().split('\n')[0]).toBe('provenance-guard: config /p/.provenancerc, mode warn');
    const timed = scanner({ env: { PROVENANCE_GUARD_TIMING: '1' }, reuse: { reused: async () => ({ report: stored, inputs: { config: { mode: 'warn' } as Guard['config'] } }), store: () => {} } });
    await timed.s.scan({ packages: [pkg('w')] });
    expect(timed.output()).toMatch(/provenance-guard timing: scanner [\d.]+ ms for 1 packages, process uptime \d+ ms, verdict reused\n/);
    const failing = scanner({ results: [result('a', 'pass')], reuse: { reused: async () => undefined, store: () => { throw new Error('disk full'); } } });
    expect(await failing.s.scan({ packages: [pkg('a')] })).toEqual([]);
  });
});

test('bun.lock pins an integrity for a registry name@version only, with the URL it pinned it for (\'\' for the default registry)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-bun-locked-'));
  try {
    const sri = (n: number) => `sha512-${Buffer.alloc(64, n).toString('base64')}`;
    const url = 'https://registry.npmjs.org/c/-/c-1.0.0.tgz';
    writeFileSync(join(dir, 'bun.lock'), JSON.stringify({
      lockfileVersion: 1,
      workspaces: { '': { name: 'app', dependencies: { a: '^1.0.0' } } },
      packages: {
        a: ['a@1.2.3', '', {}, sri(1)],
        c: ['c@1.0.0', '', {}, sri(2)],
        'a/c': ['c@1.0.0', url, {}, sri(3)],
        evil: ['evil@1.0.0', 'https://evil.example/x.tgz', {}, sri(4)],
        tb: ['tb@https://example.com/tb-1.0.0.tgz', {}, sri(5)],
        g: ['g@github:o/g#abc123', {}, 'o-g-abc123'],
        nosri: ['n@1.0.0', '', {}],
      },
    }));
    const locked = lockedIntegrities(dir, { default: 'https://registry.npmjs.org/', scopes: {} });
    expect(Object.fromEntries(locked)).toEqual({
      'a@1.2.3': [{ tarball: '', integrity: sri(1) }],
      'c@1.0.0': [{ tarball: '', integrity: sri(2) }, { tarball: url, integrity: sri(3) }],
    });
    expect(lockedIntegrities(join(dir, 'no-such-project'), { default: 'https://registry.npmjs.org/', scopes: {} }).size).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bun.lock read again answers for the file as it is now and for those registries', () => {
  const root = mkdtempSync(join(tmpdir(), 'pg-bun-locked-again-'));
  try {
    const sri = (n: number) => `sha512-${Buffer.alloc(64, n).toString('base64')}`;
    const npmjs = { default: 'https://registry.npmjs.org/', scopes: {} };
    const lock = (integrity: string, url = '') => JSON.stringify({ lockfileVersion: 1, workspaces: { '': { name: 'app' } }, packages: { a: ['a@1.0.0', url, {}, integrity] } });
    const one = join(root, 'one');
    mkdirSync(one);
    writeFileSync(join(one, 'bun.lock'), lock(sri(1)));
    expect(lockedIntegrities(one, npmjs).get('a@1.0.0')).toEqual([{ tarball: '', integrity: sri(1) }]);
    // Another pin in the same file: the new one, never the one read before.
    writeFileSync(join(one, 'bun.lock'), lock(sri(2)));
    expect(lockedIntegrities(one, npmjs).get('a@1.0.0')).toEqual([{ tarball: '', integrity: sri(2) }]);
    // A mirror's URL: not the default registry's tarball, so nothing is pinned for it.
    writeFileSync(join(one, 'bun.lock'), lock(sri(2), 'https://mirror.example/a/-/a-1.0.0.tgz'));
    expect(lockedIntegrities(one, npmjs).size).toBe(0);
    // The same file under other registries: that URL is the registry's tarball there.
    const mirror = { default: 'https://mirror.example/', scopes: {} };
    expect(lockedIntegrities(one, mirror).get('a@1.0.0')).toEqual([{ tarball: 'https://mirror.example/a/-/a-1.0.0.tgz', integrity: sri(2) }]);
    expect(lockedIntegrities(one, npmjs).size).toBe(0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a registry integrity bun.lock does not pin: the version\'s dist.integrity from the registry\'s metadata, else none', async () => {
  const server = await startEvidenceServer();
  try {
    const registry = `${server.url}/`;
    server.set('/@acme%2fx', { body: { name: '@acme/x', versions: { '1.0.0': { dist: { integrity: SRI } }, '2.0.0': { dist: { integrity: 42 } }, '3.0.0': {} } } });
    expect(await registryIntegrity('@acme/x', '1.0.0', registry, 'Bearer t0ken')).toBe(SRI);
    const asked = server.requests.at(-1)!;
    expect(asked.path).toBe('/@acme%2fx');
    expect(asked.headers.accept).toBe('application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8');
    expect(asked.headers.authorization).toBe('Bearer t0ken');
    expect(await registryIntegrity('@acme/x', '1.0.0', registry)).toBe(SRI);
    expect(server.requests.at(-1)!.headers.authorization).toBeUndefined();
    for (const version of ['2.0.0', '3.0.0', '9.9.9']) expect(await registryIntegrity('@acme/x', version, registry)).toBeUndefined();
    server.set('/gone', { status: 404, body: { error: 'Not found' } });
    server.set('/forbidden', { status: 403, body: { versions: { '1.0.0': { dist: { integrity: SRI } } } } });
    server.set('/html', { body: '<html>maintenance</html>', headers: { 'content-type': 'text/html' } });
    server.set('/no-versions', { body: { name: 'no-versions' } });
    for (const name of ['gone', 'forbidden', 'html', 'no-versions']) expect(await registryIntegrity(name, '1.0.0', registry)).toBeUndefined();
    expect(await registryIntegrity('a', '1.0.0', 'http://127.0.0.1:1/')).toBeUndefined();
  } finally {
    await server.close();
  }
});

/** The Bun scanner's decisions without Bun: levels, TTY handling, failing closed, and how Bun's packages are classified. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import type { Guard } from '../src/guard';
import { ConfigError } from '../src/errors';
import type { Mode, PackageResult, ResolvedPackage } from '../src/types';
import { registryOf, toResolvedPackage, type BunPackage, type IntegritySource } from '../plugins/bun/packages';
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
    expect(await toResolvedPackage(pkg('a', `${REG}b/-/b-1.0.0.tgz`), '/p', REGS, integrity(SRI))).toMatchObject({ source: 'tarball' });
    expect(registryOf(pkg('a', `${REG}a/-/a-1.0.0.tgz`), REGS)).toBe(REG);
    // A scope's packages come from its registry (the same rule as `check` over bun.lock), and only they do.
    expect(registryOf(pkg('@acme/x', `${SCOPED}@acme/x/-/x-1.0.0.tgz`), REGS)).toBe(SCOPED);
    expect(registryOf(pkg('@acme/x', `${REG}@acme/x/-/x-1.0.0.tgz`), REGS)).toBeUndefined();
    expect(await toResolvedPackage(pkg('a', `${SCOPED}a/-/a-1.0.0.tgz`), '/p', REGS, integrity(SRI))).toMatchObject({ source: 'tarball' });
  });

  test('non-registry specifiers as Bun 1.4 passes them', async () => {
    const none = integrity();
    expect(await toResolvedPackage({ name: 'l', version: 'file:../l', requestedRange: 'file:../l', tarball: '' }, '/p', REGS, none)).toMatchObject({ source: 'file' });
    expect(await toResolvedPackage({ name: 't', version: 'https://x/t.tgz', requestedRange: 'https://x/t.tgz', tarball: 'https://x/t.tgz' }, '/p', REGS, none)).toMatchObject({ source: 'tarball' });
    expect(await toResolvedPackage({ name: 'g', version: 'github:o/g#abc', requestedRange: 'github:o/g', tarball: 'https://api.github.com/repos/o/g/tarball/abc' }, '/p', REGS, none)).toMatchObject({ source: 'git' });
    expect(await toResolvedPackage({ name: 'w', version: 'workspace:packages/w', requestedRange: 'workspace:*', tarball: '' }, '/p', REGS, none)).toMatchObject({ source: 'workspace' });
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

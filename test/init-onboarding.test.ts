/**
 * From an empty pnpm 10 / pnpm 12 / Yarn 4 project to "an untrusted package is refused at
 * install" with init alone (plus the policy choice mode: block): the config dependency is
 * pinned with its integrity read from the registry through the project's .npmrc, the policy
 * has only the rules the feed carries evidence for, re-running init keeps what works, and an
 * existing policy is kept.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { buildFeed } from '../src/feed/build';
import { generateKeyPair } from '../src/feed/keys';
import { loadConfig } from '../src/config/load';
import { VERSION } from '../src/version';
import { runCli } from './helpers/cli';
import { createPnpmProject, ensurePnpmBundle, fixture, markerDir, PNPM_CONFIG_DEPENDENCY_DIR, PNPM_VERSIONS, type PnpmVersion, unwrapPnpmOutput } from './helpers/pm';
import { startRegistry, type PublishedPackage, type TestRegistry } from './helpers/registry';

let registry: TestRegistry;
let markers: string;
let work: string;
let good: PublishedPackage;
let pluginIntegrity: string;
let feedPath: string;
let pubPath: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pg-onboard-'));
  await ensurePnpmBundle();
  registry = await startRegistry();
  markers = markerDir();
  good = await registry.publish(fixture(markers, { name: '@pg-fixture/ob-good', version: '1.0.0', repository: 'github:pg-fixture/ob-good' }));
  await registry.publish(fixture(markers, { name: '@pg-fixture/ob-new', version: '1.0.0', repository: 'github:pg-fixture/ob-new' }));
  const plugin = await registry.publish({
    name: 'pnpm-plugin-provenance-guard',
    version: VERSION,
    manifest: { main: 'pnpmfile.cjs' },
    files: { 'pnpmfile.cjs': readFileSync(join(PNPM_CONFIG_DEPENDENCY_DIR, 'pnpmfile.cjs'), 'utf8') },
  });
  pluginIntegrity = plugin.integrity;
  const keys = generateKeyPair(join(work, 'keys'));
  pubPath = keys.publicKeyPath;
  // A feed with repository evidence only: no scorecard, no rebuild verdicts.
  feedPath = (await buildFeed({ records: [{ name: good.name, version: good.version, integrity: good.integrity, repository: { url: 'https://github.com/pg-fixture/ob-good', status: 'claimed' } }], privateKeyPath: keys.privateKeyPath, out: join(work, 'provenance.feed') })).path;
}, 120_000);
afterAll(async () => {
  await registry?.close();
  rmSync(work, { recursive: true, force: true });
  rmSync(markers, { recursive: true, force: true });
});

const init = (dir: string, args: string[], home: string) => runCli(dir, ['init', ...args], { HOME: home, npm_config_userconfig: join(home, '.npmrc') });

describe.each(PNPM_VERSIONS)('pnpm %s: init from zero to a meaningful block', (version: PnpmVersion) => {
  test('init pins the config dependency with its integrity, writes a policy fitted to the feed; installs pass, a new package is refused under mode: block', async () => {
    const p = createPnpmProject({ version, registryUrl: registry.url, markers, hook: { kind: 'none' }, allowBuilds: ['@pg-fixture/ob-good', '@pg-fixture/ob-new'], workspace: { sideEffectsCache: false } });
    const home = p.env.HOME!;
    const r = await init(p.dir, ['--pm', 'pnpm', '--feed', feedPath, '--public-key', pubPath], home);
    expect(r.code, r.stderr).toBe(0);
    const ws = parse(readFileSync(join(p.dir, 'pnpm-workspace.yaml'), 'utf8'));
    expect(ws.configDependencies['pnpm-plugin-provenance-guard']).toBe(`${VERSION}+${pluginIntegrity}`);
    const config = await loadConfig({ cwd: p.dir, env: {} });
    expect(config.feed.source).toBe(feedPath);
    expect(config.feed.publicKeys).toEqual([readFileSync(pubPath, 'utf8').trim()]);
    expect(config.rules.repository.require).toBe('claimed');
    expect(config.rules.rebuild.require).toBe('off');
    expect(config.rules.scorecard).toBeNull();
    expect(r.stderr).toMatch(/scorecard: off — left off: only 0 of 1 feed records carry an OpenSSF Scorecard/);

    // Quiet: the package the feed knows installs with no warning at all; the one line said is
    // which config governs the install.
    const ok = await p.pnpm(['add', `${good.name}@1.0.0`]);
    expect(ok.code, ok.output).toBe(0);
    const said = ok.output.split('\n').filter((line) => /^provenance-guard|provenance-guard (warns|blocked)/.test(line));
    expect(said.length, ok.output).toBeGreaterThan(0);
    for (const line of said) expect(line, ok.output).toMatch(/^provenance-guard: config \S+\.provenancerc, mode warn$/);
    expect(p.ran()).toEqual(['@pg-fixture/ob-good@1.0.0']);

    // The policy choice: mode: block. A package the feed has never seen is refused.
    writeFileSync(join(p.dir, '.provenancerc'), readFileSync(join(p.dir, '.provenancerc'), 'utf8').replace(/^mode: warn/m, 'mode: block'));
    const blocked = await p.pnpm(['add', '@pg-fixture/ob-new@1.0.0']);
    expect(blocked.code).not.toBe(0);
    expect(unwrapPnpmOutput(blocked.output)).toContain('@pg-fixture/ob-new');
    expect(p.installed('@pg-fixture/ob-new')).toEqual([]);
    expect(p.ran()).toEqual(['@pg-fixture/ob-good@1.0.0']);

    // Re-running init keeps what works: the pin and the policy the user chose.
    const before = { ws: readFileSync(join(p.dir, 'pnpm-workspace.yaml'), 'utf8'), rc: readFileSync(join(p.dir, '.provenancerc'), 'utf8') };
    const again = await init(p.dir, ['--pm', 'pnpm'], home);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(p.dir, 'pnpm-workspace.yaml'), 'utf8')).toBe(before.ws);
    expect(readFileSync(join(p.dir, '.provenancerc'), 'utf8')).toBe(before.rc);
  }, 180_000);
});

describe('init on an existing project', () => {
  test('an existing .provenancerc: fills feed.source and publicKeys, keeps the policy and its comments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-onboard-rc-'));
    writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}/\n`);
    writeFileSync(join(dir, '.provenancerc'), '# ours\nmode: block\nrules:\n  scorecard: { minScore: 7 }  # agreed with security\nunknown: warn\n');
    const r = await init(dir, ['--pm', 'pnpm', '--feed', 'https://feeds.example/provenance.feed', '--public-key', pubPath], dir);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, '.provenancerc'), 'utf8');
    expect(text).toContain('# ours');
    expect(text).toMatch(/scorecard: \{ minScore: 7 \} +# agreed with security/);
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.mode).toBe('block');
    expect(config.unknown).toBe('warn');
    expect(config.feed.source).toBe('https://feeds.example/provenance.feed');
    expect(config.feed.publicKeys).toEqual([readFileSync(pubPath, 'utf8').trim()]);
    // Given the same key again: nothing changes.
    await init(dir, ['--pm', 'pnpm', '--public-key', pubPath], dir);
    expect(readFileSync(join(dir, '.provenancerc'), 'utf8')).toBe(text);
    rmSync(dir, { recursive: true, force: true });
  });
  test('a bare pin pnpm 10 rejects is replaced by the pinned integrity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-onboard-bare-'));
    writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}/\n`);
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), `# our workspace\npackages:\n  - apps/* # the apps\nconfigDependencies:\n  pnpm-plugin-provenance-guard: ${VERSION}\n`);
    expect((await init(dir, ['--pm', 'pnpm'], dir)).code).toBe(0);
    expect(readFileSync(join(dir, 'pnpm-workspace.yaml'), 'utf8')).toMatch(/^# our workspace\npackages:\n {2}- apps\/\* # the apps\n/);
    expect(parse(readFileSync(join(dir, 'pnpm-workspace.yaml'), 'utf8')).configDependencies['pnpm-plugin-provenance-guard']).toBe(`${VERSION}+${pluginIntegrity}`);
    rmSync(dir, { recursive: true, force: true });
  });
  test('a working pin (version+sha512) is kept as it is, without asking the registry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-onboard-kept-'));
    writeFileSync(join(dir, '.npmrc'), 'registry=http://127.0.0.1:9/\n');
    const pinned = `configDependencies:\n  pnpm-plugin-provenance-guard: 0.0.9+sha512-${'A'.repeat(86)}==\n`;
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), pinned);
    const r = await init(dir, ['--pm', 'pnpm'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'pnpm-workspace.yaml'), 'utf8')).toBe(pinned);
    rmSync(dir, { recursive: true, force: true });
  });
  test('a registry without the config dependency: exit 2, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-onboard-noreg-'));
    writeFileSync(join(dir, '.npmrc'), 'registry=http://127.0.0.1:9/\n');
    const r = await init(dir, ['--pm', 'pnpm'], dir);
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, '.provenancerc'))).toBe(false);
    expect(existsSync(join(dir, 'pnpm-workspace.yaml'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
  test('a feed with scorecards and rebuild verdicts on every record turns those rules on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-onboard-full-'));
    const keys = generateKeyPair(join(dir, 'k'));
    const rec = (i: number) => ({ name: `p${i}`, version: '1.0.0', repository: { url: `https://github.com/o/p${i}`, status: 'claimed' as const }, rebuild: { verdict: 'reproducible' as const }, scorecard: { score: 7 } });
    await buildFeed({ records: [rec(1), rec(2)], privateKeyPath: keys.privateKeyPath, out: join(dir, 'feed.bin') });
    const r = await init(dir, ['--pm', 'pnpm', '--method', 'pnpmfile', '--feed', './feed.bin', '--public-key', keys.publicKey], dir);
    expect(r.code, r.stderr).toBe(0);
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.rules.rebuild.require).toBe('reproducible');
    expect(config.rules.scorecard?.minScore).toBe(5);
    rmSync(dir, { recursive: true, force: true });
  });
  test('init --pm yarn writes nothing machine-specific into committed files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-onboard-yarn-'));
    expect((await init(dir, ['--pm', 'yarn'], dir)).code).toBe(0);
    const yarnrc = readFileSync(join(dir, '.yarnrc.yml'), 'utf8');
    const rc = readFileSync(join(dir, '.provenancerc'), 'utf8');
    for (const text of [yarnrc, rc]) {
      expect(text).not.toContain(dir);
      expect(text).not.toMatch(/(^|[\s"'])\/(tmp|work|home|root|usr)\//m);
    }
    expect(parse(yarnrc).plugins[0].spec).toBe('.yarn/plugins/@yarnpkg/plugin-provenance.cjs');
    rmSync(dir, { recursive: true, force: true });
  });
});

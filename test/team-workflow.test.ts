/**
 * The team workflow of README "Keeping the feed up to date", end to end with real pnpm 10 and a
 * real registry: a dependency added in a pull request is refused on install; CI gathers its
 * evidence with `feed update --from-lockfile … --key-env` and publishes the updated feed (here as
 * a file every clone reads); a teammate's fresh clone then installs it, and `check` passes.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readPreamble } from '../src/feed/preamble';
import { VERSION } from '../src/version';
import { runCli } from './helpers/cli';
import { createPnpmProject, ensurePnpmBundle, fixture, markerDir, PNPM_CONFIG_DEPENDENCY_DIR } from './helpers/pm';
import { startRegistry, type TestRegistry } from './helpers/registry';

let registry: TestRegistry;
let markers: string;
let shared: string;

beforeAll(async () => {
  await ensurePnpmBundle();
  registry = await startRegistry();
  markers = markerDir();
  shared = mkdtempSync(join(tmpdir(), 'pg-team-'));
  await registry.publish(fixture(markers, { name: '@pg-fixture/team-base', version: '1.0.0', repository: 'github:pg-fixture/team-base' }));
  await registry.publish(fixture(markers, { name: '@pg-fixture/team-added', version: '2.1.0', repository: 'github:pg-fixture/team-added' }));
  await registry.publish({ name: 'pnpm-plugin-provenance-guard', version: VERSION, manifest: { main: 'pnpmfile.cjs' }, files: { 'pnpmfile.cjs': readFileSync(join(PNPM_CONFIG_DEPENDENCY_DIR, 'pnpmfile.cjs'), 'utf8') } });
}, 120_000);
afterAll(async () => {
  await registry?.close();
  rmSync(shared, { recursive: true, force: true });
  rmSync(markers, { recursive: true, force: true });
});

test('a dependency added in a pull request: refused, then CI updates the feed, then teammates install it', async () => {
  // CI's evidence settings (the services other than the registry are unreachable here).
  writeFileSync(join(shared, 'ci-provenance.yaml'), `sources:\n  registry: { url: "${registry.url}" }\n  provenance: off\n  depsDev: off\n  scorecard: off\n  ossRebuild: off\n`);
  writeFileSync(join(shared, '.npmrc'), `registry=${registry.url}/\n`);
  const maintainerEnv = { HOME: shared, npm_config_userconfig: join(shared, '.npmrc') };
  const pub = (await runCli(shared, ['feed', 'keygen', '--out-dir', 'keys'], maintainerEnv)).stdout.trim();
  const key = readFileSync(join(shared, 'keys/feed.key'), 'utf8');
  const first = await runCli(shared, ['feed', 'build', '--packages', '@pg-fixture/team-base@1.0.0', '--config', 'ci-provenance.yaml', '--key', 'keys/feed.key', '--out', 'provenance.feed'], maintainerEnv);
  expect(first.code, first.stderr).toBe(0);
  const feed = join(shared, 'provenance.feed');

  const p = createPnpmProject({ version: '10', registryUrl: registry.url, markers, hook: { kind: 'none' }, allowBuilds: ['@pg-fixture/team-base', '@pg-fixture/team-added'], workspace: { sideEffectsCache: false } });
  const init = await runCli(p.dir, ['init', '--pm', 'pnpm', '--feed', feed, '--public-key', join(shared, 'keys/feed.pub')], { HOME: p.env.HOME!, npm_config_userconfig: join(p.env.HOME!, '.npmrc') });
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(join(p.dir, '.provenancerc'), readFileSync(join(p.dir, '.provenancerc'), 'utf8').replace(/^mode: warn/m, 'mode: block'));
  expect((await p.pnpm(['add', '@pg-fixture/team-base@1.0.0'])).code).toBe(0);

  // The pull request: the new dependency is refused on install…
  const refused = await p.pnpm(['add', '@pg-fixture/team-added@2.1.0']);
  expect(refused.code).not.toBe(0);
  expect(p.installed('@pg-fixture/team-added')).toEqual([]);
  // …so the author commits the lockfile only (no package code runs), and CI takes it from there.
  const lockOnly = await p.pnpm(['add', '@pg-fixture/team-added@2.1.0', '--lockfile-only'], { PROVENANCE_GUARD_MODE: 'warn' });
  expect(lockOnly.code, lockOnly.output).toBe(0);
  expect(p.ran()).toEqual(['@pg-fixture/team-base@1.0.0']);

  // CI (the workflow in examples/github-actions): evidence for what is new only, signed with the secret key.
  const serialBefore = readPreamble(feed).header.serial;
  const updated = await runCli(p.dir, ['feed', 'update', '--base', feed, '--from-lockfile', 'pnpm-lock.yaml', '--config', join(shared, 'ci-provenance.yaml'), '--key-env', 'PROVENANCE_FEED_KEY', '--out', feed], { ...maintainerEnv, PROVENANCE_FEED_KEY: key });
  expect(updated.code, updated.stderr).toBe(0);
  // The new dependency, and the guard's own config dependency (pnpm 10 pins it in pnpm-workspace.yaml: pnpm installs it too).
  expect(updated.stderr).toContain('2 of 3 registry package versions are not in the feed yet');
  expect(readPreamble(feed).header.serial).toBeGreaterThan(serialBefore);

  // A teammate's fresh clone of the merged branch installs it; CI's `check` passes.
  const clone = createPnpmProject({ version: '10', registryUrl: registry.url, markers, hook: { kind: 'none' }, dependencies: {} });
  for (const f of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.provenancerc']) cpSync(join(p.dir, f), join(clone.dir, f));
  const install = await clone.pnpm(['install', '--frozen-lockfile']);
  expect(install.code, install.output).toBe(0);
  expect(clone.ran()).toEqual(['@pg-fixture/team-added@2.1.0', '@pg-fixture/team-base@1.0.0']);
  const check = await runCli(clone.dir, ['check'], { HOME: clone.env.HOME! });
  expect(check.code, check.stdout + check.stderr).toBe(0);
  expect(pub).not.toBe('');
}, 240_000);

test('the example CI workflow is valid YAML and every provenance-guard command in it uses flags the CLI has', async () => {
  const { parse } = await import('yaml');
  const { HELP } = await import('../src/cli/help');
  const text = readFileSync(join(__dirname, '..', 'examples/github-actions/provenance-feed.yml'), 'utf8');
  const workflow = parse(text) as { jobs: Record<string, { steps: { run?: string }[] }> };
  const runs = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? '')).join('\n').replace(/\\\n\s*/g, ' ');
  const calls = [...runs.matchAll(/provenance-guard@[\d.]+ ((?:feed )?[a-z]+)([^\n]*)/g)];
  expect(calls.map((c) => c[1])).toEqual(expect.arrayContaining(['check', 'feed update', 'feed verify']));
  for (const [, command, rest] of calls) {
    const known = HELP[command!]!.flags.map(([f]) => f.split(' ')[0]);
    for (const flag of rest!.match(/--[a-z-]+/g) ?? []) expect(known, `${command} ${flag}`).toContain(flag);
  }
  expect(text).toContain(`provenance-guard@${VERSION}`);
});

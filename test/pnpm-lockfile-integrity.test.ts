/**
 * pnpm's preResolution path with a crafted pnpm-lock.yaml (issue 8 items 1 and 3): an entry
 * for a registry name@version whose integrity is only the sha1 of another tarball (or missing),
 * with `tarball:` pointing at that other tarball. Real pnpm 10 and 12 against verdaccio; the
 * attack is shown to install the other tarball with the guard off, and to leave nothing in
 * node_modules and no postinstall marker with it on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildFeed } from '../src/feed/build';
import { generateKeyPair } from '../src/feed/keys';
import { createPnpmProject, PNPM_VERSIONS, startPnpmFixtureRegistry, type PnpmProject, type PnpmVersion, unwrapPnpmOutput } from './helpers/pm';
import type { PublishedPackage, TestRegistry } from './helpers/registry';

const GOOD = '@pg-fixture/pl-good';
const EVIL = '@pg-fixture/pl-evil';

let registry: TestRegistry;
let markers: string;
let keysDir: string;
let feedPath: string;
let publicKey: string;
let published: Map<string, PublishedPackage>;
const projects: PnpmProject[] = [];

beforeAll(async () => {
  ({ registry, markers, published } = await startPnpmFixtureRegistry([GOOD, EVIL]));
  keysDir = mkdtempSync(join(tmpdir(), 'pg-keys-'));
  const keys = generateKeyPair(keysDir);
  publicKey = keys.publicKey;
  const good = published.get(GOOD)!;
  const records = [{ name: GOOD, version: '1.0.0', integrity: good.integrity, repository: { url: 'https://github.com/pg-fixture/pl-good', commit: 'a'.repeat(40), status: 'attested' as const }, rebuild: { verdict: 'reproducible' as const }, scorecard: { score: 9 } }];
  feedPath = (await buildFeed({ records, privateKeyPath: keys.privateKeyPath, out: join(keysDir, 'provenance.feed') })).path;
}, 120_000);

afterAll(async () => {
  await registry?.close();
  for (const p of projects) rmSync(dirname(p.dir), { recursive: true, force: true });
  for (const dir of [markers, keysDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

function rc(): string {
  return [
    'mode: block',
    'feed:',
    `  source: ${JSON.stringify(feedPath)}`,
    `  publicKeys: [${JSON.stringify(publicKey)}]`,
    '  offline: true',
    'rules:',
    '  repository: { require: claimed }',
    '  rebuild: { require: reproducible }',
    '  scorecard: { minScore: 5 }',
    'unknown: warn',
    '',
  ].join('\n');
}

/** A project whose committed lockfile pins GOOD, then tampered with by `tamper`. */
async function tamperedProject(version: PnpmVersion, resolution: (good: PublishedPackage, evil: PublishedPackage) => string): Promise<{ p: PnpmProject; lock: string }> {
  const p = createPnpmProject({ version, registryUrl: registry.url, markers, dependencies: { [GOOD]: '1.0.0' }, allowBuilds: [GOOD, EVIL], provenancerc: rc(), workspace: { sideEffectsCache: false } });
  projects.push(p);
  const seeded = await p.pnpm(['install', '--lockfile-only'], { PROVENANCE_GUARD_MODE: 'off' });
  expect(seeded.code, seeded.output).toBe(0);
  const good = published.get(GOOD)!;
  const original = p.lockfile()!;
  const wanted = `resolution: {integrity: ${good.integrity}}`;
  expect(original).toContain(wanted);
  const lock = original.replace(wanted, `resolution: ${resolution(good, published.get(EVIL)!)}`);
  writeFileSync(join(p.dir, 'pnpm-lock.yaml'), lock);
  return { p, lock };
}

const sha1Of = (p: PublishedPackage) => `sha1-${Buffer.from(p.shasum, 'hex').toString('base64')}`;

function expectNothingInstalled(p: PnpmProject, result: { code: number; output: string }, lock: string): void {
  expect(result.code, result.output).not.toBe(0);
  expect(p.installed(GOOD)).toEqual([]);
  expect(p.installed(EVIL)).toEqual([]);
  expect(p.ran()).toEqual([]);
  expect(p.lockfile()).toBe(lock);
  expect(unwrapPnpmOutput(result.output)).toContain(GOOD);
}

describe.each(PNPM_VERSIONS)('pnpm %s preResolution with a crafted pnpm-lock.yaml', (version) => {
  test('sha1 of another tarball, tarball pointing at it: installs that tarball unguarded, blocked guarded', async () => {
    const { p, lock } = await tamperedProject(version, (_, evil) => `{integrity: ${sha1Of(evil)}, tarball: ${evil.tarball}}`);
    const unguarded = await p.pnpm(['install', '--frozen-lockfile'], { PROVENANCE_GUARD_MODE: 'off' });
    if (version === '10') {
      expect(unguarded.code, unguarded.output).toBe(0);
      expect(p.ran()).toEqual([`${EVIL}@1.0.0`]); // the other tarball's postinstall ran under GOOD's name
    } else {
      // pnpm 12 compares the tarball URL with the registry's metadata itself (ERR_PNPM_TARBALL_URL_MISMATCH).
      expect(unguarded.output).toContain('TARBALL_URL_MISMATCH');
    }
    rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
    p.clearMarkers();

    const guarded = await p.pnpm(['install', '--frozen-lockfile']);
    expectNothingInstalled(p, guarded, lock);
    expect(unwrapPnpmOutput(guarded.output)).toContain('[integrity]');
  });

  test('no integrity at all, tarball pointing at another package: blocked', async () => {
    const { p, lock } = await tamperedProject(version, (_, evil) => `{tarball: ${evil.tarball}}`);
    const guarded = await p.pnpm(['install', '--frozen-lockfile']);
    expectNothingInstalled(p, guarded, lock);
    // Stopped by the guard in preResolution, before pnpm's own checks of the entry.
    expect(unwrapPnpmOutput(guarded.output)).toContain('[integrity]');
  });
});

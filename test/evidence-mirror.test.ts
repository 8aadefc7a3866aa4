/**
 * The registry source against the npm registry mirror this machine reaches (repository
 * mapping only: the mirror strips dist.attestations/signatures). Skipped, with the reason
 * printed, when the mirror cannot be reached.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gatherEvidence } from '../src/evidence/index';

async function probe(): Promise<{ registry: string; reason?: string }> {
  let registry = 'https://registry.npmjs.org/';
  try {
    registry = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8', timeout: 15_000 }).trim() || registry;
  } catch (error) {
    return { registry, reason: `npm config get registry failed: ${String(error)}` };
  }
  try {
    const res = await fetch(new URL('left-pad', registry.endsWith('/') ? registry : `${registry}/`), { signal: AbortSignal.timeout(8000) });
    await res.body?.cancel();
    if (!res.ok) return { registry, reason: `${registry} answered ${res.status}` };
    return { registry };
  } catch (error) {
    return { registry, reason: `${registry} unreachable: ${error instanceof Error ? error.message : String(error)}` };
  }
}

const mirror = await probe();
if (mirror.reason) console.log(`evidence-mirror tests skipped: ${mirror.reason}`);

const cacheDir = mkdtempSync(join(tmpdir(), 'pg-evidence-mirror-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

describe.skipIf(Boolean(mirror.reason))(`registry source against ${mirror.registry}`, () => {
  it('maps real packages to their repositories, every manifest form', async () => {
    const off = { enabled: false };
    const packages = [
      ['left-pad', '1.3.0'], // {url: "git@github.com:stevemao/left-pad.git"}
      ['lodash', '4.17.21'], // "lodash/lodash"
      ['@babel/core', '7.24.0'], // {url, directory}
      ['debug', '4.3.4'], // git://
      ['semver', '7.6.0'], // https://….git
      ['sigstore', '0.4.0'], // git+https://….git
    ].map(([name, version]) => ({ name: name!, version: version!, source: 'registry' as const }));
    const { records, warnings } = await gatherEvidence(packages, {
      sources: { registry: { enabled: true, url: mirror.registry }, provenance: off, depsDev: off, scorecard: off, ossRebuild: off, timeout: 20_000, concurrency: 4, cacheTtl: 3_600_000, onError: 'warn' },
      cacheDir,
      npmrc: { cwd: cacheDir },
    });
    expect(warnings).toEqual([]);
    const repos = Object.fromEntries(records.map((r) => [r.name, r.repository]));
    expect(repos['left-pad']).toMatchObject({ url: 'https://github.com/stevemao/left-pad', status: 'claimed' });
    expect(repos.lodash).toMatchObject({ url: 'https://github.com/lodash/lodash', status: 'claimed' });
    expect(repos['@babel/core']).toMatchObject({ url: 'https://github.com/babel/babel', directory: 'packages/babel-core', status: 'claimed' });
    expect(repos.debug).toMatchObject({ url: 'https://github.com/debug-js/debug', status: 'claimed' });
    expect(repos.semver).toMatchObject({ url: 'https://github.com/npm/node-semver', status: 'claimed' });
    expect(repos.sigstore).toMatchObject({ url: 'https://github.com/sigstore/sigstore-js', status: 'claimed' });
    expect(records.find((r) => r.name === 'sigstore')?.integrity).toBe(
      'sha512-KCwMX6k20mQyFkNYG2XT3lwK9u1P36wS9YURFd85zCXPrwrSLZCEh7/vMBFNYcJXRiBtGDS+T4/RZZF493zABA==',
    );
  });
});

// src/evidence/registry.ts: a packument reduced to the evidence of each version, fetched through
// pacote from a local registry that answers as npm's does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MalformedResponseError } from '../src/evidence/http';
import { fetchPackageVersions, INSTALL_MANIFEST_FIELDS, versionInfoFromPackument, type RegistryFetchOptions } from '../src/evidence/registry';
import { manifest, packument, sriSha512, startEvidenceServer, type EvidenceServer } from './helpers/evidence-servers';
import { tempDirs } from './helpers/temp';

const temp = tempDirs();
const INTEGRITY = sriSha512(Buffer.from('fixture'));
const REGISTRY = 'https://registry.example/';

describe('versionInfoFromPackument', () => {
  const commit = 'c'.repeat(40);
  const scripts = { postinstall: 'node evil.js' };
  const full = packument('pg-info', [
    manifest('pg-info', '1.0.0', { repository: 'github:o/r', gitHead: commit, scripts, dependencies: { a: '1' }, bin: { x: 'x.js' }, description: 'not acted on' }, {
      integrity: INTEGRITY,
      shasum: 'a'.repeat(40),
      tarball: 'https://registry.example/pg-info/-/pg-info-1.0.0.tgz',
      attestations: { url: 'https://registry.example/-/npm/v1/attestations/pg-info@1.0.0', provenance: { predicateType: 'https://slsa.dev/provenance/v1' } },
    }),
    manifest('pg-info', '2.0.0', { gitHead: 'v2.0.0' }, {}),
  ]);

  it('keeps the repository, the commit, the integrity, the attestations URL and the fields an install acts on', () => {
    expect(versionInfoFromPackument(full, '1.0.0', REGISTRY)).toStrictEqual({
      registry: REGISTRY,
      repository: { url: 'https://github.com/o/r' },
      commit,
      integrity: INTEGRITY,
      attestationsUrl: 'https://registry.example/-/npm/v1/attestations/pg-info@1.0.0',
      install: { name: 'pg-info', scripts, dependencies: { a: '1' }, bin: { x: 'x.js' } },
    });
  });

  it('says a manifest without a repository has none, and keeps only what is there', () => {
    expect(versionInfoFromPackument(full, '2.0.0', REGISTRY)).toStrictEqual({ registry: REGISTRY, noRepository: true, install: { name: 'pg-info' } });
  });

  it('an attestations object without a URL advertises nothing', () => {
    const info = versionInfoFromPackument(packument('pg-a', [manifest('pg-a', '1.0.0', {}, { attestations: { provenance: {} } })]), '1.0.0', REGISTRY);
    expect(info).not.toHaveProperty('attestationsUrl');
  });

  it('reads every install field the registry serves', () => {
    const fields = Object.fromEntries(INSTALL_MANIFEST_FIELDS.map((f) => [f, `${f} value`]));
    const info = versionInfoFromPackument({ versions: { '1.0.0': { ...fields, version: '1.0.0', readme: 'x' } } }, '1.0.0', REGISTRY);
    expect(info?.install).toStrictEqual(fields);
  });

  it.each([
    ['not a packument', 'x'],
    ['no versions', { name: 'pg-info' }],
    ['versions not an object', { versions: ['1.0.0'] }],
    ['an unknown version', full],
    ['a version that is not a manifest', { versions: { '9.9.9': 'x' } }],
  ])('undefined for %s', (_, body) => {
    expect(versionInfoFromPackument(body, '9.9.9', REGISTRY)).toBeUndefined();
  });
});

describe('fetchPackageVersions', () => {
  let server: EvidenceServer;
  beforeAll(async () => {
    server = await startEvidenceServer();
  });
  afterAll(async () => {
    await server.close();
  });
  const options = (): RegistryFetchOptions => ({
    registry: `${server.url}/`,
    npmOptions: {},
    timeout: 5000,
    retry: { retries: 0, minDelay: 1, maxDelay: 1 },
    pacoteCache: temp('pg-registry-cache-'),
  });

  it('every version of the packument, by version', async () => {
    server.set('/pg-two', { body: packument('pg-two', [manifest('pg-two', '1.0.0', { repository: 'github:o/one' }, { integrity: INTEGRITY }), manifest('pg-two', '2.0.0', {}, {})]) });
    const versions = await fetchPackageVersions('pg-two', options());
    expect([...(versions?.keys() ?? [])]).toEqual(['1.0.0', '2.0.0']);
    expect(versions?.get('1.0.0')).toMatchObject({ registry: `${server.url}/`, repository: { url: 'https://github.com/o/one' }, integrity: INTEGRITY });
    expect(versions?.get('2.0.0')?.noRepository).toBe(true);
  });

  it('a version entry that is not a manifest is left out', async () => {
    server.set('/pg-odd', { body: { name: 'pg-odd', versions: { '1.0.0': manifest('pg-odd', '1.0.0', {}, {}), '2.0.0': 'junk' } } });
    expect([...((await fetchPackageVersions('pg-odd', options()))?.keys() ?? [])]).toEqual(['1.0.0']);
  });

  it('undefined for a package the registry does not have (404)', async () => {
    await expect(fetchPackageVersions('pg-missing', options())).resolves.toBeUndefined();
    expect(server.hits('/pg-missing')).toBe(1);
  });

  it('any other failure throws', async () => {
    server.set('/pg-down', { status: 500, body: 'internal error' });
    await expect(fetchPackageVersions('pg-down', options())).rejects.toMatchObject({ statusCode: 500 });
    server.set('/pg-gone', { status: 410, body: { error: 'gone' } });
    await expect(fetchPackageVersions('pg-gone', options())).rejects.toMatchObject({ code: 'E410' });
  });

  it('a 200 that is not a packument is an error, never "no versions"', async () => {
    server.set('/pg-empty', { body: {} });
    await expect(fetchPackageVersions('pg-empty', options())).rejects.toBeInstanceOf(MalformedResponseError);
    server.set('/pg-list', { body: { versions: [] } });
    await expect(fetchPackageVersions('pg-list', options())).rejects.toThrow(/pg-list.*not a packument/);
  });
});

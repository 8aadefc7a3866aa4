import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourcesConfig } from '../src/config/types';
import { EvidenceError } from '../src/errors';
import type { GatherOptions } from '../src/evidence/index';
import type { ResolvedPackage } from '../src/types';
import {
  artifactEquivalenceStatement,
  dsseLine,
  manifest,
  p256Key,
  packument,
  packumentPath,
  rebuildStatement,
  scorecardCheck1,
  sha256Hex,
  sigstoreAttestations,
  sigstoreManifest,
  sriSha512,
  startEvidenceServer,
  type EvidenceServer,
} from './helpers/evidence-servers';
import { evidenceHarness, registryOnly } from './helpers/evidence-gather';
import { pack } from './helpers/tarball';

const SIGSTORE_COMMIT = '8a2ee2fd20dda58ffa4a8d808a65cb1e04711c03';
const SIGSTORE_REPO = 'https://github.com/sigstore/sigstore-js';

let server: EvidenceServer;
const harness = evidenceHarness('pg-evidence-');
const { tmp, home } = harness;

beforeAll(async () => {
  server = await startEvidenceServer();
});
afterAll(async () => {
  await server.close();
});

const off = { enabled: false };
function sources(over: Partial<SourcesConfig> = {}): SourcesConfig {
  return registryOnly(server.url, over);
}

function gather(packages: ResolvedPackage[], over: Partial<SourcesConfig> = {}, extra: Partial<GatherOptions> = {}) {
  return harness.gather(packages, sources(over), { retry: { retries: 2, minDelay: 10, maxDelay: 2000 }, ...extra });
}

function reg(name: string, version = '1.0.0', integrity?: string): ResolvedPackage {
  return { name, version, source: 'registry', ...(integrity ? { integrity } : {}) };
}

const INTEGRITY = sriSha512(Buffer.from('fixture'));
function simple(name: string, fields: Record<string, unknown> = {}, version = '1.0.0') {
  return packument(name, [manifest(name, version, fields, { integrity: INTEGRITY, shasum: 'a'.repeat(40), tarball: `${server.url}/${name}/-/${name}-${version}.tgz` })]);
}

describe('registry source', () => {
  it('maps every repository form to https://host/owner/repo, with gitHead and directory', async () => {
    const head = 'c'.repeat(40);
    server.set('/pg-short', { body: simple('pg-short', { repository: 'user/short', gitHead: head }) });
    server.set('/pg-object', { body: simple('pg-object', { repository: { type: 'git', url: 'git+ssh://git@github.com/mono/repo.git', directory: 'packages/object' } }) });
    server.set('/pg-github', { body: simple('pg-github', { repository: 'github:user/gh' }) });
    server.set('/pg-none', { body: simple('pg-none') });
    server.set('/pg-tag', { body: simple('pg-tag', { repository: 'https://gitlab.com/grp/tag.git', gitHead: 'v1.0.0' }) });
    const { records, warnings } = await gather([reg('pg-short'), reg('pg-object'), reg('pg-github'), reg('pg-none'), reg('pg-tag')]);
    expect(warnings).toEqual([]);
    expect(records).toEqual([
      { name: 'pg-short', version: '1.0.0', integrity: INTEGRITY, repository: { url: 'https://github.com/user/short', commit: head, status: 'claimed' } },
      { name: 'pg-object', version: '1.0.0', integrity: INTEGRITY, repository: { url: 'https://github.com/mono/repo', status: 'claimed', directory: 'packages/object' } },
      { name: 'pg-github', version: '1.0.0', integrity: INTEGRITY, repository: { url: 'https://github.com/user/gh', status: 'claimed' } },
      { name: 'pg-none', version: '1.0.0', integrity: INTEGRITY, repository: { status: 'none' } },
      { name: 'pg-tag', version: '1.0.0', integrity: INTEGRITY, repository: { url: 'https://gitlab.com/grp/tag', status: 'claimed' } },
    ]);
  });

  it('skips non-registry packages, merges duplicates and reports progress', async () => {
    server.set('/pg-dup', { body: simple('pg-dup', { repository: 'user/dup' }) });
    const progress: Array<[number, number]> = [];
    const { records } = await gather(
      [reg('pg-dup'), reg('pg-dup'), { name: 'pg-git', version: '1.0.0', source: 'git', resolved: 'git+https://x/y.git' }, { name: 'ws', version: '0.0.0', source: 'workspace' }],
      {},
      { onProgress: (d, t) => progress.push([d, t]) },
    );
    expect(records.map((r) => r.name)).toEqual(['pg-dup']);
    expect(progress).toEqual([[0, 1], [1, 1]]);
  });

  it('retries a 429, honouring Retry-After, then succeeds', async () => {
    server.set('/pg-429', [{ status: 429, headers: { 'retry-after': '1' }, body: { error: 'rate limited' } }, { body: simple('pg-429', { repository: 'user/r429' }) }]);
    const started = Date.now();
    const { records, warnings } = await gather([reg('pg-429')]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(server.hits('/pg-429')).toBe(2);
    expect(warnings).toEqual([]);
    expect(records[0]!.repository).toEqual({ url: 'https://github.com/user/r429', status: 'claimed' });
  });

  it('retries 5xx with backoff and gives up with a warning (unknown evidence)', async () => {
    server.set('/pg-flaky', [{ status: 502, body: 'bad gateway' }, { status: 503, body: 'unavailable' }, { body: simple('pg-flaky', { repository: 'user/flaky' }) }]);
    server.set('/pg-down', { status: 500, body: 'internal error' });
    const { records, warnings } = await gather([reg('pg-flaky'), reg('pg-down')]);
    expect(server.hits('/pg-flaky')).toBe(3);
    expect(server.hits('/pg-down')).toBe(3);
    expect(records[0]!.repository?.url).toBe('https://github.com/user/flaky');
    expect(records[1]).toEqual({ name: 'pg-down', version: '1.0.0' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^registry: pg-down@1\.0\.0: .*500.*unknown/);
  });

  it('throws EvidenceError for a failing source under onError: fail', async () => {
    server.set('/pg-fail', { status: 500, body: 'internal error' });
    await expect(gather([reg('pg-fail')], { onError: 'fail' })).rejects.toBeInstanceOf(EvidenceError);
  });

  it('times out a stalled registry and keeps going', async () => {
    server.set('/pg-slow', { delayMs: 1500, body: simple('pg-slow', { repository: 'user/slow' }) });
    server.set('/pg-fast', { body: simple('pg-fast', { repository: 'user/fast' }) });
    const started = Date.now();
    const { records, warnings } = await gather([reg('pg-slow'), reg('pg-fast')], { timeout: 300 }, { retry: { retries: 0 } });
    expect(Date.now() - started).toBeLessThan(1400);
    expect(records[0]!.repository).toBeUndefined();
    expect(records[1]!.repository?.url).toBe('https://github.com/user/fast');
    expect(warnings.join('\n')).toMatch(/registry: pg-slow@1\.0\.0: .*(timeout|timed out|Timeout)/i);
  });

  it('survives malformed JSON, a missing package and a missing version', async () => {
    server.set('/pg-garbage', { body: '{"versions": {"1.0.0": ', headers: { 'content-type': 'application/json' } });
    server.set('/pg-noversion', { body: simple('pg-noversion', {}, '2.0.0') });
    const { records, warnings } = await gather([reg('pg-garbage'), reg('pg-missing'), reg('pg-noversion')]);
    expect(records.map((r) => r.repository)).toEqual([undefined, undefined, undefined]);
    expect(warnings.some((w) => w.startsWith('registry: pg-garbage@1.0.0: '))).toBe(true);
    expect(warnings).toContain(`registry: pg-missing is not in the registry ${server.url}/`);
    expect(warnings).toContain(`registry: pg-noversion@1.0.0 is not in the registry ${server.url}/`);
  });

  it('reads scoped registries and auth tokens from .npmrc like npm', async () => {
    const priv = await startEvidenceServer();
    try {
      const port = new URL(priv.url).port;
      const body = simple('@pg-private/tool', { repository: { type: 'git', url: 'git+https://git.internal.example/team/tool.git' } });
      priv.set(packumentPath('@pg-private/tool'), (req) =>
        req.headers.authorization === 'Bearer s3cret' ? { body } : { status: 401, body: { error: 'unauthorized' } },
      );
      const dir = tmp();
      writeFileSync(join(dir, 'package.json'), '{}');
      writeFileSync(join(dir, '.npmrc'), `@pg-private:registry=${priv.url}/\n//127.0.0.1:${port}/:_authToken=\${PG_TOKEN}\n`);
      const base = { HOME: home, npm_config_globalconfig: join(home, 'none') };
      const ok = await gather([reg('@pg-private/tool')], { registry: { enabled: true } }, { npmrc: { cwd: dir }, env: { ...base, PG_TOKEN: 's3cret' } });
      expect(ok.warnings).toEqual([]);
      expect(ok.records[0]!.repository).toEqual({ url: 'https://git.internal.example/team/tool', status: 'claimed' });
      const denied = await gather([reg('@pg-private/tool')], { registry: { enabled: true } }, { npmrc: { cwd: dir }, env: { ...base, PG_TOKEN: 'wrong' } });
      expect(denied.records[0]!.repository).toBeUndefined();
      expect(denied.warnings.join('\n')).toMatch(/registry: @pg-private\/tool@1\.0\.0: .*401/);
    } finally {
      await priv.close();
    }
  });

  it('serves a warm run from the cache without touching the network', async () => {
    server.set('/pg-cached', { body: simple('pg-cached', { repository: 'user/cached' }) });
    const cacheDir = tmp();
    const first = await gather([reg('pg-cached')], { cacheTtl: 60_000 }, { cacheDir });
    const hits = server.hits('/pg-cached');
    const second = await gather([reg('pg-cached')], { cacheTtl: 60_000 }, { cacheDir });
    expect(server.hits('/pg-cached')).toBe(hits);
    expect(second.records).toEqual(first.records);
  });
});

describe('npm provenance (real sigstore@0.4.0 bundle, verified offline against the shipped Sigstore root)', () => {
  function serveSigstore(name: string, fields: Record<string, unknown>, attestations: unknown) {
    const real = sigstoreManifest(server.url, fields);
    const m = { ...real, name, _id: `${name}@0.4.0`, dist: { ...(real.dist as object), attestations: { url: `${server.url}/-/npm/v1/attestations/${name}@0.4.0`, provenance: { predicateType: 'https://slsa.dev/provenance/v0.2' } } } };
    server.set(packumentPath(name), { body: packument(name, [m]) });
    server.set(`/-/npm/v1/attestations/${name}@0.4.0`, typeof attestations === 'string' ? { body: attestations } : attestations === undefined ? { status: 404, body: {} } : { body: attestations as object });
  }
  const provenanceOn = { provenance: { enabled: true } };

  it('verifies the bundle and marks the repository attested with the signed commit', async () => {
    serveSigstore('sigstore', {}, sigstoreAttestations());
    const { records, warnings } = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry' }], provenanceOn);
    expect(warnings).toEqual([]);
    expect(records[0]!.repository).toEqual({ url: SIGSTORE_REPO, commit: SIGSTORE_COMMIT, status: 'attested' });
  });

  it('reports a manifest claim that differs from the attested repository as a mismatch', async () => {
    serveSigstore('sigstore', { repository: { type: 'git', url: 'git+https://github.com/evil/sigstore-js.git' } }, sigstoreAttestations());
    const { records } = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry' }], provenanceOn);
    expect(records[0]!.repository).toEqual({ url: 'https://github.com/evil/sigstore-js', status: 'mismatch', attestedUrl: SIGSTORE_REPO });
  });

  it('never attests with a bundle signed for another package', async () => {
    serveSigstore('pg-impostor', { repository: 'github:sigstore/sigstore-js' }, sigstoreAttestations());
    const { records, warnings } = await gather([{ name: 'pg-impostor', version: '0.4.0', source: 'registry' }], provenanceOn);
    expect(records[0]!.repository).toEqual({ url: SIGSTORE_REPO, status: 'claimed' });
    expect(warnings.join('\n')).toMatch(/provenance: pg-impostor@0\.4\.0: the provenance was signed for pkg:npm\/sigstore@0\.4\.0/);
  });

  it('a verdict on one package\'s bundle is never reused for another that the registry points at it', async () => {
    serveSigstore('sigstore', {}, sigstoreAttestations());
    const real = sigstoreManifest(server.url, { repository: 'github:sigstore/sigstore-js' });
    const borrower = { ...real, name: 'pg-borrower', _id: 'pg-borrower@0.4.0', dist: { ...(real.dist as object), attestations: { url: `${server.url}/-/npm/v1/attestations/sigstore@0.4.0`, provenance: { predicateType: 'https://slsa.dev/provenance/v0.2' } } } };
    server.set(packumentPath('pg-borrower'), { body: packument('pg-borrower', [borrower]) });
    // One evidence cache for both runs (as `feed build` keeps it): the first run's verdict is in it.
    const cacheDir = tmp();
    const first = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry' }], { ...provenanceOn, cacheTtl: 60_000 }, { cacheDir });
    expect(first.records[0]!.repository).toMatchObject({ status: 'attested' });
    const second = await gather([{ name: 'pg-borrower', version: '0.4.0', source: 'registry' }], { ...provenanceOn, cacheTtl: 60_000 }, { cacheDir });
    expect(second.records[0]!.repository).toEqual({ url: SIGSTORE_REPO, status: 'claimed' });
  });

  it('never attests when the tarball integrity is not the signed digest', async () => {
    serveSigstore('sigstore', { dist: { integrity: INTEGRITY } }, sigstoreAttestations());
    const { records, warnings } = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry' }], provenanceOn);
    expect(records[0]!.repository?.status).toBe('claimed');
    expect(warnings.join('\n')).toMatch(/not for pkg:npm\/sigstore@0\.4\.0 with this integrity/);
  });

  it('rejects a bundle whose statement was edited after signing', async () => {
    const doc = sigstoreAttestations();
    const bundle = doc.attestations[0]!.bundle as { dsseEnvelope: { payload: string } };
    const statement = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8').replaceAll('sigstore/sigstore-js', 'evil/sigstore-js');
    bundle.dsseEnvelope.payload = Buffer.from(statement).toString('base64');
    serveSigstore('sigstore', { repository: 'github:evil/sigstore-js' }, doc);
    const { records, warnings } = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry' }], provenanceOn);
    expect(records[0]!.repository).toEqual({ url: 'https://github.com/evil/sigstore-js', status: 'claimed' });
    expect(warnings.join('\n')).toMatch(/provenance: sigstore@0\.4\.0: Sigstore verification failed/);
  });

  it('survives malformed and missing attestation documents', async () => {
    serveSigstore('sigstore', {}, '{"attestations": [');
    const bad = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry' }], provenanceOn);
    expect(bad.records[0]!.repository?.status).toBe('claimed');
    expect(bad.warnings.join('\n')).toMatch(/provenance: sigstore@0\.4\.0: malformed response/);
    serveSigstore('sigstore', {}, { attestations: [{ predicateType: 'https://slsa.dev/provenance/v0.2', bundle: { mediaType: 'x' } }] });
    const junk = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry' }], provenanceOn);
    expect(junk.records[0]!.repository?.status).toBe('claimed');
    serveSigstore('sigstore', {}, undefined);
    const missing = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry' }], provenanceOn);
    expect(missing.records[0]!.repository?.status).toBe('claimed');
    expect(missing.warnings.join('\n')).toMatch(/advertises provenance but .* has none/);
  });

  it('asks an explicit provenance endpoint even without the registry, binding to the lockfile integrity', async () => {
    const attest = await startEvidenceServer();
    try {
      attest.set('/-/npm/v1/attestations/sigstore@0.4.0', { body: sigstoreAttestations() });
      const integrity = 'sha512-KCwMX6k20mQyFkNYG2XT3lwK9u1P36wS9YURFd85zCXPrwrSLZCEh7/vMBFNYcJXRiBtGDS+T4/RZZF493zABA==';
      const { records, warnings } = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry', integrity }], {
        registry: off,
        provenance: { enabled: true, url: attest.url },
      });
      expect(warnings).toEqual([]);
      expect(records[0]).toEqual({ name: 'sigstore', version: '0.4.0', integrity, repository: { url: SIGSTORE_REPO, commit: SIGSTORE_COMMIT, status: 'attested' } });
    } finally {
      await attest.close();
    }
  });

  it('reads packument and attestations from a private registry with the .npmrc token', async () => {
    const priv = await startEvidenceServer();
    try {
      const guard = (body: unknown) => (req: { headers: Record<string, unknown> }) =>
        req.headers.authorization === 'Bearer pr1vate' ? { body: body as object } : { status: 401, body: { error: 'unauthorized' } };
      priv.set('/sigstore', guard(packument('sigstore', [sigstoreManifest(priv.url)])));
      priv.set('/-/npm/v1/attestations/sigstore@0.4.0', guard(sigstoreAttestations()));
      const dir = tmp();
      writeFileSync(join(dir, 'package.json'), '{}');
      writeFileSync(join(dir, '.npmrc'), `registry=${priv.url}/\n//127.0.0.1:${new URL(priv.url).port}/:_authToken=pr1vate\n`);
      const { records, warnings } = await gather([{ name: 'sigstore', version: '0.4.0', source: 'registry' }], { registry: { enabled: true }, provenance: { enabled: true } }, { npmrc: { cwd: dir } });
      expect(warnings).toEqual([]);
      expect(records[0]!.repository).toEqual({ url: SIGSTORE_REPO, commit: SIGSTORE_COMMIT, status: 'attested' });
      expect(priv.requests.map((r) => r.path)).toEqual(['/sigstore', '/-/npm/v1/attestations/sigstore@0.4.0']);
    } finally {
      await priv.close();
    }
  });

  it('does not ask for provenance the registry does not advertise', async () => {
    server.set('/pg-noprov', { body: simple('pg-noprov', { repository: 'user/noprov' }) });
    await gather([reg('pg-noprov')], provenanceOn);
    expect(server.requests.some((r) => r.path.includes('attestations/pg-noprov'))).toBe(false);
  });
});

describe('deps.dev', () => {
  const versionPath = (name: string) => `/v3/systems/npm/packages/${encodeURIComponent(name)}/versions/1.0.0`;
  function version(name: string, related: Array<[string, string]>, slsa: Array<Record<string, unknown>> = []) {
    return {
      versionKey: { system: 'NPM', name, version: '1.0.0' },
      publishedAt: '2026-01-01T00:00:00Z',
      isDefault: true,
      licenses: ['MIT'],
      advisoryKeys: [],
      links: [{ label: 'SOURCE_REPO', url: `https://${related[0]?.[0] ?? 'github.com/x/y'}` }],
      slsaProvenances: slsa,
      attestations: [],
      registries: ['https://registry.npmjs.org/'],
      relatedProjects: related.map(([id, provenance]) => ({ projectKey: { id }, relationProvenance: provenance, relationType: 'SOURCE_REPO' })),
    };
  }
  const project = (id: string, overall: number) => ({
    projectKey: { id },
    openIssuesCount: '3',
    starsCount: '10',
    forksCount: '1',
    license: 'MIT',
    description: '',
    homepage: '',
    scorecard: {
      date: '2026-11-02T00:00:00Z',
      repository: { name: id, commit: 'd'.repeat(40) },
      scorecard: { version: 'v5.1.1', commit: 'e'.repeat(40) },
      checks: [
        { name: 'Dangerous-Workflow', documentation: { shortDescription: 'Determines if the project\'s GitHub Action workflows avoid dangerous patterns.', url: 'https://github.com/ossf/scorecard/blob/main/docs/checks.md#dangerous-workflow' }, score: 10, reason: 'no dangerous workflow patterns detected', details: [] },
        { name: 'Packaging', documentation: { shortDescription: 'Determines if the project is published as a package that others can easily download, install, easily update, and uninstall.', url: 'https://github.com/ossf/scorecard/blob/main/docs/checks.md#packaging' }, score: -1, reason: 'packaging workflow not detected', details: [] },
      ],
      overallScore: overall,
      metadata: [],
    },
  });
  const ddOn = (extra: Partial<SourcesConfig> = {}) => ({ depsDev: { enabled: true, url: server.url }, ...extra });

  it('takes SLSA_ATTESTATION as attested for a record that binds no tarball, and the project scorecard (inconclusive checks left out)', async () => {
    server.set(versionPath('pg-dd-a'), { body: version('pg-dd-a', [['github.com/dd/a', 'SLSA_ATTESTATION']], [{ sourceRepository: 'https://github.com/dd/a', commit: '1'.repeat(40), url: 'https://registry.npmjs.org/-/npm/v1/attestations/pg-dd-a@1.0.0', verified: true }]) });
    server.set('/v3/projects/github.com%2Fdd%2Fa', { body: project('github.com/dd/a', 7.3) });
    const { records, warnings } = await gather([reg('pg-dd-a')], ddOn({ registry: off }));
    expect(warnings).toEqual([]);
    expect(records[0]!.integrity).toBeUndefined();
    expect(records[0]!.repository).toEqual({ url: 'https://github.com/dd/a', commit: '1'.repeat(40), status: 'attested' });
    expect(records[0]!.scorecard).toEqual({ score: 7.3, date: '2026-11-02', checks: { 'Dangerous-Workflow': 10 } });
  });

  it('never attests the sha512 a registry serves with deps.dev\'s link alone (it names no digest: a mirror may serve other bytes)', async () => {
    server.set('/pg-dd-a', { body: simple('pg-dd-a', { repository: 'dd/a', gitHead: 'f'.repeat(40) }) });
    server.set(versionPath('pg-dd-a'), { body: version('pg-dd-a', [['github.com/dd/a', 'SLSA_ATTESTATION']], [{ sourceRepository: 'https://github.com/dd/a', commit: '1'.repeat(40), url: 'https://registry.npmjs.org/-/npm/v1/attestations/pg-dd-a@1.0.0', verified: true }]) });
    server.set('/v3/projects/github.com%2Fdd%2Fa', { body: project('github.com/dd/a', 7.3) });
    const { records } = await gather([reg('pg-dd-a')], ddOn());
    expect(records[0]!.integrity).toMatch(/^sha512-/);
    expect(records[0]!.repository).toEqual({ url: 'https://github.com/dd/a', commit: 'f'.repeat(40), status: 'claimed' });
    // No manifest claim: deps.dev's link is the claim.
    server.set('/pg-dd-n', { body: simple('pg-dd-n', {}) });
    server.set(versionPath('pg-dd-n'), { body: version('pg-dd-n', [['github.com/dd/n', 'SLSA_ATTESTATION']]) });
    expect((await gather([reg('pg-dd-n')], ddOn())).records[0]!.repository).toEqual({ url: 'https://github.com/dd/n', status: 'claimed' });
  });

  it('reports a mismatch between the manifest and the deps.dev attestation', async () => {
    server.set('/pg-dd-b', { body: simple('pg-dd-b', { repository: 'someone/else' }) });
    server.set(versionPath('pg-dd-b'), { body: version('pg-dd-b', [['github.com/dd/b', 'SLSA_ATTESTATION']]) });
    const { records } = await gather([reg('pg-dd-b')], ddOn());
    expect(records[0]!.repository).toEqual({ url: 'https://github.com/someone/else', status: 'mismatch', attestedUrl: 'https://github.com/dd/b' });
  });

  it('takes UNVERIFIED_METADATA as a claim when the registry is off', async () => {
    server.set(versionPath('@pg-dd/c'), { body: version('@pg-dd/c', [['github.com/dd/c', 'UNVERIFIED_METADATA']]) });
    const { records, warnings } = await gather([reg('@pg-dd/c')], ddOn({ registry: off }));
    expect(warnings).toEqual([]);
    expect(records[0]!.repository).toEqual({ url: 'https://github.com/dd/c', status: 'claimed' });
    expect(records[0]!.scorecard).toBeUndefined();
  });

  it('leaves evidence unknown with a warning on 500 and on malformed JSON', async () => {
    server.set('/pg-dd-d', { body: simple('pg-dd-d', { repository: 'dd/d' }) });
    server.set(versionPath('pg-dd-d'), { status: 500, body: 'oops' });
    server.set('/v3/projects/github.com%2Fdd%2Fd', { body: 'not json' });
    const { records, warnings } = await gather([reg('pg-dd-d')], ddOn());
    expect(records[0]!.repository).toEqual({ url: 'https://github.com/dd/d', status: 'claimed' });
    expect(records[0]!.scorecard).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/depsDev: pg-dd-d@1\.0\.0: HTTP 500/);
    expect(warnings.join('\n')).toMatch(/depsDev: https:\/\/github.com\/dd\/d: malformed response/);
  });
});

describe('OpenSSF Scorecard', () => {
  const scOn = (extra: Partial<SourcesConfig> = {}) => ({ scorecard: { enabled: true, url: server.url }, ...extra });

  it('reads the Scorecard result shape, leaving inconclusive (-1) checks out', async () => {
    const result = scorecardCheck1();
    (result.checks as unknown[]).push({ details: null, score: -1, reason: 'internal error: rate limited', name: 'Fuzzing', documentation: { url: 'https://github.com/ossf/scorecard/blob/main/docs/checks.md#fuzzing', short: 'Determines if the project uses fuzzing.' } });
    server.set('/pg-sc-a', { body: simple('pg-sc-a', { repository: 'org/name' }) });
    server.set('/projects/github.com/org/name', { body: result });
    const { records, warnings } = await gather([reg('pg-sc-a')], scOn());
    expect(warnings).toEqual([]);
    expect(records[0]!.scorecard).toEqual({ score: 5, date: '2023-03-02', checks: { 'Check-Name': 5 } });
  });

  it('treats 404 as not scanned (unknown, no warning) and falls back to deps.dev', async () => {
    server.set('/pg-sc-b', { body: simple('pg-sc-b', { repository: 'org/unscanned' }) });
    const alone = await gather([reg('pg-sc-b')], scOn());
    expect(alone.records[0]!.scorecard).toBeUndefined();
    expect(alone.warnings).toEqual([]);
    server.set('/v3/projects/github.com%2Forg%2Funscanned', { body: { projectKey: { id: 'github.com/org/unscanned' }, scorecard: { date: '2026-10-01T00:00:00Z', checks: [], overallScore: 3.2, metadata: [] } } });
    const withDepsDev = await gather([reg('pg-sc-b')], scOn({ depsDev: { enabled: true, url: server.url } }));
    expect(withDepsDev.records[0]!.scorecard).toEqual({ score: 3.2, date: '2026-10-01' });
  });

  it('warns on malformed results and skips hosts Scorecard does not scan', async () => {
    server.set('/pg-sc-c', { body: simple('pg-sc-c', { repository: 'org/broken' }) });
    server.set('/projects/github.com/org/broken', { body: '<html>502</html>' });
    server.set('/pg-sc-d', { body: simple('pg-sc-d', { repository: 'https://git.example.com/org/self' }) });
    const { records, warnings } = await gather([reg('pg-sc-c'), reg('pg-sc-d')], scOn());
    expect(records.map((r) => r.scorecard)).toEqual([undefined, undefined]);
    expect(warnings.join('\n')).toMatch(/scorecard: https:\/\/github.com\/org\/broken: malformed response/);
    expect(server.requests.some((r) => r.path.includes('git.example.com'))).toBe(false);
  });
});

describe('OSS Rebuild', () => {
  const key = p256Key();
  let tarball: Buffer;
  let integrity: string;
  const name = 'pg-rebuilt';
  const attPath = `/npm/${name}/1.0.0/${name}-1.0.0.tgz/rebuild.intoto.jsonl`;

  beforeAll(async () => {
    tarball = await pack({ 'package.json': JSON.stringify({ name, version: '1.0.0' }), 'index.js': 'module.exports = 1;\n' });
    integrity = sriSha512(tarball);
    const tgz = `${server.url}/${name}/-/${name}-1.0.0.tgz`;
    server.set(`/${name}`, { body: packument(name, [manifest(name, '1.0.0', { repository: 'github:rb/rebuilt' }, { integrity, shasum: 'b'.repeat(40), tarball: tgz })]) });
    server.set(`/${name}/-/${name}-1.0.0.tgz`, { body: tarball, headers: { 'content-type': 'application/octet-stream' } });
  });
  const on = () => ({ ossRebuild: { enabled: true, url: server.url } });

  function lines(statements: unknown[], signer = key.privateKey): string {
    return statements.map((s) => dsseLine(s, signer)).join('\n') + '\n';
  }
  const artifact = `${name}-1.0.0.tgz`;

  it('marks a version reproducible when a signed ArtifactEquivalence names the published tarball', async () => {
    const sha = sha256Hex(tarball);
    server.set(attPath, { body: lines([rebuildStatement(artifact, sha, 'https://github.com/rb/rebuilt', '2'.repeat(40)), artifactEquivalenceStatement(artifact, sha, `${server.url}/${name}/-/${artifact}`)]) });
    const { records, warnings } = await gather([reg(name)], on(), { rebuildPublicKeys: [key.publicPem] });
    expect(warnings).toEqual([]);
    expect(records[0]!.rebuild).toEqual({ verdict: 'reproducible', source: 'oss-rebuild' });
  });

  it('does not trust an envelope signed by any other key (the default key is OSS Rebuild\'s)', async () => {
    const sha = sha256Hex(tarball);
    server.set(attPath, { body: lines([artifactEquivalenceStatement(artifact, sha, `${server.url}/${name}/-/${artifact}`)]) });
    const { records, warnings } = await gather([reg(name)], on());
    expect(records[0]!.rebuild).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/oss-rebuild: pg-rebuilt@1\.0\.0: attestation 1 has no valid OSS Rebuild signature/);
    const other = p256Key();
    server.set(attPath, { body: lines([artifactEquivalenceStatement(artifact, sha, 'x')], other.privateKey) });
    const wrongKey = await gather([reg(name)], on(), { rebuildPublicKeys: [key.publicPem] });
    expect(wrongKey.records[0]!.rebuild).toBeUndefined();
    expect(wrongKey.warnings.join('\n')).toMatch(/no valid OSS Rebuild signature/);
  });

  it('rejects a valid signature over another artifact\'s digest', async () => {
    server.set(attPath, { body: lines([artifactEquivalenceStatement(artifact, sha256Hex(Buffer.from('other tarball')), 'x')]) });
    const { records, warnings } = await gather([reg(name)], on(), { rebuildPublicKeys: [key.publicPem] });
    expect(records[0]!.rebuild).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/does not match the published tarball/);
  });

  it('finds a scoped package under OSS Rebuild\'s flattened artifact name', async () => {
    const scoped = '@pg-rb/scoped';
    const tgz = `${server.url}/${scoped}/-/scoped-1.0.0.tgz`;
    server.set(packumentPath(scoped), { body: packument(scoped, [manifest(scoped, '1.0.0', { repository: 'github:rb/scoped' }, { integrity, shasum: 'b'.repeat(40), tarball: tgz })]) });
    server.set(`/${scoped}/-/scoped-1.0.0.tgz`, { body: tarball, headers: { 'content-type': 'application/octet-stream' } });
    server.set('/npm/@pg-rb/scoped/1.0.0/pg-rb-scoped-1.0.0.tgz/rebuild.intoto.jsonl', { body: lines([artifactEquivalenceStatement('pg-rb-scoped-1.0.0.tgz', sha256Hex(tarball), tgz)]) });
    const { records, warnings } = await gather([reg(scoped)], on(), { rebuildPublicKeys: [key.publicPem] });
    expect(warnings).toEqual([]);
    expect(records[0]!.rebuild).toEqual({ verdict: 'reproducible', source: 'oss-rebuild' });
  });

  it('treats 404 as unknown without a warning and survives malformed lines', async () => {
    server.set(attPath, { status: 404, body: '<Error><Code>NoSuchKey</Code></Error>' });
    const absent = await gather([reg(name)], on(), { rebuildPublicKeys: [key.publicPem] });
    expect(absent.records[0]!.rebuild).toBeUndefined();
    expect(absent.warnings).toEqual([]);
    server.set(attPath, { body: '{"payloadType": "application/vnd.in-toto+json", "payload": \n' + dsseLine({ not: 'a statement' }, key.privateKey) + '\n' });
    const malformed = await gather([reg(name)], on(), { rebuildPublicKeys: [key.publicPem] });
    expect(malformed.records[0]!.rebuild).toBeUndefined();
    expect(malformed.warnings.join('\n')).toMatch(/line 1 of the attestations is not JSON/);
  });
});

describe('failure handling across sources', () => {
  it('gives up on an unreachable source after a few failures instead of once per package', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `pg-breaker-${i}`);
    for (const n of names) server.set(`/${n}`, { body: simple(n, { repository: `brk/${n}` }) });
    const started = Date.now();
    const { records, warnings } = await gather(names.map((n) => reg(n)), { concurrency: 2, depsDev: { enabled: true, url: 'http://127.0.0.1:1' } }, { retry: { retries: 1, minDelay: 10 } });
    expect(records.filter((r) => r.repository?.status === 'claimed').length).toBe(30);
    const depsDev = warnings.filter((w) => w.startsWith('depsDev'));
    expect(depsDev.length).toBeLessThanOrEqual(5 + 2);
    expect(depsDev.some((w) => /in a row failed .*skipping depsDev for the rest of this run/.test(w))).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('runs many lookups at high concurrency without listener-leak warnings', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `pg-many-${i}`);
    for (const n of names) server.set(`/${n}`, { delayMs: 20, body: simple(n, { repository: `many/${n}` }) });
    const seen: string[] = [];
    const onWarning = (w: Error) => seen.push(w.name);
    process.on('warning', onWarning);
    try {
      const { records } = await gather(names.map((n) => reg(n)), { concurrency: 32 });
      expect(records.filter((r) => r.repository).length).toBe(40);
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('warning', onWarning);
    }
    expect(seen).not.toContain('MaxListenersExceededWarning');
  });

  it('retries a registry request that timed out', async () => {
    server.set('/pg-timeout-once', [{ delayMs: 1500, body: simple('pg-timeout-once', { repository: 'user/late' }) }, { body: simple('pg-timeout-once', { repository: 'user/late' }) }]);
    const { records, warnings } = await gather([reg('pg-timeout-once')], { timeout: 300 }, { retry: { retries: 1, minDelay: 10 } });
    expect(warnings).toEqual([]);
    expect(server.hits('/pg-timeout-once')).toBe(2);
    expect(records[0]!.repository?.url).toBe('https://github.com/user/late');
  });

  it('fails the whole run on a deps.dev error under onError: fail', async () => {
    server.set('/pg-ok-1', { body: simple('pg-ok-1', { repository: 'user/ok1' }) });
    server.set('/v3/systems/npm/packages/pg-ok-1/versions/1.0.0', { status: 503, body: 'unavailable' });
    const run = gather([reg('pg-ok-1')], { onError: 'fail', depsDev: { enabled: true, url: server.url } });
    await expect(run).rejects.toBeInstanceOf(EvidenceError);
    await expect(run).rejects.toThrow(/depsDev: pg-ok-1@1\.0\.0: HTTP 503/);
  });

  it('falls back to the Sigstore root shipped with @sigstore/tuf when TUF cannot be refreshed', async () => {
    const { loadTrustMaterial } = await import('../src/evidence/trust-root');
    const { evaluateAttestations } = await import('../src/evidence/provenance');
    const loaded = await loadTrustMaterial({ source: 'tuf', tufMirrorURL: server.url, stateDir: tmp(), timeout: 500 });
    expect(loaded.warning).toMatch(/could not refresh the trust root .*using the one shipped with @sigstore\/tuf/);
    const outcome = evaluateAttestations(sigstoreAttestations(), { name: 'sigstore', version: '0.4.0', integrity: 'sha512-KCwMX6k20mQyFkNYG2XT3lwK9u1P36wS9YURFd85zCXPrwrSLZCEh7/vMBFNYcJXRiBtGDS+T4/RZZF493zABA==' }, loaded.material);
    expect(outcome).toEqual({ attested: { url: SIGSTORE_REPO, commit: SIGSTORE_COMMIT }, warnings: [] });
  });
});

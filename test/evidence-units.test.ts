import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors';
import { EvidenceCache, evidenceStore } from '../src/evidence/cache';
import { parseDepsDevProject, parseDepsDevVersion } from '../src/evidence/depsdev';
import { parseRetryAfter, withRetry, HttpStatusError } from '../src/evidence/http';
import { createLimiter } from '../src/evidence/limit';
import { authorizationFor, fetchOptions, loadNpmConfig, registryFor } from '../src/npmrc';
import { npmArtifactName, rebuildAttestationUrl } from '../src/evidence/oss-rebuild';
import { agreedSource, npmPurl, predicateSource, sha512Hex } from '../src/evidence/provenance';
import { createProgressBar, parsePackageSpecs, renderProgress } from '../src/evidence/index';
import { normalizeRepository } from '../src/evidence/repository';
import { scorecardFromChecks } from '../src/evidence/scorecard';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'pg-evidence-unit-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('repository normalisation', () => {
  it.each([
    ['user/repo', 'https://github.com/user/repo'],
    ['github:user/repo', 'https://github.com/user/repo'],
    ['gitlab:group/repo', 'https://gitlab.com/group/repo'],
    ['bitbucket:team/repo', 'https://bitbucket.org/team/repo'],
    ['git+https://github.com/User/Repo.git', 'https://github.com/User/Repo'],
    ['git+ssh://git@github.com/user/repo.git', 'https://github.com/user/repo'],
    ['git@github.com:user/repo.git', 'https://github.com/user/repo'],
    ['git://github.com/user/repo.git', 'https://github.com/user/repo'],
    ['https://github.com/user/repo#main', 'https://github.com/user/repo'],
    ['https://gitlab.com/group/sub/repo', 'https://gitlab.com/group/sub/repo'],
    ['git+https://git.Example.com/team/project.git', 'https://git.example.com/team/project'],
    ['git+ssh://git@git.example.com:team/project.git', 'https://git.example.com/team/project'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeRepository(input)).toEqual({ url: expected });
  });

  it('keeps the directory of the object form', () => {
    expect(normalizeRepository({ type: 'git', url: 'git+https://github.com/babel/babel.git', directory: 'packages/babel-core' })).toEqual({
      url: 'https://github.com/babel/babel',
      directory: 'packages/babel-core',
    });
  });

  it.each([[''], ['   '], ['not a url'], [42], [null], [{ type: 'git' }], [{ url: 'file:../local' }], ['https://example.com/']])('rejects %j', (input) => {
    expect(normalizeRepository(input)).toBeUndefined();
  });
});

describe('parsePackageSpecs', () => {
  it('parses exact versions, scopes and comma lists, dropping duplicates', () => {
    expect(parsePackageSpecs(['left-pad@1.3.0,@sigstore/core@1.0.0', 'left-pad@1.3.0'])).toEqual([
      { name: 'left-pad', version: '1.3.0', source: 'registry' },
      { name: '@sigstore/core', version: '1.0.0', source: 'registry' },
    ]);
  });
  it.each([['left-pad'], ['left-pad@^1.0.0'], ['left-pad@latest'], ['git+https://x/y.git'], ['@@bad@1.0.0']])('rejects %s with a UsageError', (spec) => {
    expect(() => parsePackageSpecs([spec])).toThrow(UsageError);
  });
});

describe('retries', () => {
  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 2000).toUTCString(), Date.now())).toBeGreaterThan(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
  it('retries 429 and 5xx, not 4xx', async () => {
    let calls = 0;
    const policy = { retries: 3, minDelay: 1, maxDelay: 5 };
    await expect(
      withRetry(async () => {
        calls++;
        if (calls < 3) throw new HttpStatusError(calls === 1 ? 429 : 503, 'u', 0);
        return 'ok';
      }, policy),
    ).resolves.toBe('ok');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw new HttpStatusError(403, 'u');
      }, policy),
    ).rejects.toThrow('HTTP 403');
    expect(calls).toBe(1);
  });
  it('honours Retry-After beyond the backoff, capped at maxDelay', async () => {
    const twice = (retryAfterMs: number) => {
      let calls = 0;
      return withRetry(async () => {
        if (++calls === 1) throw new HttpStatusError(429, 'u', retryAfterMs);
        return calls;
      }, { retries: 1, minDelay: 1, maxDelay: 400 });
    };
    let started = Date.now();
    await expect(twice(250)).resolves.toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    started = Date.now();
    await expect(twice(60_000)).resolves.toBe(2);
    expect(Date.now() - started).toBeLessThan(1500);
  });
  it('an abort ends a retry wait at once, and no attempt starts after it', async () => {
    let calls = 0;
    const controller = new AbortController();
    const started = Date.now();
    const run = withRetry(async () => {
      calls++;
      setTimeout(() => controller.abort(new Error('source down')), 10);
      throw new HttpStatusError(503, 'u');
    }, { retries: 3, minDelay: 150, maxDelay: 150 }, controller.signal);
    await expect(run).rejects.toThrow('source down');
    expect(Date.now() - started).toBeLessThan(140);
    await new Promise((resolve) => setTimeout(resolve, 400)); // past the backoff the retry timer still has
    expect(calls).toBe(1);
  });
  it('limits concurrency', async () => {
    const limit = createLimiter(2);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        limit(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
        }),
      ),
    );
    expect(peak).toBe(2);
  });
});

describe('npmrc', () => {
  it('layers user and project .npmrc and env like npm, expanding ${VAR}', () => {
    const home = tmp();
    const project = tmp();
    writeFileSync(join(home, '.npmrc'), 'registry=https://user.example/\n@acme:registry=https://acme.example/npm/\n//acme.example/npm/:_authToken=${ACME_TOKEN}\nstrict-ssl=false\n');
    writeFileSync(join(project, 'package.json'), '{}');
    writeFileSync(join(project, '.npmrc'), 'registry=https://project.example\n');
    mkdirSync(join(project, 'sub'));
    const env = { HOME: home, ACME_TOKEN: 's3cret', npm_config_globalconfig: join(home, 'none'), npm_config_noproxy: '127.0.0.1' };
    const config = loadNpmConfig({ cwd: join(project, 'sub'), env });
    expect(config.registry).toBe('https://project.example/');
    expect(registryFor('left-pad', config)).toBe('https://project.example/');
    expect(registryFor('@acme/tool', config)).toBe('https://acme.example/npm/');
    expect(registryFor('left-pad', config, 'https://override.example')).toBe('https://override.example/');
    const options = fetchOptions(config);
    expect(options['//acme.example/npm/:_authToken']).toBe('s3cret');
    expect(options['@acme:registry']).toBe('https://acme.example/npm/');
    expect(options.strictSSL).toBe(false);
    expect(options.noProxy).toBe('127.0.0.1');
  });
});

describe('registry credentials', () => {
  it('picks the longest matching //host/path/ credentials like npm', () => {
    const config = {
      registry: 'https://r.example/',
      files: [],
      settings: {
        '//r.example/:_authToken': 'root',
        '//r.example/team/npm/:_authToken': 'team',
        '//basic.example/:username': 'u',
        '//basic.example/:_password': Buffer.from('p').toString('base64'),
      },
    };
    expect(authorizationFor('https://r.example/team/npm/-/npm/v1/attestations/x@1.0.0', config)).toBe('Bearer team');
    expect(authorizationFor('https://r.example/other/x', config)).toBe('Bearer root');
    expect(authorizationFor('https://basic.example/-/x', config)).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(authorizationFor('https://elsewhere.example/x', config)).toBeUndefined();
  });
});

describe('cache', () => {
  it('persists to disk, expires after the TTL and treats a torn file as a miss', async () => {
    const dir = tmp();
    const store = evidenceStore(dir, join(dir, 'state'))!;
    let now = 1_000_000;
    const a = new EvidenceCache(store, 1000, () => now);
    let fetches = 0;
    const fetch = async () => ({ n: ++fetches });
    expect(await a.getOrFetch('ns', 'k', fetch)).toEqual({ n: 1 });
    const b = new EvidenceCache(store, 1000, () => now);
    expect(await b.getOrFetch('ns', 'k', fetch)).toEqual({ n: 1 });
    now += 1001;
    const c = new EvidenceCache(store, 1000, () => now);
    expect(await c.getOrFetch('ns', 'k', fetch)).toEqual({ n: 2 });
    // Corrupt every stored file: reads become misses, never errors.
    const nsDir = join(dir, 'evidence-v2', 'ns');
    for (const sub of readdirSync(nsDir)) for (const f of readdirSync(join(nsDir, sub))) writeFileSync(join(nsDir, sub, f), '{"key":');
    const d = new EvidenceCache(store, 1000, () => now);
    expect(await d.getOrFetch('ns', 'k', fetch)).toEqual({ n: 3 });
  });
  it('answers only with entries this machine wrote: a cache directory restored from elsewhere is a miss', async () => {
    const dir = tmp();
    const mine = evidenceStore(dir, join(dir, 'state'))!;
    // Another machine (a pull-request job) wrote the same cache directory under its own secret.
    const theirs = evidenceStore(dir, join(dir, 'their-state'))!;
    expect(theirs.secret.equals(mine.secret)).toBe(false);
    await new EvidenceCache(theirs, 60_000).set('scorecard', 'repo', { score: 10 });
    expect(await new EvidenceCache(theirs, 60_000).get('scorecard', 'repo')).toEqual({ value: { score: 10 } });
    expect(await new EvidenceCache(mine, 60_000).get('scorecard', 'repo')).toBeUndefined();
    // An entry moved to another namespace, or edited, is no entry either.
    await new EvidenceCache(mine, 60_000).set('scorecard', 'repo', { score: 2 });
    const file = (ns: string) => {
      const nsDir = join(dir, 'evidence-v2', ns);
      const sub = readdirSync(nsDir)[0]!;
      return join(nsDir, sub, readdirSync(join(nsDir, sub))[0]!);
    };
    const written = readFileSync(file('scorecard'), 'utf8');
    expect(await new EvidenceCache(mine, 60_000).get('scorecard', 'repo')).toEqual({ value: { score: 2 } });
    writeFileSync(file('scorecard'), written.replace('"score":2', '"score":9'));
    expect(await new EvidenceCache(mine, 60_000).get('scorecard', 'repo')).toBeUndefined();
    await new EvidenceCache(mine, 60_000).set('oss-rebuild', 'repo', { reproducible: false });
    writeFileSync(file('oss-rebuild'), written);
    expect(await new EvidenceCache(mine, 60_000).get('oss-rebuild', 'repo')).toBeUndefined();
  });
  it('shares one fetch between concurrent lookups and does not cache failures', async () => {
    const cache = new EvidenceCache(undefined, 1000);
    let fetches = 0;
    const slow = async () => {
      fetches++;
      await new Promise((r) => setTimeout(r, 10));
      return fetches;
    };
    const [x, y] = await Promise.all([cache.getOrFetch('n', 'k', slow), cache.getOrFetch('n', 'k', slow)]);
    expect([x, y, fetches]).toEqual([1, 1, 1]);
    await expect(cache.getOrFetch('n', 'bad', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.getOrFetch('n', 'bad', async () => 'ok')).toBe('ok');
  });
});

describe('source parsers', () => {
  it('reads deps.dev GetVersion relations', () => {
    expect(
      parseDepsDevVersion({
        versionKey: { system: 'NPM', name: 'x', version: '1.0.0' },
        slsaProvenances: [{ sourceRepository: 'https://github.com/o/r', commit: 'A'.repeat(40), url: 'https://registry.npmjs.org/-/npm/v1/attestations/x@1.0.0', verified: true }],
        relatedProjects: [{ projectKey: { id: 'github.com/o/other' }, relationProvenance: 'UNVERIFIED_METADATA', relationType: 'SOURCE_REPO' }],
      }),
    ).toEqual({ attested: { url: 'https://github.com/o/r', commit: 'a'.repeat(40) }, claimed: 'https://github.com/o/other' });
    // Unverified provenance does not attest; ISSUE_TRACKER is no repository.
    expect(
      parseDepsDevVersion({
        slsaProvenances: [{ sourceRepository: 'https://github.com/o/r', verified: false }],
        relatedProjects: [{ projectKey: { id: 'github.com/o/issues' }, relationProvenance: 'SLSA_ATTESTATION', relationType: 'ISSUE_TRACKER' }],
      }),
    ).toEqual({});
    expect(parseDepsDevVersion('garbage')).toEqual({});
  });
  it('reads a deps.dev project scorecard, dropping inconclusive checks', () => {
    expect(
      parseDepsDevProject({
        projectKey: { id: 'github.com/o/r' },
        scorecard: {
          date: '2026-11-01T00:00:00Z',
          repository: { name: 'github.com/o/r', commit: 'c' },
          scorecard: { version: 'v5.0.0', commit: 'c' },
          checks: [
            { name: 'Maintained', documentation: { shortDescription: 's', url: 'u' }, score: 0, reason: 'r', details: [] },
            { name: 'Fuzzing', documentation: { shortDescription: 's', url: 'u' }, score: -1, reason: 'internal error', details: [] },
          ],
          overallScore: 4.1,
          metadata: [],
        },
      }),
    ).toEqual({ score: 4.1, date: '2026-11-01', checks: { Maintained: 0 } });
    expect(parseDepsDevProject({ projectKey: { id: 'x' } })).toBeUndefined();
    expect(scorecardFromChecks(11, [], undefined)).toBeUndefined();
  });
  it('reads repository and commit from SLSA v1 provenance', () => {
    expect(
      predicateSource('https://slsa.dev/provenance/v1', {
        buildDefinition: {
          buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
          externalParameters: { workflow: { ref: 'refs/heads/main', repository: 'https://github.com/o/r', path: '.github/workflows/release.yml' } },
          resolvedDependencies: [{ uri: 'git+https://github.com/o/r@refs/heads/main', digest: { gitCommit: 'b'.repeat(40) } }],
        },
      }),
    ).toEqual({ url: 'https://github.com/o/r', commit: 'b'.repeat(40) });
  });
  it('names artifacts and purls like npm and OSS Rebuild', () => {
    expect(npmPurl('@scope/pkg', '1.0.0')).toBe('pkg:npm/%40scope/pkg@1.0.0');
    expect(npmArtifactName('@fortawesome/react-fontawesome', '0.2.5')).toBe('fortawesome-react-fontawesome-0.2.5.tgz');
    // Real object paths (google/oss-rebuild analyzer tests, carabiner-dev ossrebuild collector tests).
    expect(rebuildAttestationUrl(undefined, '@tanstack/vue-virtual', '3.5.0')).toBe(
      'https://storage.googleapis.com/google-rebuild-attestations/npm/@tanstack/vue-virtual/3.5.0/tanstack-vue-virtual-3.5.0.tgz/rebuild.intoto.jsonl',
    );
    expect(rebuildAttestationUrl(undefined, 'binary-extensions', '2.3.0')).toBe(
      'https://storage.googleapis.com/google-rebuild-attestations/npm/binary-extensions/2.3.0/binary-extensions-2.3.0.tgz/rebuild.intoto.jsonl',
    );
    expect(rebuildAttestationUrl('http://h/base/', '@scope/pkg', '1.0.0')).toBe('http://h/base/npm/@scope/pkg/1.0.0/scope-pkg-1.0.0.tgz/rebuild.intoto.jsonl');
    expect(sha512Hex('sha1-abc sha512-KCwMX6k20mQ=')).toBe('282c0c5fa936d264');
  });
});

describe('progress', () => {
  it('draws on a TTY, prints plain lines elsewhere', () => {
    const written: string[] = [];
    const tty = { isTTY: true, columns: 80, write: (s: string) => (written.push(s), true) };
    const bar = createProgressBar(tty, 0)!;
    bar(1, 2);
    bar(2, 2);
    expect(written.at(-1)).toBe(`\r${renderProgress(2, 2, 40)}\n`);
    const plain: string[] = [];
    createProgressBar({ isTTY: false, write: (s: string) => (plain.push(s), true) })(1, 2);
    expect(plain).toEqual(['provenance-guard: evidence 1/2 packages\n']);
  });
});

describe('Fulcio certificate identity', () => {
  const oid = (s: string) => ({ id: s.split('.').map(Number) });
  const der = (s: string) => {
    const body = Buffer.from(s);
    return Buffer.concat([Buffer.from([0x0c, body.length]), body]);
  };
  it('reads the DER-encoded v2 source repository extensions', async () => {
    const { certificateSource } = await import('../src/evidence/provenance');
    expect(
      certificateSource([
        { oid: oid('1.3.6.1.4.1.57264.1.8'), value: der('https://token.actions.githubusercontent.com') },
        { oid: oid('1.3.6.1.4.1.57264.1.12'), value: der('https://github.com/o/r') },
        { oid: oid('1.3.6.1.4.1.57264.1.13'), value: der('9'.repeat(40)) },
      ]),
    ).toEqual({ url: 'https://github.com/o/r', commit: '9'.repeat(40) });
  });
  it('reads the legacy raw GitHub extensions only for the GitHub Actions issuer', async () => {
    const { certificateSource } = await import('../src/evidence/provenance');
    const legacy = (issuer: string) => [
      { oid: oid('1.3.6.1.4.1.57264.1.1'), value: Buffer.from(issuer) },
      { oid: oid('1.3.6.1.4.1.57264.1.5'), value: Buffer.from('o/r') },
      { oid: oid('1.3.6.1.4.1.57264.1.3'), value: Buffer.from('8'.repeat(40)) },
    ];
    expect(certificateSource(legacy('https://token.actions.githubusercontent.com'))).toEqual({ url: 'https://github.com/o/r', commit: '8'.repeat(40) });
    expect(certificateSource(legacy('https://accounts.example.com')).url).toBeUndefined();
  });
});

describe('the source a verified provenance attests (agreedSource)', () => {
  const A = 'a'.repeat(40);
  const B = 'b'.repeat(40);
  const warning = (check: ReturnType<typeof agreedSource>) => ('warning' in check ? check.warning : undefined);
  it('is the repository the signing certificate names, never the predicate alone', () => {
    expect(warning(agreedSource('p@1.0.0', { url: 'https://github.com/o/r', commit: A }, {}))).toMatch(/p@1\.0\.0: the signing certificate names no source repository/);
    expect(agreedSource('p@1.0.0', undefined, { url: 'https://github.com/o/r', commit: A })).toEqual({ attested: { url: 'https://github.com/o/r', commit: A } });
    expect(agreedSource('p@1.0.0', undefined, { url: 'https://github.com/o/r' })).toEqual({ attested: { url: 'https://github.com/o/r' } });
  });
  it('with a predicate, only when repository and commit agree; a commit only one of them names is that one', () => {
    expect(warning(agreedSource('p@1.0.0', { url: 'https://github.com/evil/r' }, { url: 'https://github.com/o/r' }))).toMatch(/names https:\/\/github\.com\/evil\/r but the certificate was issued to https:\/\/github\.com\/o\/r/);
    expect(warning(agreedSource('p@1.0.0', { url: 'https://github.com/o/r', commit: A }, { url: 'https://github.com/o/r', commit: B }))).toMatch(/commit a{40} differs from the certificate's b{40}/);
    expect(agreedSource('p@1.0.0', { url: 'https://github.com/O/R.git' }, { url: 'https://github.com/o/r', commit: B })).toEqual({ attested: { url: 'https://github.com/o/r', commit: B } });
    expect(agreedSource('p@1.0.0', { url: 'https://github.com/o/r', commit: A }, { url: 'https://github.com/o/r' })).toEqual({ attested: { url: 'https://github.com/o/r', commit: A } });
    expect(agreedSource('p@1.0.0', { url: 'https://github.com/o/r', commit: A }, { url: 'https://github.com/o/r', commit: A })).toEqual({ attested: { url: 'https://github.com/o/r', commit: A } });
  });
  it('reads SLSA v0.2 provenance: the config source, else the first material; another predicate type names nothing', () => {
    expect(predicateSource('https://slsa.dev/provenance/v0.2', { invocation: { configSource: { uri: 'git+https://github.com/o/r@refs/heads/main', digest: { sha1: A } } } })).toEqual({ url: 'https://github.com/o/r', commit: A });
    expect(predicateSource('https://slsa.dev/provenance/v0.2', { materials: [{ uri: 'git+https://github.com/o/r@refs/tags/v1', digest: { sha1: B } }] })).toEqual({ url: 'https://github.com/o/r', commit: B });
    expect(predicateSource('https://slsa.dev/provenance/v0.2', { invocation: {} })).toBeUndefined();
    expect(predicateSource('https://slsa.dev/provenance/v1', { buildDefinition: { resolvedDependencies: [{ uri: 'git+https://github.com/o/r@refs/heads/main', digest: { sha1: A } }] } })).toEqual({ url: 'https://github.com/o/r', commit: A });
    expect(predicateSource('https://example.com/other-predicate', { invocation: { configSource: { uri: 'git+https://github.com/o/r' } } })).toBeUndefined();
    expect(predicateSource('https://slsa.dev/provenance/v0.2', 'not a predicate')).toBeUndefined();
    expect(predicateSource('https://example.com/other-predicate', { buildDefinition: { externalParameters: { workflow: { repository: 'https://github.com/o/r' } } } })).toBeUndefined();
  });
});

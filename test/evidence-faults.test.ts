/**
 * Evidence sources that are down or answer nonsense cost seconds, not minutes, and never
 * leave a cached non-answer: against local fault servers (a port that accepts connections
 * and never answers, a host under .invalid, HTML and `{}` answering 200).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourcesConfig } from '../src/config/types';
import type { GatherOptions } from '../src/evidence/index';
import { isRetryable } from '../src/evidence/http';
import { rebuildAttestationUrl } from '../src/evidence/oss-rebuild';
import type { ResolvedPackage } from '../src/types';
import { evidenceHarness, registryOnly } from './helpers/evidence-gather';
import { manifest, packument, sriSha512, startEvidenceServer, type EvidenceServer } from './helpers/evidence-servers';

let server: EvidenceServer;
let blackHole: { url: string; connections: number; close(): Promise<void> };
const harness = evidenceHarness('pg-evfault-');
const { tmp } = harness;

/** Accepts every connection and never says a word. */
async function startBlackHole(): Promise<typeof blackHole> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const tcp: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
  const { port } = tcp.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      tcp.close(() => resolve());
    }),
  };
}

beforeAll(async () => {
  server = await startEvidenceServer();
  blackHole = await startBlackHole();
});
afterAll(async () => {
  await server.close();
  await blackHole.close();
});

function gather(packages: ResolvedPackage[], over: Partial<SourcesConfig>, extra: Partial<GatherOptions> = {}) {
  return harness.gather(packages, registryOnly(server.url, { timeout: 400, ...over }), { retry: { retries: 3, minDelay: 300, maxDelay: 2000 }, ...extra });
}

const INTEGRITY = sriSha512(Buffer.from('fixture'));
function registryPackages(prefix: string, count: number): ResolvedPackage[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}-${i}`;
    server.set(`/${name}`, { body: packument(name, [manifest(name, '1.0.0', { repository: `o/${name}` }, { integrity: INTEGRITY, tarball: `${server.url}/${name}/-/${name}-1.0.0.tgz` })]) });
    return { name, version: '1.0.0', source: 'registry', integrity: INTEGRITY };
  });
}

describe('a source that is down', () => {
  it('a server that accepts connections and never answers: the breaker drops queued lookups, the run ends in seconds', async () => {
    const packages = registryPackages('pg-hole', 40);
    const started = Date.now();
    const { records, warnings } = await gather(packages, { depsDev: { enabled: true, url: blackHole.url } });
    const elapsed = Date.now() - started;
    // Registry evidence is all there; deps.dev is given up on once, naming the setting that turns it off.
    expect(records.filter((r) => r.repository?.status === 'claimed')).toHaveLength(40);
    const down = warnings.filter((w) => /skipping depsDev for the rest of this run/.test(w));
    expect(down).toHaveLength(1);
    expect(down[0]).toContain('sources.depsDev.enabled: false');
    expect(down[0]).toMatch(/no response from .* within 400 ms/);
    // 4 at a time, 5 failed requests take it down: a handful of connections, not one per package and retry.
    expect(blackHole.connections).toBeLessThanOrEqual(12);
    expect(elapsed).toBeLessThan(6000);
  });

  it('a host that does not resolve is given up on at its first failure, without retries, naming ENOTFOUND and the host', async () => {
    const packages = registryPackages('pg-dns', 12);
    const started = Date.now();
    const { records, warnings } = await gather(packages, { depsDev: { enabled: true, url: 'http://deps-dev.invalid' } }, { retry: { retries: 3, minDelay: 2000 } });
    expect(Date.now() - started).toBeLessThan(2000); // one retry would wait 2 s
    expect(records.filter((r) => r.repository)).toHaveLength(12);
    const depsDev = warnings.filter((w) => w.startsWith('depsDev'));
    expect(depsDev.length).toBeGreaterThanOrEqual(1);
    expect(depsDev.length).toBeLessThanOrEqual(4); // the lookups already in flight at most
    const down = depsDev.find((w) => w.includes('skipping depsDev'))!;
    expect(down).toMatch(/(ENOTFOUND|EAI_AGAIN) deps-dev\.invalid/);
    expect(down).toContain('sources.depsDev.enabled: false');
  });

  it('the registry itself under .invalid: down at once, evidence unknown, no retries', async () => {
    const started = Date.now();
    const { records, warnings } = await gather(
      [{ name: 'pg-a', version: '1.0.0', source: 'registry' }, { name: 'pg-b', version: '1.0.0', source: 'registry' }],
      { registry: { enabled: true, url: 'http://registry.invalid/' } },
      { retry: { retries: 3, minDelay: 2000 } },
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(records).toEqual([{ name: 'pg-a', version: '1.0.0' }, { name: 'pg-b', version: '1.0.0' }]);
    expect(warnings.join('\n')).toMatch(/registry: cannot resolve the host .*registry\.invalid.*sources\.registry\.enabled: false/);
  });

  it('DNS failures are not retryable', () => {
    const dns = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(`getaddrinfo ${code} x.invalid`), { code, hostname: 'x.invalid' }) });
    expect(isRetryable(dns('ENOTFOUND'))).toBe(false);
    expect(isRetryable(dns('EAI_AGAIN'))).toBe(false);
    expect(isRetryable(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }))).toBe(true);
  });
});

describe('a 200 that is not the service\'s answer is malformed and never cached', () => {
  const cases: Array<[string, (name: string) => { path: string; over: Partial<SourcesConfig> }]> = [
    ['deps.dev GetVersion', (name) => ({ path: `/v3/systems/npm/packages/${name}/versions/1.0.0`, over: { depsDev: { enabled: true, url: server.url } } })],
    ['npm provenance', (name) => ({ path: `/-/npm/v1/attestations/${name}@1.0.0`, over: { provenance: { enabled: true, url: server.url } } })],
    ['OSS Rebuild', (name) => ({ path: new URL(rebuildAttestationUrl(server.url, name, '1.0.0')).pathname, over: { ossRebuild: { enabled: true, url: server.url } } })],
    ['Scorecard', () => ({ path: '/projects/github.com/o/REPO', over: { scorecard: { enabled: true, url: server.url } } })],
  ];
  for (const [source, where] of cases) {
    for (const [label, body] of [['HTML', '<!doctype html><html><body>Sign in</body></html>'], ['{}', {}]] as const) {
      it(`${source}: ${label}`, async () => {
        const [pkg] = registryPackages(`pg-malformed-${source.replace(/\W+/g, '').toLowerCase()}-${label === 'HTML' ? 'h' : 'e'}`, 1);
        const { path, over } = where(pkg!.name);
        const scorePath = path.replace('REPO', pkg!.name);
        server.set(scorePath, { body, ...(label === 'HTML' ? { headers: { 'content-type': 'text/html' } } : {}) });
        const cacheDir = tmp();
        const first = await gather([pkg!], { ...over, cacheTtl: 86_400_000 }, { cacheDir });
        expect(first.warnings.join('\n')).toMatch(/malformed response/);
        const hits = server.hits(scorePath);
        expect(hits).toBe(1);
        // Asked again on the next run: the non-answer was not cached for a day.
        const second = await gather([pkg!], { ...over, cacheTtl: 86_400_000 }, { cacheDir });
        expect(server.hits(scorePath)).toBe(2);
        expect(second.warnings.join('\n')).toMatch(/malformed response/);
      });
    }
  }

  it('the registry: a `{}` packument', async () => {
    server.set('/pg-empty-packument', { body: {} });
    const { records, warnings } = await gather([{ name: 'pg-empty-packument', version: '1.0.0', source: 'registry' }], {});
    expect(records).toEqual([{ name: 'pg-empty-packument', version: '1.0.0' }]);
    expect(warnings.join('\n')).toMatch(/malformed response .*not a packument/);
  });
});

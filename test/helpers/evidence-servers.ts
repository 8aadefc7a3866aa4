/**
 * Local stand-ins for the evidence services on 127.0.0.1: a programmable HTTP server
 * (per-path replies, sequences such as 429-then-200, delays for timeouts) plus builders
 * for the services' real response shapes (npm packument and attestations, deps.dev v3,
 * Scorecard, OSS Rebuild DSSE lines). Fixtures come from the services' own test data.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'evidence');

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON. */
  body?: string | Buffer | object;
  /** Wait this long before answering (for timeouts). */
  delayMs?: number;
}

/** A fixed reply, a sequence (the last one repeats), or a function of the request. */
export type Handler = Reply | Reply[] | ((req: IncomingMessage) => Reply | Promise<Reply>);

export interface SeenRequest {
  path: string;
  headers: IncomingMessage['headers'];
}

export interface EvidenceServer {
  url: string;
  set(path: string, handler: Handler): void;
  hits(path: string): number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export async function startEvidenceServer(): Promise<EvidenceServer> {
  const routes = new Map<string, Handler>();
  const counts = new Map<string, number>();
  const requests: SeenRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push({ path, headers: req.headers });
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    const handler = routes.get(path);
    let reply: Reply;
    if (handler === undefined) reply = { status: 404, body: { error: 'Not found' } };
    else if (typeof handler === 'function') reply = await handler(req);
    else if (Array.isArray(handler)) reply = handler[Math.min(n, handler.length - 1)]!;
    else reply = handler;
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (res.destroyed) return;
    const body = reply.body === undefined ? '' : typeof reply.body === 'string' || Buffer.isBuffer(reply.body) ? reply.body : JSON.stringify(reply.body);
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.body !== undefined && typeof reply.body === 'object' && !Buffer.isBuffer(reply.body)) headers['content-type'] ??= 'application/json';
    res.writeHead(reply.status ?? 200, headers);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (path, handler) => {
      routes.set(path, handler);
      counts.delete(path);
    },
    hits: (path) => counts.get(path) ?? 0,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
}

/** A full packument (`_id, name, dist-tags, versions, time`) around version manifests. */
export function packument(name: string, manifests: Array<Record<string, unknown>>): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  const time: Record<string, string> = {};
  for (const m of manifests) {
    versions[String(m.version)] = m;
    time[String(m.version)] = '2023-01-11T17:31:57.000Z';
  }
  return { _id: name, name, 'dist-tags': { latest: String(manifests[manifests.length - 1]!.version) }, versions, time };
}

/** A manifest in the registry's shape: package.json fields plus `_id` and `dist`. */
export function manifest(name: string, version: string, fields: Record<string, unknown>, dist: Record<string, unknown>): Record<string, unknown> {
  return { name, version, ...fields, _id: `${name}@${version}`, dist };
}

/** The registry path npm-registry-fetch requests for a package name. */
export function packumentPath(name: string): string {
  return `/${name.replace('/', '%2f')}`;
}

/** sigstore@0.4.0 as the npm registry serves it (mirror copy + the `dist.attestations` the mirror strips). */
export function sigstoreManifest(registryUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const real = readFixture<Record<string, unknown>>('sigstore-0.4.0.manifest.json');
  const dist = { ...(real.dist as Record<string, unknown>) };
  dist.attestations = {
    url: `${registryUrl}/-/npm/v1/attestations/sigstore@0.4.0`,
    provenance: { predicateType: 'https://slsa.dev/provenance/v0.2' },
  };
  return { ...real, ...overrides, dist: { ...dist, ...(overrides.dist as Record<string, unknown> | undefined) } };
}

/** The real attestations response for sigstore@0.4.0 (npm/pacote test/fixtures/sigstore/valid-attestations.json). */
export function sigstoreAttestations(): { attestations: Array<{ predicateType: string; bundle: Record<string, unknown> }> } {
  return readFixture('sigstore-0.4.0-attestations.json');
}

/** ossf/scorecard pkg/scorecard/testdata/check1.json. */
export function scorecardCheck1(): Record<string, unknown> {
  return readFixture('scorecard-check1.json');
}

export interface SigningKey {
  privateKey: KeyObject;
  publicPem: string;
}

export function p256Key(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** One line of rebuild.intoto.jsonl: a DSSE envelope signed like OSS Rebuild signs (ECDSA P-256, DER). */
export function dsseLine(statement: unknown, key: KeyObject, keyid = 'gcpkms://projects/oss-rebuild/locations/global/keyRings/ring/cryptoKeys/signing-key/cryptoKeyVersions/1'): string {
  const payloadType = 'application/vnd.in-toto+json';
  const payload = Buffer.from(JSON.stringify(statement));
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `), payload]);
  const sig = sign('sha256', pae, { key, dsaEncoding: 'der' });
  return JSON.stringify({ payloadType, payload: payload.toString('base64'), signatures: [{ keyid, sig: sig.toString('base64') }] });
}

/** An ArtifactEquivalence@v0.1 statement (google/oss-rebuild docs/content/builds/ArtifactEquivalence@v0.1.md). */
export function artifactEquivalenceStatement(artifact: string, upstreamSha256: string, target: string): Record<string, unknown> {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: artifact, digest: { sha256: upstreamSha256 } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://docs.oss-rebuild.dev/builds/ArtifactEquivalence@v0.1',
        externalParameters: { candidate: `rebuild/${artifact}`, target },
        internalParameters: {
          serviceSource: { ref: 'v0.0.0-202501010000-feeddeadbeef00', repository: 'https://github.com/google/oss-rebuild' },
        },
        resolvedDependencies: [
          { name: `rebuild/${artifact}`, digest: { sha256: upstreamSha256 } },
          { name: target, digest: { sha256: upstreamSha256 } },
        ],
      },
      runDetails: {
        byproducts: [{ name: `stabilized/${artifact}`, digest: { sha256: upstreamSha256 } }],
      },
    },
  };
}

/** A Rebuild@v0.1 statement naming the source repository (docs/content/builds/Rebuild@v0.1.md). */
export function rebuildStatement(artifact: string, rebuiltSha256: string, repo: string, commit: string): Record<string, unknown> {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: `rebuild/${artifact}`, digest: { sha256: rebuiltSha256 } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://docs.oss-rebuild.dev/builds/Rebuild@v0.1',
        externalParameters: { artifact, ecosystem: 'npm', package: artifact.replace(/-[^-]+\.tgz$/, ''), version: '1.0.0' },
        resolvedDependencies: [{ name: `git+${repo}`, digest: { sha1: commit } }],
      },
    },
  };
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sriSha512(data: Buffer): string {
  return 'sha512-' + createHash('sha512').update(data).digest('base64');
}

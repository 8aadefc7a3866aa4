/**
 * OSS Rebuild attestations: `<base>/npm/<name>/<version>/<name>-<version>.tgz/rebuild.intoto.jsonl`,
 * one DSSE envelope per line, each signed (ECDSA P-256, SHA-256, DER signature over the DSSE
 * pre-authentication encoding) by OSS Rebuild's key. An `ArtifactEquivalence@v0.1` statement
 * whose subject digest is the upstream tarball's (google/oss-rebuild docs/content/builds/)
 * makes the version `reproducible`.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { arrayOf, isRecord, stringOf } from './http';
import { normalizeCommit, normalizeRepositoryUrl } from './repository';

export const DEFAULT_OSS_REBUILD_URL = 'https://storage.googleapis.com/google-rebuild-attestations';

/** OSS Rebuild's signing key (google/oss-rebuild cmd/oss-rebuild/verify.go). */
export const OSS_REBUILD_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXkyL5IFxz/Hg6DwUy0HBumXcMxt9
nQSECAK6r262hPwIzjd6LpE7IPlUbwgheE87vU8EUE9tsS02MShFZGo1gg==
-----END PUBLIC KEY-----
`;

export const ARTIFACT_EQUIVALENCE = 'https://docs.oss-rebuild.dev/builds/ArtifactEquivalence@v0.1';
export const REBUILD = 'https://docs.oss-rebuild.dev/builds/Rebuild@v0.1';
const IN_TOTO_PAYLOAD = 'application/vnd.in-toto+json';

/**
 * The artifact segment OSS Rebuild uses for npm: `<name>-<version>.tgz`, a scoped name
 * flattened to `scope-name` (e.g. `npm/@fortawesome/react-fontawesome/0.2.5/
 * fortawesome-react-fontawesome-0.2.5.tgz`, google/oss-rebuild analyzer tests).
 */
export function npmArtifactName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

export function rebuildAttestationUrl(baseUrl: string | undefined, name: string, version: string): string {
  const segments = ['npm', ...name.split('/'), version, npmArtifactName(name, version), 'rebuild.intoto.jsonl'];
  const path = segments.map((s) => encodeURIComponent(s).replace(/^%40/, '@')).join('/');
  return `${(baseUrl || DEFAULT_OSS_REBUILD_URL).replace(/\/+$/, '')}/${path}`;
}

/** DSSE v1 pre-authentication encoding. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

function decodeBase64(value: string): Buffer {
  return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export function loadRebuildKeys(pems: readonly string[]): KeyObject[] {
  return pems.map((pem) => createPublicKey(pem));
}

export interface EquivalenceClaim {
  /** Upstream artifact file name the statement names. */
  subject: string;
  /** Digests by algorithm, lower-case hex. */
  digest: Record<string, string>;
}

export interface RebuildAttestations {
  /** ArtifactEquivalence statements with a valid signature. */
  equivalences: EquivalenceClaim[];
  /** The source repository and commit a valid Rebuild statement names. */
  source?: { url: string; commit?: string };
  warnings: string[];
}

function verifyEnvelope(envelope: Record<string, unknown>, keys: readonly KeyObject[]): Buffer | undefined {
  const payloadType = stringOf(envelope.payloadType);
  const payloadText = stringOf(envelope.payload);
  if (payloadType !== IN_TOTO_PAYLOAD || !payloadText) return undefined;
  const payload = decodeBase64(payloadText);
  const pae = preAuthEncoding(payloadType, payload);
  for (const signature of arrayOf(envelope.signatures)) {
    const sig = isRecord(signature) ? stringOf(signature.sig) : undefined;
    if (!sig) continue;
    const bytes = decodeBase64(sig);
    for (const key of keys) {
      try {
        if (verifySignature('sha256', pae, { key, dsaEncoding: 'der' }, bytes)) return payload;
      } catch {
        // A malformed signature is just not a valid one.
      }
    }
  }
  return undefined;
}

/** Reads a rebuild.intoto.jsonl body; never throws. */
export function parseRebuildAttestations(body: string, keys: readonly KeyObject[], id: string): RebuildAttestations {
  const out: RebuildAttestations = { equivalences: [], warnings: [] };
  const lines = body.split('\n').map((l) => l.trim()).filter(Boolean);
  for (const [index, line] of lines.entries()) {
    let envelope: unknown;
    try {
      envelope = JSON.parse(line);
    } catch {
      out.warnings.push(`oss-rebuild: ${id}: line ${index + 1} of the attestations is not JSON`);
      continue;
    }
    if (!isRecord(envelope)) {
      out.warnings.push(`oss-rebuild: ${id}: line ${index + 1} is not a DSSE envelope`);
      continue;
    }
    const payload = verifyEnvelope(envelope, keys);
    if (!payload) {
      out.warnings.push(`oss-rebuild: ${id}: attestation ${index + 1} has no valid OSS Rebuild signature; ignored`);
      continue;
    }
    let statement: unknown;
    try {
      statement = JSON.parse(payload.toString('utf8'));
    } catch {
      out.warnings.push(`oss-rebuild: ${id}: attestation ${index + 1} holds no readable in-toto statement`);
      continue;
    }
    if (!isRecord(statement) || !isRecord(statement.predicate)) continue;
    const definition = isRecord(statement.predicate.buildDefinition) ? statement.predicate.buildDefinition : {};
    const buildType = stringOf(definition.buildType);
    if (buildType === ARTIFACT_EQUIVALENCE) {
      for (const subject of arrayOf(statement.subject)) {
        if (!isRecord(subject) || !isRecord(subject.digest)) continue;
        const digest: Record<string, string> = {};
        for (const [alg, value] of Object.entries(subject.digest)) if (typeof value === 'string') digest[alg.toLowerCase()] = value.toLowerCase();
        out.equivalences.push({ subject: stringOf(subject.name) ?? '', digest });
      }
    } else if (buildType === REBUILD) {
      const dependency = arrayOf(definition.resolvedDependencies).find(
        (d) => isRecord(d) && typeof d.name === 'string' && d.name.startsWith('git+'),
      );
      if (isRecord(dependency)) {
        const url = normalizeRepositoryUrl(String(dependency.name));
        const commit = normalizeCommit(isRecord(dependency.digest) ? dependency.digest.sha1 : undefined);
        if (url) out.source = commit ? { url, commit } : { url };
      }
    }
  }
  return out;
}

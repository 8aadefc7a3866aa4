/**
 * npm provenance: the registry's attestations document for name@version, its SLSA
 * provenance bundle verified with Sigstore (certificate chain to Fulcio, CT and Rekor
 * inclusion, DSSE signature) against the trust root, the in-toto subject bound to this
 * package (purl and sha512 = dist.integrity), and the source repository and commit read
 * from the predicate and required to agree with the signing certificate.
 */
import type { TrustMaterial } from '@sigstore/verify';
import { arrayOf, isRecord, stringOf } from './http';
import { normalizeCommit, normalizeRepositoryUrl, sameRepository } from './repository';

export interface AttestedSource {
  url: string;
  commit?: string;
}

export interface ProvenanceOutcome {
  /** Set only when a bundle verified and is bound to this package. */
  attested?: AttestedSource;
  /** Why provenance that was present did not count. */
  warnings: string[];
}

const SLSA_PREFIX = 'https://slsa.dev/provenance/';

// Fulcio certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
const OID_GITHUB_WORKFLOW_SHA = '1.3.6.1.4.1.57264.1.3';
const OID_GITHUB_WORKFLOW_REPOSITORY = '1.3.6.1.4.1.57264.1.5';
const OID_SOURCE_REPOSITORY_URI = '1.3.6.1.4.1.57264.1.12';
const OID_SOURCE_REPOSITORY_DIGEST = '1.3.6.1.4.1.57264.1.13';
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';

/** The purl npm signs for a registry package: `pkg:npm/%40scope/name@version`. */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

/** Hex sha512 of an SRI string; undefined when it has no sha512. */
export function sha512Hex(integrity: string | undefined): string | undefined {
  if (!integrity) return undefined;
  for (const part of integrity.trim().split(/\s+/)) {
    const match = /^sha512-([A-Za-z0-9+/=]+)(\?.*)?$/.exec(part);
    if (match) return Buffer.from(match[1]!, 'base64').toString('hex');
  }
  return undefined;
}

/** Decodes an extension value: the v2 OIDs hold a DER UTF8String, the legacy ones raw bytes. */
function extensionString(value: Uint8Array): string {
  const bytes = Buffer.from(value);
  if (bytes[0] === 0x0c && bytes.length >= 2) {
    let length = bytes[1]!;
    let offset = 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i++) length = (length << 8) | bytes[2 + i]!;
      offset = 2 + count;
    }
    if (offset + length === bytes.length) return bytes.subarray(offset).toString('utf8');
  }
  return bytes.toString('utf8');
}

export interface CertificateSource {
  url?: string;
  commit?: string;
}

export function certificateSource(oids: ReadonlyArray<{ oid?: { id?: number[] }; value: Uint8Array }> | undefined): CertificateSource {
  const find = (oid: string) => {
    const entry = oids?.find((o) => o.oid?.id?.join('.') === oid);
    return entry ? extensionString(entry.value) : undefined;
  };
  const source: CertificateSource = {};
  const uri = find(OID_SOURCE_REPOSITORY_URI);
  const legacyRepo = find(OID_GITHUB_WORKFLOW_REPOSITORY);
  const issuer = find(OID_ISSUER_V1);
  const url = uri ? normalizeRepositoryUrl(uri) : legacyRepo && issuer === 'https://token.actions.githubusercontent.com' ? `https://github.com/${legacyRepo}` : undefined;
  if (url) source.url = url;
  const commit = normalizeCommit(find(OID_SOURCE_REPOSITORY_DIGEST)) ?? normalizeCommit(find(OID_GITHUB_WORKFLOW_SHA));
  if (commit) source.commit = commit;
  return source;
}

/** `git+https://host/owner/repo@refs/tags/v1` → `https://host/owner/repo`. */
function repositoryFromGitUri(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  let value = uri.replace(/^git\+/, '');
  const scheme = value.indexOf('://');
  const pathStart = value.indexOf('/', scheme >= 0 ? scheme + 3 : 0);
  const at = pathStart >= 0 ? value.indexOf('@', pathStart) : -1;
  if (at > 0) value = value.slice(0, at);
  return normalizeRepositoryUrl(value);
}

/** The source repository and commit a SLSA provenance predicate (v0.2 or v1) names. */
export function predicateSource(predicateType: string, predicate: unknown): AttestedSource | undefined {
  if (!isRecord(predicate)) return undefined;
  let url: string | undefined;
  let commit: string | undefined;
  if (predicateType === 'https://slsa.dev/provenance/v0.2') {
    const invocation = isRecord(predicate.invocation) ? predicate.invocation : {};
    const config = isRecord(invocation.configSource) ? invocation.configSource : {};
    url = repositoryFromGitUri(stringOf(config.uri));
    commit = normalizeCommit(isRecord(config.digest) ? config.digest.sha1 : undefined);
    const material = arrayOf(predicate.materials).find(isRecord);
    url ??= repositoryFromGitUri(stringOf(material?.uri));
    commit ??= normalizeCommit(isRecord(material?.digest) ? material.digest.sha1 : undefined);
  } else if (predicateType === 'https://slsa.dev/provenance/v1') {
    const definition = isRecord(predicate.buildDefinition) ? predicate.buildDefinition : {};
    const external = isRecord(definition.externalParameters) ? definition.externalParameters : {};
    const workflow = isRecord(external.workflow) ? external.workflow : {};
    const repo = stringOf(workflow.repository);
    url = repo ? normalizeRepositoryUrl(repo) : undefined;
    const dependency = arrayOf(definition.resolvedDependencies).find(isRecord);
    url ??= repositoryFromGitUri(stringOf(dependency?.uri));
    const digest = isRecord(dependency?.digest) ? dependency.digest : {};
    commit = normalizeCommit(digest.gitCommit) ?? normalizeCommit(digest.sha1);
  } else {
    return undefined;
  }
  if (!url) return undefined;
  return commit ? { url, commit } : { url };
}

function decodeStatement(bundle: Record<string, unknown>): Record<string, unknown> | undefined {
  const envelope = isRecord(bundle.dsseEnvelope) ? bundle.dsseEnvelope : undefined;
  const payload = stringOf(envelope?.payload);
  if (!payload) return undefined;
  try {
    const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as unknown;
    return isRecord(statement) ? statement : undefined;
  } catch {
    return undefined;
  }
}

function subjectMatches(statement: Record<string, unknown>, purl: string, digestHex: string): { ok: boolean; signedFor?: string } {
  const subjects = arrayOf(statement.subject).filter(isRecord);
  for (const subject of subjects) {
    const name = stringOf(subject.name)?.split('?')[0];
    const digest = isRecord(subject.digest) ? stringOf(subject.digest.sha512)?.toLowerCase() : undefined;
    if (name === purl && digest === digestHex) return { ok: true };
  }
  const first = subjects[0];
  const signedFor = first ? `${stringOf(first.name) ?? '?'} (sha512 ${(isRecord(first.digest) ? stringOf(first.digest.sha512) : undefined)?.slice(0, 16) ?? '?'}…)` : 'no subject';
  return { ok: false, signedFor };
}

/**
 * Evaluates an attestations document (`{attestations: [{predicateType, bundle}]}`) for
 * name@version with the given integrity. Never throws for bad input: what does not verify
 * is reported in `warnings` and does not attest.
 */
export function evaluateAttestations(
  document: unknown,
  pkg: { name: string; version: string; integrity?: string },
  trust: TrustMaterial,
): ProvenanceOutcome {
  const id = `${pkg.name}@${pkg.version}`;
  const warnings: string[] = [];
  if (!isRecord(document) || !Array.isArray(document.attestations)) {
    return { warnings: [`provenance: ${id}: the attestations response is not the expected {attestations: [...]} document`] };
  }
  const provenance = document.attestations.filter(
    (a): a is Record<string, unknown> => isRecord(a) && (stringOf(a.predicateType)?.startsWith(SLSA_PREFIX) ?? false),
  );
  if (provenance.length === 0) return { warnings };
  const digestHex = sha512Hex(pkg.integrity);
  if (!digestHex) return { warnings: [`provenance: ${id}: no sha512 integrity to bind the provenance to; not counted as attested`] };
  const purl = npmPurl(pkg.name, pkg.version);

  for (const attestation of provenance) {
    const checked = checkAttestation(attestation, { id, purl, digestHex }, trust);
    if ('warning' in checked) warnings.push(checked.warning);
    else return { attested: checked.attested, warnings };
  }
  return { warnings };
}

export type AttestationCheck = { attested: AttestedSource } | { warning: string };

/** One SLSA attestation: bound to this package and integrity, Sigstore-verified, one repository named consistently. */
function checkAttestation(attestation: Record<string, unknown>, target: { id: string; purl: string; digestHex: string }, trust: TrustMaterial): AttestationCheck {
  const { id, purl, digestHex } = target;
  const predicateType = stringOf(attestation.predicateType)!;
  const bundleJson = attestation.bundle;
  if (!isRecord(bundleJson)) return { warning: `provenance: ${id}: attestation without a bundle` };
  const statement = decodeStatement(bundleJson);
  if (!statement) return { warning: `provenance: ${id}: the provenance envelope holds no readable in-toto statement` };
  const subject = subjectMatches(statement, purl, digestHex);
  if (!subject.ok) return { warning: `provenance: ${id}: the provenance was signed for ${subject.signedFor}, not for ${purl} with this integrity; not counted as attested` };
  if (stringOf(statement.predicateType) !== predicateType) return { warning: `provenance: ${id}: the statement's predicate type differs from the advertised ${predicateType}` };
  const { Verifier, toSignedEntity } = require('@sigstore/verify') as typeof import('@sigstore/verify');
  const { bundleFromJSON } = require('@sigstore/bundle') as typeof import('@sigstore/bundle');
  let signer: ReturnType<InstanceType<typeof Verifier>['verify']>;
  try {
    signer = new Verifier(trust, { ctlogThreshold: 1, tlogThreshold: 1 }).verify(toSignedEntity(bundleFromJSON(bundleJson)));
  } catch (error) {
    return { warning: `provenance: ${id}: Sigstore verification failed (${error instanceof Error ? error.message : String(error)}); not counted as attested` };
  }
  return agreedSource(id, predicateSource(predicateType, statement.predicate), certificateSource(signer.identity?.oids));
}

/**
 * After a bundle verified: the source it attests, which the signing certificate must name (the
 * predicate, though signed, is what the build wrote about itself) and which the predicate, when it
 * names one, must agree with, repository and commit.
 */
export function agreedSource(id: string, fromPredicate: AttestedSource | undefined, fromCertificate: CertificateSource): AttestationCheck {
  if (!fromCertificate.url) return { warning: `provenance: ${id}: the signing certificate names no source repository; not counted as attested` };
  if (fromPredicate && !sameRepository(fromPredicate.url, fromCertificate.url)) {
    return { warning: `provenance: ${id}: the predicate names ${fromPredicate.url} but the certificate was issued to ${fromCertificate.url}; not counted as attested` };
  }
  if (fromPredicate?.commit && fromCertificate.commit && fromPredicate.commit !== fromCertificate.commit) {
    return { warning: `provenance: ${id}: the predicate's commit ${fromPredicate.commit} differs from the certificate's ${fromCertificate.commit}; not counted as attested` };
  }
  const commit = fromCertificate.commit ?? fromPredicate?.commit;
  return { attested: commit ? { url: fromCertificate.url, commit } : { url: fromCertificate.url } };
}

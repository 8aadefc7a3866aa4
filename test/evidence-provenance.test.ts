// src/evidence/provenance.ts evaluateAttestations: the checks made on an attestations document
// before and around Sigstore's verification, with the real response the npm registry serves for
// sigstore@0.4.0 (a SLSA v0.2 provenance and npm's publish attestation) and the trust root
// shipped with @sigstore/tuf. Whatever does not check out is a warning and attests nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrustMaterial } from '@sigstore/verify';
import { certificateSource, evaluateAttestations, predicateSource, sha512Hex } from '../src/evidence/provenance';
import { loadTrustMaterial } from '../src/evidence/trust-root';
import { sigstoreAttestations } from './helpers/evidence-servers';

const PKG = { name: 'sigstore', version: '0.4.0', integrity: 'sha512-KCwMX6k20mQyFkNYG2XT3lwK9u1P36wS9YURFd85zCXPrwrSLZCEh7/vMBFNYcJXRiBtGDS+T4/RZZF493zABA==' };
const ATTESTED = { url: 'https://github.com/sigstore/sigstore-js', commit: '8a2ee2fd20dda58ffa4a8d808a65cb1e04711c03' };
const PUBLISH = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';
const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';

let trust: TrustMaterial;
beforeAll(async () => {
  trust = (await loadTrustMaterial({ source: 'bundled', timeout: 1000 })).material;
});

type Attestation = { predicateType: string; bundle: Record<string, unknown> };
const real = (): Attestation[] => sigstoreAttestations().attestations;
const provenance = (): Attestation => real().find((a) => a.predicateType === SLSA_V02)!;
const publish = (): Attestation => real().find((a) => a.predicateType === PUBLISH)!;

/** The provenance attestation with its DSSE envelope's payload replaced (the signature then no longer covers it). */
function withPayload(payload: string | undefined): Attestation {
  const attestation = provenance();
  const envelope = { ...(attestation.bundle.dsseEnvelope as Record<string, unknown>) };
  if (payload === undefined) delete envelope.payload;
  else envelope.payload = payload;
  return { ...attestation, bundle: { ...attestation.bundle, dsseEnvelope: envelope } };
}

describe('evaluateAttestations', () => {
  it('attests the repository and commit of the real provenance', () => {
    expect(evaluateAttestations({ attestations: real() }, PKG, trust)).toEqual({ attested: ATTESTED, warnings: [] });
  });

  it('reads only SLSA provenance: npm publish attestations are passed over, wherever they are listed', () => {
    expect(evaluateAttestations({ attestations: [publish(), provenance()] }, PKG, trust)).toEqual({ attested: ATTESTED, warnings: [] });
    expect(evaluateAttestations({ attestations: ['x', null, { predicateType: 42 }, provenance()] }, PKG, trust)).toEqual({ attested: ATTESTED, warnings: [] });
  });

  it('no provenance in the document: nothing attested and nothing to warn about, whatever the integrity', () => {
    expect(evaluateAttestations({ attestations: [publish()] }, PKG, trust)).toStrictEqual({ warnings: [] });
    expect(evaluateAttestations({ attestations: [] }, { name: 'sigstore', version: '0.4.0' }, trust)).toStrictEqual({ warnings: [] });
  });

  it.each([[{}], [[]], [null], ['text'], [{ attestations: { 0: 'x' } }]])('a response that is not {attestations: [...]} (%j) attests nothing', (document) => {
    expect(evaluateAttestations(document, PKG, trust)).toStrictEqual({
      warnings: ['provenance: sigstore@0.4.0: the attestations response is not the expected {attestations: [...]} document'],
    });
  });

  it.each([[undefined], ['sha1-mCSqfOTLyVjxqTS1sQEZ4TW+m/4='], ['sha512-']])('without a sha512 integrity (%s) the provenance binds to nothing', (integrity) => {
    expect(evaluateAttestations({ attestations: real() }, { name: 'sigstore', version: '0.4.0', ...(integrity ? { integrity } : {}) }, trust)).toStrictEqual({
      warnings: ['provenance: sigstore@0.4.0: no sha512 integrity to bind the provenance to; not counted as attested'],
    });
  });

  it('an attestation without a bundle', () => {
    expect(evaluateAttestations({ attestations: [{ predicateType: SLSA_V02 }] }, PKG, trust)).toStrictEqual({
      warnings: ['provenance: sigstore@0.4.0: attestation without a bundle'],
    });
  });

  it.each([
    ['no payload', undefined],
    ['a payload that is not JSON', Buffer.from('not json').toString('base64')],
    ['a payload that is a JSON list', Buffer.from('[1]').toString('base64')],
  ])('an envelope with %s holds no statement', (_, payload) => {
    expect(evaluateAttestations({ attestations: [withPayload(payload)] }, PKG, trust)).toStrictEqual({
      warnings: ['provenance: sigstore@0.4.0: the provenance envelope holds no readable in-toto statement'],
    });
  });

  it('the advertised predicate type, which no signature covers, must be the signed statement\'s', () => {
    const relabelled = { ...provenance(), predicateType: 'https://slsa.dev/provenance/v1' };
    expect(evaluateAttestations({ attestations: [relabelled] }, PKG, trust)).toStrictEqual({
      warnings: ['provenance: sigstore@0.4.0: the statement\'s predicate type differs from the advertised https://slsa.dev/provenance/v1'],
    });
  });

  it('a statement signed for another package or another integrity attests nothing', () => {
    const other = evaluateAttestations({ attestations: real() }, { name: 'sigstore', version: '0.4.1', integrity: PKG.integrity }, trust);
    expect(other.attested).toBeUndefined();
    expect(other.warnings).toEqual([expect.stringMatching(/^provenance: sigstore@0\.4\.1: the provenance was signed for pkg:npm\/sigstore@0\.4\.0 \(sha512 [0-9a-f]{16}…\), not for pkg:npm\/sigstore@0\.4\.1/)]);
    const tampered = evaluateAttestations({ attestations: real() }, { ...PKG, integrity: `sha512-${Buffer.alloc(64).toString('base64')}` }, trust);
    expect(tampered.attested).toBeUndefined();
    expect(tampered.warnings[0]).toMatch(/signed for pkg:npm\/sigstore@0\.4\.0 .*not for pkg:npm\/sigstore@0\.4\.0 with this integrity/);
  });

  it('a bundle without an envelope holds no statement', () => {
    expect(evaluateAttestations({ attestations: [{ ...provenance(), bundle: { mediaType: 'x' } }] }, PKG, trust)).toStrictEqual({
      warnings: ['provenance: sigstore@0.4.0: the provenance envelope holds no readable in-toto statement'],
    });
  });

  it.each([
    ['no subject at all', {}, 'no subject'],
    ['subjects that are not objects', { subject: [null, 'pkg:npm/sigstore@0.4.0'] }, 'no subject'],
    ['a subject with neither name nor digest', { subject: [{}] }, '? (sha512 ?…)'],
    ['a subject with another digest only', { subject: [{ name: 'pkg:npm/sigstore@0.4.0', digest: { sha256: 'ab' } }] }, 'pkg:npm/sigstore@0.4.0 (sha512 ?…)'],
  ])('a statement with %s was signed for nothing this package is', (_, subject, signedFor) => {
    const statement = { _type: 'https://in-toto.io/Statement/v0.1', predicateType: SLSA_V02, predicate: {}, ...subject };
    expect(evaluateAttestations({ attestations: [withPayload(Buffer.from(JSON.stringify(statement)).toString('base64'))] }, PKG, trust)).toStrictEqual({
      warnings: [`provenance: sigstore@0.4.0: the provenance was signed for ${signedFor}, not for pkg:npm/sigstore@0.4.0 with this integrity; not counted as attested`],
    });
  });

  it('a statement changed after signing fails Sigstore verification', () => {
    const { payload } = provenance().bundle.dsseEnvelope as { payload: string };
    const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as Record<string, unknown>;
    const forged = withPayload(Buffer.from(JSON.stringify({ ...statement, predicate: { ...(statement.predicate as object), forged: true } })).toString('base64'));
    const outcome = evaluateAttestations({ attestations: [forged] }, PKG, trust);
    expect(outcome.attested).toBeUndefined();
    expect(outcome.warnings).toEqual([expect.stringMatching(/^provenance: sigstore@0\.4\.0: Sigstore verification failed \(.+\); not counted as attested$/)]);
  });
});

describe('the source a certificate names (certificateSource)', () => {
  const oid = (s: string) => ({ id: s.split('.').map(Number) });
  const utf8String = (text: string) => {
    const body = Buffer.from(text);
    const length = body.length < 0x80 ? [body.length] : body.length < 0x100 ? [0x81, body.length] : [0x82, body.length >> 8, body.length & 0xff];
    return Buffer.concat([Buffer.from([0x0c, ...length]), body]);
  };
  const uri = (value: Uint8Array) => [{ oid: oid('1.3.6.1.4.1.57264.1.12'), value }];

  it('DER UTF8Strings in short and long form', () => {
    const long = `https://github.com/owner/${'r'.repeat(150)}`;
    const longer = `https://github.com/owner/${'r'.repeat(300)}`;
    expect(certificateSource(uri(utf8String('https://github.com/owner/repo')))).toStrictEqual({ url: 'https://github.com/owner/repo' });
    expect(certificateSource(uri(utf8String(long)))).toStrictEqual({ url: long });
    expect(certificateSource(uri(utf8String(longer)))).toStrictEqual({ url: longer });
  });

  it('bytes that are no whole UTF8String are read as raw text (the legacy extensions)', () => {
    const commit = (value: Uint8Array) => certificateSource([{ oid: oid('1.3.6.1.4.1.57264.1.13'), value }]);
    expect(commit(utf8String('9'.repeat(40)))).toStrictEqual({ commit: '9'.repeat(40) });
    expect(commit(Buffer.from('9'.repeat(40)))).toStrictEqual({ commit: '9'.repeat(40) });
    // a UTF8String tag whose length is not the rest's: not decoded, and its bytes are no commit id
    expect(commit(Buffer.concat([Buffer.from([0x0c, 39]), Buffer.from('9'.repeat(40))]))).toStrictEqual({});
    expect(commit(Buffer.concat([Buffer.from([0x0c, 0x81, 41]), Buffer.from('9'.repeat(40))]))).toStrictEqual({});
    expect(certificateSource(uri(Buffer.from([0x0c])))).toStrictEqual({});
  });

  it('raw text is never read as a UTF8String because its length happens to fit', () => {
    // the legacy `owner/repo`: '/' (0x2f = 47) as the second byte of a 49-byte value
    const legacy = [
      { oid: oid('1.3.6.1.4.1.57264.1.1'), value: Buffer.from('https://token.actions.githubusercontent.com') },
      { oid: oid('1.3.6.1.4.1.57264.1.5'), value: Buffer.from(`o/${'r'.repeat(47)}`) },
    ];
    expect(certificateSource(legacy)).toStrictEqual({ url: `https://github.com/o/${'r'.repeat(47)}` });
  });

  it('no extensions, or entries without an OID, name nothing', () => {
    expect(certificateSource(undefined)).toStrictEqual({});
    expect(certificateSource([{ value: utf8String('https://github.com/owner/repo') }, { oid: {}, value: utf8String('https://github.com/owner/repo') }])).toStrictEqual({});
  });
});

describe('the source a predicate names (predicateSource)', () => {
  const A = 'a'.repeat(40);
  const v02 = (uri: string) => predicateSource(SLSA_V02, { invocation: { configSource: { uri, digest: { sha1: A } } } });

  it('a git URI without its ref, whatever its form', () => {
    expect(v02('git+https://github.com/owner/repo@refs/heads/main')).toStrictEqual({ url: 'https://github.com/owner/repo', commit: A });
    expect(v02('git+https://github.com/owner/repo')).toStrictEqual({ url: 'https://github.com/owner/repo', commit: A });
    expect(v02('https://github.com/owner/repo@refs/tags/v1')).toStrictEqual({ url: 'https://github.com/owner/repo', commit: A });
    // the user of an ssh URI is not a ref
    expect(v02('git+ssh://git@git.example.com/owner/repo@refs/heads/main')).toStrictEqual({ url: 'https://git.example.com/owner/repo', commit: A });
    expect(v02('ssh://git@git.example.com/owner/repo')).toStrictEqual({ url: 'https://git.example.com/owner/repo', commit: A });
    expect(v02('https://git.example.com/git+owner/repo')).toStrictEqual({ url: 'https://git.example.com/git+owner/repo', commit: A });
  });

  it('no predicate, or a v1 predicate without resolved dependencies', () => {
    expect(predicateSource(SLSA_V02, null)).toBeUndefined();
    expect(predicateSource('https://slsa.dev/provenance/v1', { buildDefinition: { externalParameters: { workflow: { repository: 'https://github.com/owner/repo' } } } })).toStrictEqual({
      url: 'https://github.com/owner/repo',
    });
    expect(predicateSource('https://slsa.dev/provenance/v1', { buildDefinition: { resolvedDependencies: [] } })).toBeUndefined();
  });
});

describe('sha512Hex', () => {
  const hex = 'ab'.repeat(64);
  const b64 = Buffer.from(hex, 'hex').toString('base64');
  it('the sha512 of an SRI string, options allowed', () => {
    expect(sha512Hex(`sha512-${b64}`)).toBe(hex);
    expect(sha512Hex(`sha512-${b64}?opt`)).toBe(hex);
    expect(sha512Hex(`sha1-x\tsha512-${b64}`)).toBe(hex);
  });
  it.each([[`xsha512-${b64}`], [`sha512-${b64}!`], [`sha512-${b64} ?opt`.replace(' ', '*')]])('no sha512 in %s', (integrity) => {
    expect(sha512Hex(integrity)).toBeUndefined();
  });
});

/**
 * deps.dev API v3: GetVersion (repository links and their provenance, SLSA provenances
 * deps.dev verified) and GetProject (the OpenSSF Scorecard deps.dev keeps per repository).
 * Shapes: google/deps.dev api/v3/api.proto, JSON in lowerCamel.
 */
import { arrayOf, getJson, isRecord, MalformedResponseError, stringOf, type RequestOptions } from './http';
import { normalizeCommit, normalizeRepositoryUrl } from './repository';
import { scorecardFromChecks, type ScorecardSummary } from './scorecard';

export const DEFAULT_DEPS_DEV_URL = 'https://api.deps.dev';

export interface DepsDevVersion {
  /** A repository a SLSA attestation links to this version (verified by deps.dev). */
  attested?: { url: string; commit?: string };
  /** A repository only the version's metadata names. */
  claimed?: string;
}

/** deps.dev spells repositories with or without a scheme (`github.com/o/r`). */
function repositoryUrl(value: string): string | undefined {
  return normalizeRepositoryUrl(/^[a-z][a-z0-9+.-]*:/i.test(value) ? value : `https://${value}`);
}

function base(url: string | undefined): string {
  return (url || DEFAULT_DEPS_DEV_URL).replace(/\/+$/, '');
}

export function versionUrl(baseUrl: string | undefined, name: string, version: string): string {
  return `${base(baseUrl)}/v3/systems/npm/packages/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
}

export function projectUrl(baseUrl: string | undefined, projectId: string): string {
  return `${base(baseUrl)}/v3/projects/${encodeURIComponent(projectId)}`;
}

/** Reads a GetVersion response. */
export function parseDepsDevVersion(body: unknown): DepsDevVersion {
  const out: DepsDevVersion = {};
  if (!isRecord(body)) return out;
  for (const p of arrayOf(body.slsaProvenances)) {
    if (!isRecord(p) || p.verified !== true) continue;
    const repo = stringOf(p.sourceRepository);
    const url = repo ? repositoryUrl(repo) : undefined;
    if (!url) continue;
    const commit = normalizeCommit(p.commit);
    out.attested = commit ? { url, commit } : { url };
    break;
  }
  for (const related of arrayOf(body.relatedProjects)) {
    if (!isRecord(related) || related.relationType !== 'SOURCE_REPO') continue;
    const id = isRecord(related.projectKey) ? stringOf(related.projectKey.id) : undefined;
    const url = id ? repositoryUrl(id) : undefined;
    if (!url) continue;
    if (related.relationProvenance === 'SLSA_ATTESTATION') out.attested ??= { url };
    else if (related.relationProvenance === 'UNVERIFIED_METADATA') out.claimed ??= url;
  }
  return out;
}

/** Reads the `scorecard` of a GetProject response; undefined when there is none. */
export function parseDepsDevProject(body: unknown): ScorecardSummary | undefined {
  if (!isRecord(body) || !isRecord(body.scorecard)) return undefined;
  const s = body.scorecard;
  return scorecardFromChecks(s.overallScore, s.checks, s.date);
}

export async function fetchDepsDevVersion(baseUrl: string | undefined, name: string, version: string, request: RequestOptions): Promise<DepsDevVersion | null> {
  const url = versionUrl(baseUrl, name, version);
  const body = await getJson(url, request);
  if (body === undefined) return null;
  // GetVersion always answers with the version's key: anything else (`{}`, another service) is malformed, never "no evidence".
  if (!isRecord(body) || !isRecord(body.versionKey)) throw new MalformedResponseError(url, 'not a deps.dev GetVersion response (no versionKey)');
  return parseDepsDevVersion(body);
}

/** `repositoryUrl` is a normalised https URL; the project id is its host/owner/repo. */
export async function fetchDepsDevScorecard(baseUrl: string | undefined, repositoryUrl: string, request: RequestOptions): Promise<ScorecardSummary | null> {
  const id = repositoryUrl.replace(/^https:\/\//, '');
  const url = projectUrl(baseUrl, id);
  const body = await getJson(url, request);
  if (body === undefined) return null;
  if (!isRecord(body) || !isRecord(body.projectKey)) throw new MalformedResponseError(url, 'not a deps.dev GetProject response (no projectKey)');
  return parseDepsDevProject(body) ?? null;
}

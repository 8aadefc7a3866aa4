/**
 * OpenSSF Scorecard REST API: `GET /projects/<host>/<owner>/<repo>` →
 * `{date, repo, scorecard, score, checks[]}` (ossf/scorecard pkg/scorecard/testdata).
 * A check scored -1 could not run: it is left out (unknown). 404 = not scanned = unknown.
 */
import { arrayOf, getJson, isRecord, MalformedResponseError, stringOf, type RequestOptions } from './http';
import { splitRepository } from './repository';

export const DEFAULT_SCORECARD_URL = 'https://api.securityscorecards.dev';

/** Hosts the Scorecard API scans. */
const SCANNED_HOSTS = new Set(['github.com', 'gitlab.com']);

export interface ScorecardSummary {
  score: number;
  date?: string;
  checks?: Record<string, number>;
}

/** `2023-03-02T10:30:43-06:00` or `2023-03-02` → `2023-03-02`. */
function dateOnly(value: unknown): string | undefined {
  const text = stringOf(value);
  const match = text ? /^(\d{4}-\d{2}-\d{2})/.exec(text) : null;
  return match ? match[1] : undefined;
}

function validScore(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 10 ? value : undefined;
}

/** Shared by the Scorecard API and deps.dev (same check objects). Undefined without a valid aggregate. */
export function scorecardFromChecks(score: unknown, checks: unknown, date: unknown): ScorecardSummary | undefined {
  const aggregate = validScore(score);
  if (aggregate === undefined) return undefined;
  const summary: ScorecardSummary = { score: aggregate };
  const day = dateOnly(date);
  if (day) summary.date = day;
  const byName: Record<string, number> = {};
  for (const check of arrayOf(checks)) {
    if (!isRecord(check)) continue;
    const name = stringOf(check.name);
    const value = validScore(check.score);
    if (name && value !== undefined) byName[name] = value;
  }
  if (Object.keys(byName).length > 0) summary.checks = byName;
  return summary;
}

export function scorecardUrl(baseUrl: string | undefined, repositoryUrl: string): string | undefined {
  const parts = splitRepository(repositoryUrl);
  if (!parts || !SCANNED_HOSTS.has(parts.host)) return undefined;
  return `${(baseUrl || DEFAULT_SCORECARD_URL).replace(/\/+$/, '')}/projects/${parts.host}/${encodeURIComponent(parts.owner)}/${encodeURIComponent(parts.repo)}`;
}

/** null = not scanned (404) or a repository the API does not cover. */
export async function fetchScorecard(baseUrl: string | undefined, repositoryUrl: string, request: RequestOptions): Promise<ScorecardSummary | null> {
  const url = scorecardUrl(baseUrl, repositoryUrl);
  if (!url) return null;
  const body = await getJson(url, request);
  if (body === undefined) return null;
  if (!isRecord(body)) throw new MalformedResponseError(url, 'not a Scorecard result');
  // An aggregate of -1: no check could run; as good as not scanned.
  if (typeof body.score === 'number' && body.score < 0) return null;
  const summary = scorecardFromChecks(body.score, body.checks, body.date);
  if (!summary) throw new MalformedResponseError(url, 'no aggregate score');
  return summary;
}

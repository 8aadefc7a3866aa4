/**
 * The manifest `repository` field in every form npm accepts, normalised to
 * `https://host/owner/repo` so a claimed and an attested repository compare equal.
 */
import hostedGitInfo from 'hosted-git-info';
import { isRecord, stringOf } from './http';

export interface NormalizedRepository {
  url: string;
  directory?: string;
}

const COMMIT = /^[0-9a-f]{40}$/i;

/** A 40-hex commit id, lower-cased; undefined for anything else (tags, branches, junk). */
export function normalizeCommit(value: unknown): string | undefined {
  return typeof value === 'string' && COMMIT.test(value.trim()) ? value.trim().toLowerCase() : undefined;
}

function stripGitSuffix(path: string): string {
  return path.replace(/\/+$/, '').replace(/\.git$/i, '').replace(/\/+$/, '');
}

/** Normalises one repository URL or shorthand; undefined when it names no repository. */
export function normalizeRepositoryUrl(raw: string): string | undefined {
  const value = raw.trim();
  if (!value) return undefined;
  let info: ReturnType<typeof hostedGitInfo.fromUrl>;
  try {
    info = hostedGitInfo.fromUrl(value);
  } catch {
    info = undefined;
  }
  if (info && info.domain && info.user && info.project) {
    return `https://${info.domain.toLowerCase()}/${info.user}/${stripGitSuffix(info.project)}`;
  }
  // Not a known host: accept git, ssh and http(s) URLs with a host and a path.
  // `ssh://git@host:owner/repo` (scp path inside an ssh URL) is common in manifests.
  let candidate = value.replace(/^git\+/, '').replace(/^(ssh:\/\/[^/:]+):(?!\d+(\/|$))/, '$1/');
  const scp = /^(?:[\w.-]+@)?([\w.-]+\.[a-z]{2,}):(?!\/\/)(.+)$/i.exec(candidate);
  if (scp) candidate = `https://${scp[1]}/${scp[2]}`;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return undefined;
  }
  if (!['http:', 'https:', 'git:', 'ssh:'].includes(url.protocol) || !url.hostname) return undefined;
  const path = stripGitSuffix(url.pathname);
  if (!path || path === '/') return undefined;
  return `https://${url.hostname.toLowerCase()}${path}`;
}

/** The manifest's `repository` field (string or `{type, url, directory}`), normalised. */
export function normalizeRepository(field: unknown): NormalizedRepository | undefined {
  if (typeof field === 'string') {
    const url = normalizeRepositoryUrl(field);
    return url ? { url } : undefined;
  }
  if (isRecord(field)) {
    const raw = stringOf(field.url);
    const url = raw ? normalizeRepositoryUrl(raw) : undefined;
    if (!url) return undefined;
    const directory = stringOf(field.directory);
    return directory ? { url, directory } : { url };
  }
  return undefined;
}

/** A comparison key: two URLs naming the same repository give the same key. */
export function repositoryKey(url: string): string {
  return url.toLowerCase().replace(/^https?:\/\//, '').replace(/\.git$/, '').replace(/\/+$/, '');
}

export function sameRepository(a: string, b: string): boolean {
  return repositoryKey(a) === repositoryKey(b);
}

/** `{host, owner, repo}` of a normalised https URL with exactly owner/repo; undefined otherwise. */
export function splitRepository(url: string): { host: string; owner: string; repo: string } | undefined {
  const match = /^https:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url);
  if (!match) return undefined;
  return { host: match[1]!, owner: match[2]!, repo: match[3]! };
}

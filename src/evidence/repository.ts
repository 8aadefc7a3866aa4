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
  if (!path) return undefined;
  return `https://${url.hostname.toLowerCase()}${path}`;
}

/**
 * A browse URL into a directory (`https://host/o/r/tree/<ref>/<dir>`, GitLab's `/-/tree/…`)
 * names the repository and the package's directory in it.
 */
export function splitTreeUrl(raw: string): { url: string; directory?: string } {
  const match = /^((?:git\+)?https?:\/\/[^/]+\/[^/]+\/[^/]+?)(?:\/-)?\/tree\/[^/]+\/?(.*)$/i.exec(raw.trim());
  if (!match) return { url: raw };
  const directory = cleanDirectory(match[2]!);
  return directory ? { url: match[1]!, directory } : { url: match[1]! };
}

/** `repository.directory` as a relative `a/b` path; undefined when empty or escaping the repository. */
export function cleanDirectory(raw: string): string | undefined {
  const parts = raw.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..')) return undefined;
  return parts.join('/');
}

function fromUrlAndDirectory(raw: string, explicitDirectory: string | undefined): NormalizedRepository | undefined {
  const split = splitTreeUrl(raw);
  const url = normalizeRepositoryUrl(split.url);
  if (!url) return undefined;
  const directory = explicitDirectory !== undefined ? cleanDirectory(explicitDirectory) : split.directory;
  return directory ? { url, directory } : { url };
}

/**
 * The manifest's `repository` field (string or `{type, url, directory}`), normalised; like npm,
 * the first entry of a legacy `repositories` array when `repository` is absent.
 */
export function normalizeRepository(field: unknown, legacy?: unknown): NormalizedRepository | undefined {
  if (field === undefined && Array.isArray(legacy)) return normalizeRepository(legacy[0]);
  if (typeof field === 'string') return fromUrlAndDirectory(field, undefined);
  if (isRecord(field)) {
    const raw = stringOf(field.url);
    return raw ? fromUrlAndDirectory(raw, stringOf(field.directory)) : undefined;
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

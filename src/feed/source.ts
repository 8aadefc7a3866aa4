import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import npa from 'npm-package-arg';
import semver from 'semver';
import { FeedError } from '../errors';
import { cacheDir as defaultCacheDir } from '../paths';
import { tempPathFor, writeFileAtomic } from '../atomic';
import { FEED_FILE_NAME } from './format';
import { fetchOptions, loadNpmConfig, registryFor } from '../npmrc';
import { readPreamble } from './preamble';

export interface ResolveFeedOptions {
  /** A path (file, or directory holding provenance.feed), an https URL, or an npm package spec. */
  source: string;
  /** Relative paths and the project .npmrc are resolved from here. */
  rootDir: string;
  /** Never touch the network: cached copies only. */
  offline: boolean;
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Where warnings go (default: stderr). */
  warn?: (message: string) => void;
}

const DOWNLOAD_TIMEOUT_MS = 60_000;

interface CacheMeta {
  source: string;
  etag?: string;
  lastModified?: string;
  version?: string;
  integrity?: string;
  fetchedAt: string;
}

type SourceKind = { kind: 'path'; path: string } | { kind: 'url'; url: URL } | { kind: 'npm'; spec: string };

function looksLikePath(source: string): boolean {
  return /^(\.{1,2}([/\\]|$)|[/\\~]|[A-Za-z]:[/\\])/.test(source) || isAbsolute(source) || source.endsWith('.feed');
}

function classify(source: string, rootDir: string, env: NodeJS.ProcessEnv): SourceKind {
  const trimmed = source.trim();
  if (trimmed === '') throw new FeedError('feed.source is empty');
  if (/^https?:\/\//i.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new FeedError(`feed source ${JSON.stringify(trimmed)} is not a valid URL`);
    }
    if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
      throw new FeedError(`feed source ${trimmed} uses plain http; use https (http is only allowed for 127.0.0.1)`);
    }
    return { kind: 'url', url };
  }
  if (trimmed.startsWith('npm:')) return { kind: 'npm', spec: trimmed.slice(4) };
  const expanded = trimmed.startsWith('~/') ? join(env.HOME || homedir(), trimmed.slice(2)) : trimmed;
  const path = resolve(rootDir, expanded);
  if (looksLikePath(trimmed) || existsSync(path)) return { kind: 'path', path };
  // github:…, git+ssh://…, file:… : npm-package-arg specs (refused below unless registry ones).
  if (/^[a-z][a-z0-9+.-]+:/i.test(trimmed)) return { kind: 'npm', spec: trimmed };
  if (!trimmed.startsWith('@') && trimmed.includes('/')) return { kind: 'path', path };
  return { kind: 'npm', spec: trimmed };
}

function resolvePath(path: string): string {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new FeedError(`feed not found: ${path}`, { file: path });
  }
  if (!stat.isDirectory()) return path;
  const file = join(path, FEED_FILE_NAME);
  if (!existsSync(file)) throw new FeedError(`feed directory ${path} has no ${FEED_FILE_NAME}`, { file: path });
  return file;
}

function slot(cache: string, kind: string, identity: string): { dir: string; feed: string; meta: string } {
  const dir = join(cache, 'feeds', `${kind}-${createHash('sha256').update(identity).digest('hex').slice(0, 24)}`);
  return { dir, feed: join(dir, FEED_FILE_NAME), meta: join(dir, 'meta.json') };
}

function readMeta(path: string): CacheMeta | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CacheMeta;
  } catch {
    return undefined;
  }
}

function reason(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return `${e.message ?? String(error)}${cause ? ` (${cause})` : ''}`;
}

function fallback(cached: string, meta: CacheMeta | undefined, what: string, error: unknown, warn: (m: string) => void): string {
  warn(`could not update the feed from ${what}: ${reason(error)}; using the copy fetched ${meta?.fetchedAt ?? 'earlier'} (${cached})`);
  return cached;
}

/**
 * Checks a downloaded file looks like a feed, and is not older than the cached copy, before
 * it replaces the last good copy (an older feed would be refused as a rollback at open).
 */
function checkShape(path: string, what: string, cached: string | undefined): void {
  let serial: number;
  let keyId: string;
  try {
    ({ serial, keyId } = readPreamble(path).header);
  } catch (error) {
    throw new FeedError(`${what} is not a provenance-guard feed: ${(error as Error).message}`, { cause: error });
  }
  if (!cached) return;
  let cachedSerial: number;
  try {
    const header = readPreamble(cached).header;
    // Serials are per signing key: a feed under a rotated key starts its own sequence.
    if (header.keyId !== keyId) return;
    cachedSerial = header.serial;
  } catch {
    return;
  }
  if (serial < cachedSerial) throw new FeedError(`${what} has serial ${serial}, older than the cached copy's ${cachedSerial}`);
}

async function resolveUrl(url: URL, offline: boolean, cache: string, warn: (m: string) => void): Promise<string> {
  if (url.pathname.endsWith('/')) url = new URL(FEED_FILE_NAME, url);
  const what = url.href;
  const target = slot(cache, 'url', what);
  const meta = readMeta(target.meta);
  const cached = existsSync(target.feed) ? target.feed : undefined;
  if (offline) {
    if (cached) return cached;
    throw new FeedError(`offline, and no cached copy of the feed from ${what} (run once online to fetch it)`);
  }
  mkdirSync(target.dir, { recursive: true });
  const tmp = tempPathFor(target.feed);
  try {
    const headers: Record<string, string> = { accept: 'application/octet-stream, */*' };
    if (cached && meta?.etag) headers['if-none-match'] = meta.etag;
    if (cached && meta?.lastModified) headers['if-modified-since'] = meta.lastModified;
    const response = await fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (response.status === 304 && cached) {
      await response.body?.cancel();
      return cached;
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new FeedError(`GET ${what} answered ${response.status} ${response.statusText}`);
    }
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(tmp, { flags: 'wx' }));
    checkShape(tmp, `the download from ${what}`, cached);
    renameSync(tmp, target.feed);
    const fresh: CacheMeta = { source: what, fetchedAt: new Date().toISOString() };
    const etag = response.headers.get('etag');
    const lastModified = response.headers.get('last-modified');
    if (etag) fresh.etag = etag;
    if (lastModified) fresh.lastModified = lastModified;
    writeFileAtomic(target.meta, JSON.stringify(fresh, null, 2) + '\n');
    return target.feed;
  } catch (error) {
    rmSync(tmp, { force: true });
    if (cached) return fallback(cached, meta, what, error, warn);
    if (error instanceof FeedError) throw error;
    throw new FeedError(`cannot download the feed from ${what}: ${reason(error)}`, { cause: error });
  }
}

interface PacoteLike {
  manifest(spec: string, opts: Record<string, unknown>): Promise<{ name: string; version: string; _resolved?: string; _integrity?: string }>;
  extract(spec: string, dest: string, opts: Record<string, unknown>): Promise<unknown>;
}

/**
 * The feed package as already installed in the project, so no network is needed: a pnpm config
 * dependency (node_modules/.pnpm-config/<name>, installed before pnpmfile hooks run — a
 * directory in pnpm 10, a symlink into the store's links/ in pnpm 12) or a plain dependency.
 * Used only when its version satisfies the spec's range; `skipped` says why others were not.
 */
function findInstalledFeed(spec: npa.Result, rootDir: string): { file?: string; skipped: string[] } {
  const skipped: string[] = [];
  const name = spec.name;
  // Dist-tags cannot be checked offline: they go to the registry.
  if (!name || spec.type === 'tag' || !spec.fetchSpec) return { skipped };
  for (const dir of [join(rootDir, 'node_modules', '.pnpm-config', name), join(rootDir, 'node_modules', name)]) {
    const file = join(dir, FEED_FILE_NAME);
    if (!existsSync(file)) continue;
    let manifest: { name?: unknown; version?: unknown };
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof manifest;
    } catch {
      continue;
    }
    if (manifest.name !== name) continue;
    const version = typeof manifest.version === 'string' ? manifest.version : '';
    if (semver.satisfies(version, spec.fetchSpec)) return { file, skipped };
    skipped.push(`${dir} is version ${version || '(none)'}, which does not satisfy ${spec.fetchSpec}`);
  }
  return { skipped };
}

async function resolveNpm(spec: string, rootDir: string, offline: boolean, cache: string, env: NodeJS.ProcessEnv, warn: (m: string) => void): Promise<string> {
  let parsed: npa.Result;
  try {
    parsed = npa(spec);
  } catch (error) {
    throw new FeedError(`feed source ${JSON.stringify(spec)} is not a path, an https URL or an npm package spec: ${(error as Error).message}`);
  }
  // Only registry packages: git and remote specs could run `prepare` scripts when fetched.
  if (!['version', 'range', 'tag'].includes(parsed.type ?? '')) {
    throw new FeedError(`feed source ${JSON.stringify(spec)} is a ${parsed.type} spec; only registry package specs (name@range) are supported`);
  }
  const installed = findInstalledFeed(parsed, rootDir);
  if (installed.file) return installed.file;
  const npm = loadNpmConfig({ cwd: rootDir, env });
  const options: Record<string, unknown> = { ...fetchOptions(npm), registry: npm.registry, preferOnline: true };
  const registry = registryFor(parsed.name ?? spec, npm);
  const what = `npm package ${spec} (${registry})`;
  const target = slot(cache, 'npm', `${registry}\n${spec}`);
  const meta = readMeta(target.meta);
  const cached = existsSync(target.feed) ? target.feed : undefined;
  if (offline) {
    if (cached) return cached;
    const why = installed.skipped.length > 0 ? `; ${installed.skipped.join('; ')}` : '';
    throw new FeedError(`offline, and no installed or cached copy of the feed from ${what} (run once online to fetch it)${why}`);
  }
  let workDir: string | undefined;
  try {
    mkdirSync(target.dir, { recursive: true });
    // A throwaway pacote cache: its HTTP cache would otherwise answer silently with a stale
    // manifest when the registry is down, hiding that the feed could not be updated.
    workDir = mkdtempSync(join(target.dir, '.fetch-'));
    options.cache = join(workDir, 'cache');
    const extractDir = join(workDir, 'package');
    const pacote = (await import('pacote')) as unknown as PacoteLike & { default?: PacoteLike };
    const api: PacoteLike = typeof pacote.manifest === 'function' ? pacote : pacote.default!;
    const manifest = await api.manifest(spec, options);
    if (cached && meta?.version === manifest.version && meta.integrity === manifest._integrity) return cached;
    await api.extract(`${manifest.name}@${manifest.version}`, extractDir, { ...options, integrity: manifest._integrity, resolved: manifest._resolved });
    const file = join(extractDir, FEED_FILE_NAME);
    if (!existsSync(file)) throw new FeedError(`${manifest.name}@${manifest.version} has no ${FEED_FILE_NAME} in its package root`);
    checkShape(file, `${FEED_FILE_NAME} of ${manifest.name}@${manifest.version}`, cached);
    renameSync(file, target.feed);
    const fresh: CacheMeta = { source: spec, version: manifest.version, fetchedAt: new Date().toISOString() };
    if (manifest._integrity) fresh.integrity = manifest._integrity;
    writeFileAtomic(target.meta, JSON.stringify(fresh, null, 2) + '\n');
    return target.feed;
  } catch (error) {
    if (cached) return fallback(cached, meta, what, error, warn);
    if (error instanceof FeedError) throw error;
    throw new FeedError(`cannot fetch the feed from ${what}: ${reason(error)}`, { cause: error });
  } finally {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }
}

/** The local path of the feed file for `feed.source`, downloading or extracting it when needed. */
export async function resolveFeedSource(options: ResolveFeedOptions): Promise<string> {
  const env = options.env ?? process.env;
  const cache = options.cacheDir ?? defaultCacheDir(env);
  const warn = options.warn ?? ((message: string) => process.stderr.write(`provenance-guard: ${message}\n`));
  const source = classify(options.source, options.rootDir, env);
  switch (source.kind) {
    case 'path':
      return resolvePath(source.path);
    case 'url':
      return resolveUrl(source.url, options.offline, cache, warn);
    case 'npm':
      return resolveNpm(source.spec, options.rootDir, options.offline, cache, env, warn);
  }
}


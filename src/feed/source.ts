import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import npa from 'npm-package-arg';
import { satisfies } from 'semver';
import { FeedError } from '../errors';
import { cacheDir as defaultCacheDir } from '../paths';
import { sweepStaleTemps, tempPathFor, writeFileAtomic } from '../atomic';
import { FEED_FILE_NAME } from './format';
import { fetchOptions, loadNpmConfig, registryFor } from '../npmrc';
import { verifyFeed } from './reader';
import { recordSerial } from './state';
import { preambleDigest } from './opened';
import { readPreamble } from './preamble';
import { readCacheFile } from '../cache-file';
import { isObject } from '../json';
import { stateMac, stateMacMatches } from '../machine-secret';

export interface ResolveFeedOptions {
  /** A path (file, or directory holding provenance.feed), an https URL, or an npm package spec. */
  source: string;
  /** Relative paths and the project .npmrc are resolved from here. */
  rootDir: string;
  /** Never touch the network: cached copies only. */
  offline: boolean;
  cacheDir?: string;
  /** paths.ts stateDir: the machine secret the cached copy's meta.json is MAC'd with, the accepted serials. Required: a caller naming its cache must name its state too. */
  stateDir: string;
  env?: NodeJS.ProcessEnv;
  /** Where warnings go (default: stderr). */
  warn?: (message: string) => void;
  /** `feed.publicKeys`: a downloaded feed must verify with one of them before it replaces the cached copy. */
  publicKeys: string[];
  /** `feed.minSerial`. */
  minSerial?: number;
  now?: Date;
  /** Bound on one download (default FEED_DOWNLOAD_TIMEOUT_MS). */
  timeoutMs?: number;
}

/**
 * One feed download, connection to last byte. The pnpm hooks download too (an https or
 * npm-package feed.source), and pnpm 12 gives a hook call 30 s: this leaves room for the rest.
 */
export const FEED_DOWNLOAD_TIMEOUT_MS = 20_000;
const MAX_REDIRECTS = 5;

/** What a download is checked against before it may replace the last good copy. */
interface Candidate {
  cache: string;
  state: string;
  publicKeys: string[];
  minSerial?: number;
  now: Date;
  timeoutMs: number;
  warn: (message: string) => void;
}

interface CacheMeta {
  source: string;
  etag?: string;
  lastModified?: string;
  version?: string;
  integrity?: string;
  fetchedAt: string;
}

type SourceKind = { kind: 'path'; path: string } | { kind: 'url'; url: URL } | { kind: 'npm'; spec: string };

/** The pattern covers absolute paths too (POSIX and Windows: a slash, a backslash, or a drive letter and one of them). */
function looksLikePath(source: string): boolean {
  return /^(\.{1,2}([/\\]|$)|[/\\~]|[A-Za-z]:[/\\])/.test(source) || source.endsWith('.feed');
}

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

function secureTransport(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.includes(url.hostname));
}

function classify(source: string, rootDir: string, env: NodeJS.ProcessEnv): SourceKind {
  const trimmed = source.trim();
  if (trimmed === '') throw new FeedError('feed.source is empty', { code: 'ERR_PG_FEED_SOURCE_INVALID' });
  if (/^https?:\/\//i.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new FeedError(`feed source ${JSON.stringify(trimmed)} is not a valid URL`, { code: 'ERR_PG_FEED_SOURCE_INVALID' });
    }
    if (!secureTransport(url)) {
      throw new FeedError(`feed source ${trimmed} uses plain http; use https (http is only allowed for 127.0.0.1)`, { code: 'ERR_PG_FEED_INSECURE' });
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

/** Whether `source` names a feed on this machine (a path): resolving it never touches the network. */
export function isLocalFeedSource(source: string, rootDir: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return classify(source, rootDir, env).kind === 'path';
}

function resolvePath(path: string): string {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new FeedError(`feed not found: ${path}`, { file: path, code: 'ERR_PG_FEED_NOT_FOUND' });
  }
  if (!stat.isDirectory()) return path;
  const file = join(path, FEED_FILE_NAME);
  if (!existsSync(file)) throw new FeedError(`feed directory ${path} has no ${FEED_FILE_NAME}`, { file: path, code: 'ERR_PG_FEED_NOT_FOUND' });
  return file;
}

function slot(cache: string, kind: string, identity: string): { dir: string; feed: string; meta: string } {
  const dir = join(cache, 'feeds', `${kind}-${createHash('sha256').update(identity).digest('hex').slice(0, 24)}`);
  return { dir, feed: join(dir, FEED_FILE_NAME), meta: join(dir, 'meta.json') };
}

const META_PURPOSE = 'pg-feed-meta/1';

/** What meta.json's MAC binds: its fields and the cached copy's signed preamble (the copy its validators are about). */
function metaFields(meta: CacheMeta, feed: string): (string | undefined)[] {
  let digest: string | undefined;
  try {
    digest = preambleDigest(readPreamble(feed));
  } catch {
    digest = undefined;
  }
  return [meta.source, meta.etag, meta.lastModified, meta.version, meta.integrity, digest];
}

/**
 * meta.json when this machine wrote it for the copy beside it: its ETag, Last-Modified or package
 * version decide whether that copy is still current, so one restored from elsewhere (a pull-request
 * job's CI cache, pairing the current validators with an older signed feed) is ignored and the
 * feed is downloaded again.
 */
function readMeta(target: ReturnType<typeof slot>, state: string): CacheMeta | undefined {
  const bytes = readCacheFile(target.meta, 64 * 1024);
  if (!bytes) return undefined;
  try {
    const value = JSON.parse(bytes.toString('utf8')) as CacheMeta & { mac?: unknown };
    if (!isObject(value) || typeof value.source !== 'string' || typeof value.fetchedAt !== 'string') return undefined;
    for (const field of ['etag', 'lastModified', 'version', 'integrity'] as const) if (value[field] !== undefined && typeof value[field] !== 'string') return undefined;
    const { mac, ...meta } = value;
    return stateMacMatches(state, META_PURPOSE, metaFields(meta, target.feed), mac) ? meta : undefined;
  } catch {
    return undefined;
  }
}

function writeMeta(target: ReturnType<typeof slot>, state: string, meta: CacheMeta): void {
  const mac = stateMac(state, true, META_PURPOSE, metaFields(meta, target.feed));
  writeFileAtomic(target.meta, JSON.stringify({ ...meta, ...(mac ? { mac } : {}) }, null, 2) + '\n');
}

function reason(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: unknown; message?: string } };
  // A string code (ECONNREFUSED, UND_ERR_SOCKET), not a DOMException's legacy number (23 for a timeout).
  const cause = (typeof e.cause?.code === 'string' ? e.cause.code : undefined) ?? e.cause?.message;
  return `${e.message ?? String(error)}${cause ? ` (${cause})` : ''}`;
}

/** A failed update keeps the last good copy (verified again when it is opened). */
function fallback(cached: string, meta: CacheMeta | undefined, what: string, error: unknown, warn: (m: string) => void): string {
  const code = error instanceof FeedError ? ` [${error.code}]` : '';
  warn(`could not update the feed from ${what}: ${reason(error)}${code}; using the last good copy, fetched ${meta?.fetchedAt ?? 'earlier'} (${cached})`);
  return cached;
}

/**
 * Verifies a downloaded feed completely (signature against feed.publicKeys, dates, serial
 * against feed.minSerial and this machine's state, every byte) and only then renames it over
 * the cached copy and records its serial: a feed that did not verify never replaces the last
 * good copy nor moves the accepted serial.
 */
function install(file: string, target: string, what: string, trust: Candidate): void {
  const header = verifyFeed(file, trust.publicKeys, {
    stateDir: trust.state,
    now: trust.now,
    label: what,
    ...(trust.minSerial !== undefined ? { minSerial: trust.minSerial } : {}),
  });
  renameSync(file, target);
  recordSerial(trust.state, header.keyId, header.serial, header.sha256, trust.now, what);
}

/** fetch, following redirects by hand: never from https (or a loopback http) to plain http. */
async function fetchFeed(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await fetch(current, { headers, redirect: 'manual', signal });
    if (![301, 302, 303, 307, 308].includes(response.status)) return response;
    await response.body?.cancel();
    const location = response.headers.get('location');
    if (!location) throw new FeedError(`GET ${current.href} answered ${response.status} without a Location`, { code: 'ERR_PG_FEED_DOWNLOAD' });
    const next = new URL(location, current);
    const downgrade = current.protocol === 'https:' && next.protocol !== 'https:';
    if (downgrade || !secureTransport(next)) {
      throw new FeedError(`GET ${current.href} redirected to ${next.href}: refused, a feed is only fetched over https`, { code: 'ERR_PG_FEED_INSECURE' });
    }
    current = next;
  }
  throw new FeedError(`GET ${url.href}: more than ${MAX_REDIRECTS} redirects`, { code: 'ERR_PG_FEED_DOWNLOAD' });
}

async function download(url: URL, tmp: string, meta: CacheMeta | undefined, cached: string | undefined, timeoutMs: number): Promise<Response | 'not-modified'> {
  // Joined: no `*/` in the bundle, which its build carries in a comment (scripts/code-cache-wrap.mjs).
  const headers: Record<string, string> = { accept: `application/octet-stream, ${['*', '*'].join('/')}` };
  if (cached && meta?.etag) headers['if-none-match'] = meta.etag;
  if (cached && meta?.lastModified) headers['if-modified-since'] = meta.lastModified;
  const signal = AbortSignal.timeout(timeoutMs);
  const response = await fetchFeed(url, headers, signal);
  // A 304 confirms only the copy a validator named; to an unconditional request it is an error.
  if (response.status === 304 && cached && Object.keys(headers).length > 1) {
    await response.body?.cancel();
    return 'not-modified';
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new FeedError(`GET ${url.href} answered ${response.status} ${response.statusText}`, { code: 'ERR_PG_FEED_DOWNLOAD' });
  }
  try {
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(tmp, { flags: 'wx' }));
  } catch (error) {
    if (signal.aborted) throw new FeedError(`GET ${url.href} did not complete within ${timeoutMs / 1000} s`, { cause: error, code: 'ERR_PG_FEED_DOWNLOAD' });
    throw error;
  }
  return response;
}

async function resolveUrl(url: URL, offline: boolean, trust: Candidate): Promise<string> {
  if (url.pathname.endsWith('/')) url = new URL(FEED_FILE_NAME, url);
  const what = url.href;
  const target = slot(trust.cache, 'url', what);
  const meta = readMeta(target, trust.state);
  const cached = existsSync(target.feed) ? target.feed : undefined;
  if (offline) {
    if (cached) return cached;
    throw new FeedError(`offline, and no cached copy of the feed from ${what} (run once online to fetch it)`, { code: 'ERR_PG_FEED_OFFLINE' });
  }
  mkdirSync(target.dir, { recursive: true });
  sweepStaleTemps(target.dir);
  const tmp = tempPathFor(target.feed);
  try {
    const response = await download(url, tmp, meta, cached, trust.timeoutMs);
    if (response === 'not-modified') return cached!;
    install(tmp, target.feed, what, trust);
    const fresh: CacheMeta = { source: what, fetchedAt: trust.now.toISOString() };
    const etag = response.headers.get('etag');
    const lastModified = response.headers.get('last-modified');
    if (etag) fresh.etag = etag;
    if (lastModified) fresh.lastModified = lastModified;
    writeMeta(target, trust.state, fresh);
    return target.feed;
  } catch (error) {
    if (cached) return fallback(cached, meta, what, error, trust.warn);
    if (error instanceof FeedError) throw error;
    if ((error as Error).name === 'TimeoutError') throw new FeedError(`cannot download the feed from ${what}: no answer within ${trust.timeoutMs / 1000} s`, { cause: error, code: 'ERR_PG_FEED_DOWNLOAD' });
    throw new FeedError(`cannot download the feed from ${what}: ${reason(error)}`, { cause: error, code: 'ERR_PG_FEED_DOWNLOAD' });
  } finally {
    rmSync(tmp, { force: true });
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
    if (satisfies(version, spec.fetchSpec)) return { file, skipped };
    skipped.push(`${dir} is version ${version || '(none)'}, which does not satisfy ${spec.fetchSpec}`);
  }
  return { skipped };
}

function parseNpmSpec(spec: string): npa.Result {
  let parsed: npa.Result;
  try {
    parsed = npa(spec);
  } catch (error) {
    throw new FeedError(`feed source ${JSON.stringify(spec)} is not a path, an https URL or an npm package spec: ${(error as Error).message}`, { code: 'ERR_PG_FEED_SOURCE_INVALID' });
  }
  // Only registry packages: git and remote specs could run `prepare` scripts when fetched.
  if (!['version', 'range', 'tag'].includes(parsed.type ?? '')) {
    throw new FeedError(`feed source ${JSON.stringify(spec)} is a ${parsed.type} spec; only registry package specs (name@range) are supported`, { code: 'ERR_PG_FEED_SOURCE_INVALID' });
  }
  return parsed;
}

/** Rejects when `promise` has not settled within `ms` (pacote has no overall deadline of its own). */
async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FeedError(`${what} did not answer within ${ms / 1000} s`, { code: 'ERR_PG_FEED_DOWNLOAD' })), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

interface NpmTarget {
  spec: string;
  what: string;
  options: Record<string, unknown>;
  target: ReturnType<typeof slot>;
  meta: CacheMeta | undefined;
  cached: string | undefined;
}

/** Fetches the package into a temp dir of ours, verifies its feed, and installs it in the cache. */
async function fetchNpm(t: NpmTarget, trust: Candidate): Promise<string> {
  mkdirSync(t.target.dir, { recursive: true });
  sweepStaleTemps(t.target.dir);
  // A throwaway pacote cache: its HTTP cache would otherwise answer silently with a stale
  // manifest when the registry is down, hiding that the feed could not be updated.
  const workDir = tempPathFor(join(t.target.dir, 'fetch'));
  try {
    mkdirSync(workDir);
    const options = { ...t.options, cache: join(workDir, 'cache'), timeout: trust.timeoutMs, retry: { retries: 0 } };
    const pacote = (await import('pacote')) as unknown as PacoteLike & { default?: PacoteLike };
    const api: PacoteLike = typeof pacote.manifest === 'function' ? pacote : pacote.default!;
    const fetched = async (): Promise<string> => {
      const manifest = await api.manifest(t.spec, options);
      if (t.cached && t.meta?.version === manifest.version && t.meta.integrity === manifest._integrity) return t.cached;
      const extractDir = join(workDir, 'package');
      await api.extract(`${manifest.name}@${manifest.version}`, extractDir, { ...options, integrity: manifest._integrity, resolved: manifest._resolved });
      const file = join(extractDir, FEED_FILE_NAME);
      if (!existsSync(file)) throw new FeedError(`${manifest.name}@${manifest.version} has no ${FEED_FILE_NAME} in its package root`, { code: 'ERR_PG_FEED_NOT_FOUND' });
      install(file, t.target.feed, `${FEED_FILE_NAME} of ${manifest.name}@${manifest.version}`, trust);
      const fresh: CacheMeta = { source: t.spec, version: manifest.version, fetchedAt: trust.now.toISOString() };
      if (manifest._integrity) fresh.integrity = manifest._integrity;
      writeMeta(t.target, trust.state, fresh);
      return t.target.feed;
    };
    return await withDeadline(fetched(), trust.timeoutMs, t.what);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function resolveNpm(spec: string, rootDir: string, offline: boolean, env: NodeJS.ProcessEnv, trust: Candidate): Promise<string> {
  const parsed = parseNpmSpec(spec);
  const installed = findInstalledFeed(parsed, rootDir);
  if (installed.file) return installed.file;
  const npm = loadNpmConfig({ cwd: rootDir, env });
  const registry = registryFor(parsed.name ?? spec, npm);
  const what = `npm package ${spec} (${registry})`;
  const target = slot(trust.cache, 'npm', `${registry}\n${spec}`);
  const meta = readMeta(target, trust.state);
  const cached = existsSync(target.feed) ? target.feed : undefined;
  if (offline) {
    if (cached) return cached;
    const why = installed.skipped.length > 0 ? `; ${installed.skipped.join('; ')}` : '';
    throw new FeedError(`offline, and no installed or cached copy of the feed from ${what} (run once online to fetch it)${why}`, { code: 'ERR_PG_FEED_OFFLINE' });
  }
  const options: Record<string, unknown> = { ...fetchOptions(npm), registry: npm.registry, preferOnline: true };
  try {
    return await fetchNpm({ spec, what, options, target, meta, cached }, trust);
  } catch (error) {
    if (cached) return fallback(cached, meta, what, error, trust.warn);
    if (error instanceof FeedError) throw error;
    throw new FeedError(`cannot fetch the feed from ${what}: ${reason(error)}`, { cause: error, code: 'ERR_PG_FEED_DOWNLOAD' });
  }
}

/** The local path of the feed file for `feed.source`, downloading or extracting it when needed. */
export async function resolveFeedSource(options: ResolveFeedOptions): Promise<string> {
  const env = options.env ?? process.env;
  const trust: Candidate = {
    cache: options.cacheDir ?? defaultCacheDir(env),
    state: options.stateDir,
    publicKeys: options.publicKeys,
    now: options.now ?? new Date(),
    timeoutMs: options.timeoutMs ?? FEED_DOWNLOAD_TIMEOUT_MS,
    warn: options.warn ?? ((message: string) => process.stderr.write(`provenance-guard: ${message}\n`)),
  };
  if (options.minSerial !== undefined) trust.minSerial = options.minSerial;
  const source = classify(options.source, options.rootDir, env);
  switch (source.kind) {
    case 'path':
      return resolvePath(source.path);
    case 'url':
      return resolveUrl(source.url, options.offline, trust);
    case 'npm':
      return resolveNpm(source.spec, options.rootDir, options.offline, env, trust);
  }
}

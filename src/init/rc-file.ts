/**
 * `init` on a project that already has a policy: it fills in what it was given (feed.source,
 * feed.publicKeys) and keeps everything else — comments, rules, overrides — as the user wrote it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isMap, isSeq, YAMLSeq } from 'yaml';
import { writeFileAtomic } from '../atomic';
import { ConfigError } from '../errors';
import { readYamlMapping } from './yaml-file';

export interface FeedSettings {
  source?: string;
  publicKey?: string;
}

/** Config files of the project directory that init can edit, in cosmiconfig's order. */
const EDITABLE = ['.provenancerc', '.provenancerc.json', '.provenancerc.yaml', '.provenancerc.yml'];
const CODE = ['.provenancerc.js', '.provenancerc.cjs', '.provenancerc.mjs', 'provenance.config.js', 'provenance.config.cjs', 'provenance.config.mjs'];

/** The project's own config file (package.json only when it has a `provenance` key). */
export function existingConfig(dir: string): string | undefined {
  const pkg = join(dir, 'package.json');
  if (existsSync(pkg)) {
    try {
      if ((JSON.parse(readFileSync(pkg, 'utf8')) as Record<string, unknown>).provenance !== undefined) return pkg;
    } catch {
      // an unreadable package.json holds no config
    }
  }
  return [...EDITABLE, ...CODE].map((f) => join(dir, f)).find((f) => existsSync(f));
}

/** Values already configured, read without validating the rest of the file. */
export function configuredFeed(path: string): { source?: string; publicKeys: string[] } {
  if (CODE.includes(basename(path))) return { publicKeys: [] };
  const feed = basename(path) === 'package.json' ? ((JSON.parse(readFileSync(path, 'utf8')) as { provenance?: { feed?: unknown } }).provenance?.feed as Record<string, unknown> | undefined) : (readYamlMapping(path).toJS() as { feed?: Record<string, unknown> }).feed;
  const keys = Array.isArray(feed?.publicKeys) ? feed.publicKeys.filter((k): k is string => typeof k === 'string') : [];
  return { ...(typeof feed?.source === 'string' ? { source: feed.source } : {}), publicKeys: keys };
}

function fillPackageJson(path: string, settings: FeedSettings): boolean {
  const text = readFileSync(path, 'utf8');
  const json = JSON.parse(text) as { provenance: { feed?: { source?: string; publicKeys?: string[] } } };
  const feed = (json.provenance.feed ??= {});
  const before = JSON.stringify(feed);
  if (settings.source !== undefined) feed.source = settings.source;
  if (settings.publicKey !== undefined && !(feed.publicKeys ?? []).includes(settings.publicKey)) feed.publicKeys = [...(feed.publicKeys ?? []), settings.publicKey];
  if (JSON.stringify(feed) === before) return false;
  writeFileAtomic(path, JSON.stringify(json, null, /^\s*{\s*\n(\s+)/.exec(text)?.[1] ?? 2) + '\n');
  return true;
}

function fillYaml(path: string, settings: FeedSettings): boolean {
  const doc = readYamlMapping(path);
  const before = doc.toString();
  const feed = doc.get('feed');
  if (feed !== undefined && feed !== null && !isMap(feed)) throw new ConfigError(`${path}: feed: expected a mapping`, { file: path });
  if (settings.source !== undefined) doc.setIn(['feed', 'source'], settings.source);
  if (settings.publicKey !== undefined) {
    let keys = doc.getIn(['feed', 'publicKeys']);
    if (keys === undefined || keys === null) {
      keys = new YAMLSeq();
      (keys as YAMLSeq).flow = true;
      doc.setIn(['feed', 'publicKeys'], keys);
    }
    if (!isSeq(keys)) throw new ConfigError(`${path}: feed.publicKeys: expected a list`, { file: path });
    if (!keys.items.some((item) => (isScalarLike(item) ? item.value : item) === settings.publicKey)) keys.add(settings.publicKey);
  }
  const after = doc.toString();
  if (after === before) return false;
  writeFileAtomic(path, after);
  return true;
}

function isScalarLike(item: unknown): item is { value: unknown } {
  return typeof item === 'object' && item !== null && 'value' in item;
}

/** Fills feed.source / feed.publicKeys into an existing config; returns whether the file changed. */
export function fillConfig(path: string, settings: FeedSettings): boolean {
  if (CODE.includes(basename(path))) {
    if (settings.source === undefined && settings.publicKey === undefined) return false;
    throw new ConfigError(`${path} is code, which init does not edit: set feed.source${settings.source ? ` = ${JSON.stringify(settings.source)}` : ''} and add ${settings.publicKey ? JSON.stringify(settings.publicKey) : 'the public key'} to feed.publicKeys yourself`, { file: path });
  }
  return basename(path) === 'package.json' ? fillPackageJson(path, settings) : fillYaml(path, settings);
}

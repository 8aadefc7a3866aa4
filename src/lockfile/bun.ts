/**
 * bun.lock, Bun's text lockfile (lockfileVersion 0–2): JSON with comments and trailing commas.
 * `packages` maps an install path to a tuple whose first element is `name@resolution`:
 *   npm:       ["name@1.2.3", "<tarball URL or '' for the default registry>", {meta}, "sha512-…"]
 *   git:       ["name@git+https://…#sha", {meta}, "<tag>"]   github: ["name@github:o/r#sha", …]
 *   tarball:   ["name@https://…/x.tgz", {meta}]   local: ["name@file:../x", …]
 *   link:      ["name@link:name", {meta}]  (a package registered with `bun link`, outside the project)
 *   workspace: ["name@workspace:packages/x", {meta}]
 * The name decided here is the resolution's (the real package), never the install path's.
 */
import { parseDocument } from 'yaml';
import type { ResolvedPackage } from '../types';
import { dedupe, fail, isObject, isSemver, lineColumn, make, splitNameAt, str } from './common';
import { classifyBunSpec, declaredUrlSource, DEFAULT_REGISTRIES, urlPackage, type Registries, type SourceClass } from './source';

/**
 * The tokens of JSONC that matter here: a string (a key when a colon follows, comments or not; copied whole, so
 * nothing inside one is read as a comment, comma or bracket; unterminated, it runs to the end), a
 * line or block comment, a comma before a closing bracket, a bracket. Matched by the regex engine:
 * a scan in JavaScript cost a cold process ~20 ms for a 1,000-package bun.lock.
 */
const JSONC_TOKEN = /"(?:[^"\\]|\\[\s\S])*"?(?=((?:\s|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*:)?)|\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|,(?=\s*[}\]])|[{}[\]]/g;

interface Jsonc {
  /** The JSON text: comments blanked, trailing commas dropped (strings untouched); every character keeps its line and column. */
  json: string;
  /** The first key written twice in one object, and where. */
  duplicate?: { key: string; offset: number };
}

/**
 * JSONC as JSON, and the first key written twice in one object. JSON.parse keeps the last of two
 * equal keys; Bun 1.4.4 keeps the first (measured: of two top-level `packages` objects it installs
 * from the first) or refuses the lockfile ("Duplicate package path"), so such a file never means
 * to Bun what it means here.
 */
function readJsonc(text: string): Jsonc {
  const parts: string[] = [];
  const objects: Array<Set<string> | undefined> = [];
  let duplicate: Jsonc['duplicate'];
  let copied = 0;
  JSONC_TOKEN.lastIndex = 0;
  for (let m = JSONC_TOKEN.exec(text); m !== null; m = JSONC_TOKEN.exec(text)) {
    const token = m[0];
    const first = token.charCodeAt(0);
    if (first === 0x22) {
      if (m[1] !== undefined && duplicate === undefined) duplicate = noteKey(objects[objects.length - 1], token, m.index);
    } else if (first === 0x7b) objects.push(new Set());
    else if (first === 0x5b) objects.push(undefined);
    else if (first === 0x7d || first === 0x5d) objects.pop();
    else {
      parts.push(text.slice(copied, m.index), first === 0x2c ? ' ' : token.replace(/[^\n]/g, ' '));
      copied = JSONC_TOKEN.lastIndex;
    }
  }
  parts.push(text.slice(copied));
  return { json: parts.join(''), ...(duplicate ? { duplicate } : {}) };
}

/** Records a key of the innermost object; the key when that object has it already. */
function noteKey(keys: Set<string> | undefined, token: string, offset: number): Jsonc['duplicate'] {
  if (keys === undefined) return undefined;
  let key = token.slice(1, -1);
  if (token.includes('\\')) {
    try {
      key = JSON.parse(token) as string;
    } catch {
      return undefined; // not a JSON string: JSON.parse reports the file
    }
  }
  if (keys.has(key)) return { key, offset };
  keys.add(key);
  return undefined;
}

/** The JSON text of a JSONC document: comments blanked, trailing commas dropped (strings untouched); every character keeps its line and column. */
export function stripJsonc(text: string): string {
  return readJsonc(text).json;
}

function yamlErrorPosition(text: string): { line: number; column: number } | undefined {
  const pos = parseDocument(text).errors[0]?.linePos?.[0];
  return pos ? { line: pos.line, column: pos.col } : undefined;
}

export function parseBunLockText(text: string, file?: string): unknown {
  const { json, duplicate } = readJsonc(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    // Node 20 often gives no position; YAML (a JSON superset) locates the error. Comments were
    // blanked in place, so lines and columns are the file's.
    const located = position ? lineColumn(json, Number(position[1])) : yamlErrorPosition(json);
    const where = located ? ` at line ${located.line}, column ${located.column}` : '';
    return fail(file, `invalid JSONC${where}: ${message.replace(/ in JSON at position \d+.*$/, '').split('\n')[0]}`, 'ERR_PG_LOCKFILE_PARSE');
  }
  if (duplicate) {
    const { line, column } = lineColumn(text, duplicate.offset);
    return fail(file, `key ${JSON.stringify(duplicate.key)} written twice in one object (line ${line}, column ${column}): Bun reads the first or refuses the file, JSON the last, so what it installs cannot be known from it`, 'ERR_PG_LOCKFILE_PARSE');
  }
  return parsed;
}

/**
 * The one classifier (source.ts) decides; a registry entry's URL must be the configured registry's
 * for its name@version. Bun downloads that URL as it is: the registry's tarball of another
 * name@version is that package (urlPackage).
 */
function sourceOf(name: string, resolution: string, registryUrl: string | undefined, lockfileDir: string, registries: Registries): SourceClass & { name?: string; version?: string } {
  if (isSemver(resolution)) {
    if (registryUrl === undefined || registryUrl === '') return { source: 'registry' };
    return urlPackage(registryUrl, name, resolution, registries);
  }
  const kind = classifyBunSpec(resolution, { projectDir: lockfileDir });
  return kind.source === 'tarball' && /^https?:\/\//i.test(resolution) ? declaredUrlSource(resolution, registries) : kind;
}

/** The version a non-registry entry carries in its metadata, if any. */
function metaVersion(entry: unknown[]): string | undefined {
  for (const part of entry.slice(1)) if (isObject(part) && typeof part.version === 'string') return part.version;
  return undefined;
}

export function packagesFromBunLock(lockfile: unknown, lockfileDir: string, file?: string, options: { registries?: Registries } = {}): ResolvedPackage[] {
  if (!isObject(lockfile)) return fail(file, 'expected a JSON object at the top level');
  const version = lockfile.lockfileVersion;
  if (typeof version !== 'number' || version < 0 || version > 2) return fail(file, `unsupported bun.lock lockfileVersion ${JSON.stringify(version)} (supported: 0, 1, 2)`, 'ERR_PG_LOCKFILE_UNSUPPORTED');
  const packages = lockfile.packages ?? {};
  if (!isObject(packages)) return fail(file, '"packages" must be an object');
  const out: ResolvedPackage[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') return fail(file, `package "${path}" must be an array starting with "name@resolution"`);
    const split = splitNameAt(entry[0]);
    if (!split || split.rest === '') return fail(file, `package "${path}" has no name@resolution ("${entry[0]}")`);
    const npm = isSemver(split.rest);
    if (npm && entry[1] !== undefined && typeof entry[1] !== 'string') return fail(file, `package "${path}": the tarball URL must be a string`);
    const kind = sourceOf(split.name, split.rest, npm ? (entry[1] as string | undefined) : undefined, lockfileDir, options.registries ?? DEFAULT_REGISTRIES);
    const { source, resolved } = kind;
    const name = kind.name ?? split.name;
    const rest = kind.version ?? split.rest;
    const integrity = npm ? str(entry[3]) : undefined;
    const alias = aliasOf(path, name);
    out.push(
      make({
        name,
        version: npm || kind.version !== undefined ? rest : (metaVersion(entry) ?? '0.0.0'),
        source,
        ...(integrity ? { integrity } : {}),
        ...(resolved ? { resolved } : {}),
        ...(alias !== undefined ? { alias } : {}),
      }),
    );
  }
  return dedupe(out);
}

/** The installed-as name of an install path (`a`, `@s/a`, `parent/a`, `@s/p/@s/a`), when it differs from the real name. */
function aliasOf(path: string, name: string): string | undefined {
  const parts = path.split('/');
  const last = parts[parts.length - 1]!;
  const installed = parts.length >= 2 && parts[parts.length - 2]!.startsWith('@') ? `${parts[parts.length - 2]}/${last}` : last;
  return installed === name ? undefined : installed;
}

/**
 * package.json in the tarball compared with the source's, after the rewrites a publisher
 * makes at publish time: npm's own bookkeeping fields (`_id`, `_resolved`, `gitHead`, …), the
 * `version` a release tool sets, `publishConfig` fields pnpm and Yarn move to the top level,
 * `workspace:`/`catalog:` ranges they replace with versions, and fields a publish step drops
 * that cannot change what an install runs or loads. Anything else that differs is a change.
 */
import { posix } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { validRange } from 'semver';

type Manifest = Record<string, unknown>;

/** Fields pnpm (and Yarn) take from `publishConfig` into the published manifest. */
const PUBLISH_CONFIG_FIELDS = ['bin', 'type', 'imports', 'main', 'module', 'typings', 'types', 'exports', 'browser', 'esnext', 'es2015', 'unpkg', 'umd:main', 'os', 'cpu', 'libc', 'typesVersions'];
export const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];
const DEPENDENCY_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'bundledDependencies'];
/** Fields whose removal at publish could change what is installed, loaded or run (`gypfile: false` stops an implicit node-gyp build; `config` is what install scripts read as npm_package_config_*). */
const ENTRY_FIELDS = ['main', 'exports', 'module', 'browser', 'imports', 'type', 'bin', 'directories', 'gypfile', 'config'];
const PUBLISH_RANGE = /^(workspace|catalog):/;

/**
 * Whether `published` is what a publish may write for the source's `workspace:`/`catalog:` spec:
 * a version range (pnpm writes `npm:<name>@<version>` for `workspace:<name>@…`), never a URL,
 * git, file or alias spec that would install something else.
 */
function publishedRange(source: string, published: string): boolean {
  const alias = /^workspace:((?:@[^/@]+\/)?[^/@]+)@/.exec(source)?.[1];
  const range = alias && published.startsWith(`npm:${alias}@`) ? published.slice(`npm:${alias}@`.length) : published;
  return validRange(range) !== null;
}

export interface ManifestComparison {
  outcome: 'identical' | 'normalised' | 'modified';
  /** Dotted field names that differ after normalisation (`scripts.postinstall`, `dependencies.x`, `bin`). */
  differences: string[];
}

function isObject(value: unknown): value is Manifest {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stripDot(path: unknown): unknown {
  return typeof path === 'string' ? path.replace(/^(\.\/)+/, '') : path;
}

function normaliseBin(bin: unknown, name: unknown): unknown {
  if (typeof bin === 'string' && typeof name === 'string') return { [name.replace(/^@[^/]+\//, '')]: stripDot(bin) };
  if (!isObject(bin)) return bin;
  return Object.fromEntries(Object.entries(bin).map(([k, v]) => [k, stripDot(v)]));
}

/** The fields that can differ between a source package.json and its published copy, removed. */
function normalise(raw: Manifest, isSource: boolean, published: Manifest): Manifest {
  const m: Manifest = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('_') || ['gitHead', 'version', 'readme', 'readmeFilename', 'publishConfig'].includes(key)) continue;
    m[key] = value;
  }
  const publishConfig = raw.publishConfig;
  if (isSource && isObject(publishConfig)) {
    for (const key of PUBLISH_CONFIG_FIELDS) if (key in publishConfig) m[key] = publishConfig[key];
  }
  if ('bin' in m) m.bin = normaliseBin(m.bin, raw.name);
  if ('main' in m) m.main = stripDot(m.main);
  if (isSource) {
    for (const field of DEPENDENCY_FIELDS) {
      const deps = m[field];
      const out = published[field];
      if (!isObject(deps)) continue;
      m[field] = Object.fromEntries(
        Object.entries(deps).map(([dep, range]) => {
          const written = isObject(out) ? out[dep] : undefined;
          return [dep, typeof range === 'string' && PUBLISH_RANGE.test(range) && typeof written === 'string' && publishedRange(range, written) ? written : range];
        }),
      );
    }
  }
  return m;
}

/** A field the publisher dropped that cannot change an install (devDependencies, a test script). */
function harmlessRemoval(field: string): boolean {
  const top = field.split('.')[0]!;
  if (top === 'scripts') return !INSTALL_SCRIPTS.includes(field.slice('scripts.'.length));
  return !DEPENDENCY_FIELDS.includes(top) && !ENTRY_FIELDS.includes(top);
}

function diffFields(source: Manifest, published: Manifest): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(source), ...Object.keys(published)]);
  for (const key of [...keys].sort()) {
    const a = source[key];
    const b = published[key];
    if (isDeepStrictEqual(a, b)) continue;
    if ((key === 'scripts' || DEPENDENCY_FIELDS.includes(key)) && isObject(a ?? {}) && isObject(b ?? {})) {
      const inner = new Set([...Object.keys((a as Manifest | undefined) ?? {}), ...Object.keys((b as Manifest | undefined) ?? {})]);
      for (const name of [...inner].sort()) {
        const x = (a as Manifest | undefined)?.[name];
        const y = (b as Manifest | undefined)?.[name];
        if (isDeepStrictEqual(x, y)) continue;
        if (y === undefined && harmlessRemoval(`${key}.${name}`)) continue;
        out.push(`${key}.${name}`);
      }
      continue;
    }
    if (b === undefined && harmlessRemoval(key)) continue;
    out.push(key);
  }
  return out;
}

function parse(buffer: Buffer): Manifest | undefined {
  try {
    const value: unknown = JSON.parse(buffer.toString('utf8').replace(/^\uFEFF/, ''));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function compareManifests(source: Buffer, published: Buffer): ManifestComparison {
  if (source.equals(published)) return { outcome: 'identical', differences: [] };
  const a = parse(source);
  const b = parse(published);
  if (!a || !b) return { outcome: 'modified', differences: ['(not a JSON object)'] };
  const differences = diffFields(normalise(a, true, b), normalise(b, false, b));
  return differences.length === 0 ? { outcome: 'normalised', differences } : { outcome: 'modified', differences };
}

/** The published manifest, parsed; undefined when it is not a JSON object. */
export function parseManifest(buffer: Buffer | undefined): Manifest | undefined {
  return buffer ? parse(buffer) : undefined;
}

function installedDependencies(m: Manifest): Manifest {
  return { ...(isObject(m.dependencies) ? m.dependencies : {}), ...(isObject(m.optionalDependencies) ? m.optionalDependencies : {}) };
}

/**
 * Whether `bin` is what npm may write at publish for a package.json with `directories.bin` and no
 * `bin`: commands named after files of that directory in the tarball, each pointing at its file.
 * Anything else (a command named otherwise, such as `node`, or a file elsewhere) is the registry's own.
 */
function binFromDirectory(bin: unknown, binDir: string, tarballFiles: ReadonlySet<string> | ReadonlyMap<string, unknown>): boolean {
  if (bin === undefined) return true;
  if (!isObject(bin)) return false;
  const dir = posix.normalize(binDir.replace(/^(\.\/)+/, '')).replace(/\/+$/, '');
  if (dir === '.' || dir === '..' || dir.startsWith('../') || dir.startsWith('/')) return false;
  return Object.entries(bin).every(([command, target]) => {
    if (typeof target !== 'string') return false;
    const file = posix.normalize(target.replace(/^(\.\/)+/, ''));
    return file.startsWith(`${dir}/`) && tarballFiles.has(file) && posix.basename(file) === command;
  });
}

/**
 * Where the registry's version manifest (what npm installs by: its scripts, dependencies, bin)
 * says otherwise than the tarball's package.json. Tolerated: npm's own publish-time rewrites
 * (`install: node-gyp rebuild` for a binding.gyp, `bin` from `directories.bin`, a dependency
 * listed in both `dependencies` and `optionalDependencies`, key order).
 */
export function registryManifestDifferences(registry: Manifest, published: Buffer, tarballFiles: ReadonlySet<string> | ReadonlyMap<string, unknown>): string[] {
  const hasBindingGyp = tarballFiles.has('binding.gyp');
  const tarball = parse(published);
  if (!tarball) return ['(the tarball package.json is not a JSON object)'];
  const out: string[] = [];
  const rScripts = isObject(registry.scripts) ? registry.scripts : {};
  const tScripts = isObject(tarball.scripts) ? tarball.scripts : {};
  const implicitGyp = hasBindingGyp && !tScripts.install && !tScripts.preinstall && tarball.gypfile !== false;
  for (const script of INSTALL_SCRIPTS) {
    if (isDeepStrictEqual(rScripts[script], tScripts[script])) continue;
    if (script === 'install' && implicitGyp && rScripts.install === 'node-gyp rebuild' && !tScripts.install) continue;
    out.push(`scripts.${script}`);
  }
  const rDeps = installedDependencies(registry);
  const tDeps = installedDependencies(tarball);
  for (const dep of new Set([...Object.keys(rDeps), ...Object.keys(tDeps)])) if (!isDeepStrictEqual(rDeps[dep], tDeps[dep])) out.push(`dependencies.${dep}`);
  if (!isDeepStrictEqual(registry.peerDependencies ?? {}, tarball.peerDependencies ?? {})) out.push('peerDependencies');
  const bundled = (m: Manifest) => {
    const list = m.bundleDependencies ?? m.bundledDependencies ?? [];
    return list === true ? Object.keys(isObject(m.dependencies) ? m.dependencies : {}) : list;
  };
  if (!isDeepStrictEqual(bundled(registry), bundled(tarball))) out.push('bundleDependencies');
  const binDir = isObject(tarball.directories) && typeof tarball.directories.bin === 'string' && tarball.bin === undefined ? tarball.directories.bin : undefined;
  const binDiffers = binDir === undefined
    ? !isDeepStrictEqual(normaliseBin(registry.bin, registry.name) ?? {}, normaliseBin(tarball.bin, tarball.name) ?? {})
    : !binFromDirectory(registry.bin, binDir, tarballFiles);
  if (binDiffers) out.push('bin');
  if (registry.name !== undefined && registry.name !== tarball.name) out.push('name');
  return out;
}


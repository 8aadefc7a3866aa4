/**
 * Every tarball file classified against the source tree at the commit, and the verdict
 * (SPEC "Source match"): identical, normalised (package.json after publish-time rewrites, or a
 * text file whose only difference is CRLF/LF line endings), generated (absent from the source),
 * modified. `added` are the absent files that decide a `diverged` verdict: run or read at
 * install (installTimeFiles).
 */
import { posix } from 'node:path';
import type { ContentsEvidence } from '../types';
import { compareManifests, INSTALL_SCRIPTS, parseManifest, registryManifestDifferences } from './manifest';

export interface CompareInput {
  /** Tarball files, path relative to the package root. */
  tarball: ReadonlyMap<string, Buffer>;
  /** Source files, path relative to the package directory in the repository. */
  source: ReadonlyMap<string, Buffer>;
  /** What npm would pack from the source (relative to the package directory). */
  expected: readonly string[];
  commit: string;
  commitFrom: string;
  /** Symbolic links in the source (path relative to the package directory → target). */
  links?: ReadonlyMap<string, string>;
  /** Tarball entries an installer may write elsewhere than where they were read (tarball.ts): never compared, always diverged. */
  anomalies?: readonly string[];
  /** The registry's version manifest (its install fields): npm installs by it, not by the tarball's package.json. */
  registryManifest?: Record<string, unknown>;
}

export interface Classification {
  identical: string[];
  normalised: string[];
  generated: string[];
  modified: string[];
  added: string[];
  /** Source blobs that are Git LFS pointers: their real content was never compared. */
  lfs: string[];
  /** Fields of package.json that differ after normalisation. */
  manifestDifferences: string[];
  /** Files npm would pack from the source that the tarball does not have. */
  missing: string[];
  /** Tarball entries whose installed place is not the one compared (tarball.ts `anomalies`). */
  ambiguous: string[];
  /** Install fields where the registry's manifest and the tarball's package.json disagree. */
  registryDifferences: string[];
}

const LFS_POINTER = Buffer.from('version https://git-lfs.github.com/spec/v1');

function sameUpToLineEndings(a: Buffer, b: Buffer): boolean {
  if (a.includes(0) || b.includes(0)) return false;
  const strip = (x: Buffer) => x.toString('latin1').replace(/\r\n/g, '\n');
  return strip(a) === strip(b);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Directories ('' or ending in `/`) of the packages an install of this tarball sets up: the package and its bundled dependencies. */
function packageRoots(tarball: ReadonlyMap<string, Buffer>): string[] {
  const roots = [''];
  for (const path of tarball.keys()) {
    const bundled = /^((?:[^]*\/)?node_modules\/(?:@[^/]+\/)?[^/]+\/)package\.json$/.exec(path);
    if (bundled) roots.push(bundled[1]!);
  }
  return roots;
}

/** What `node .` (or `require('.')`) loads: the manifest's `main`, else index. */
function mainCandidates(manifest: Record<string, unknown> | undefined): string[] {
  const main = typeof manifest?.main === 'string' ? manifest.main.replace(/^(\.\/)+/, '').replace(/\/+$/, '') : '';
  const base = main && main !== '.' ? [main, `${main}.js`, `${main}.json`, `${main}.node`, `${main}/index.js`] : [];
  return [...base, 'index.js', 'index.json', 'index.node'];
}

/**
 * Tarball files an install runs or reads to decide what it installs: the files install-time
 * scripts name, binding.gyp and every .gyp/.gypi node-gyp reads (config.gypi and common.gypi
 * next to binding.gyp are included by node-gyp itself) when a gyp build runs (CMake files for
 * cmake-js), npm-shrinkwrap.json
 * (it pins the dependencies npm installs), the addons node-gyp-build loads at install, and for a bundled dependency, whose install scripts
 * npm runs too, its package.json and the files its scripts run.
 */
export function installTimeFiles(tarball: ReadonlyMap<string, Buffer>): Set<string> {
  const found = new Set<string>();
  for (const root of packageRoots(tarball)) {
    const manifest = parseManifest(tarball.get(`${root}package.json`));
    const scripts = isRecord(manifest?.scripts) ? manifest.scripts : {};
    const commands = INSTALL_SCRIPTS.map((s) => scripts[s]).filter((c): c is string => typeof c === 'string' && c.trim() !== '');
    const has = (path: string) => tarball.has(`${root}${path}`);
    const runs = new Set<string>();
    // npm runs `node-gyp rebuild` for a package with binding.gyp and no install/preinstall script
    // (an empty one counts as none) unless `gypfile: false` (binding.gyp is then among the gyp files below).
    const implicitGyp = has('binding.gyp') && !scripts.install && !scripts.preinstall && manifest?.gypfile !== false;
    for (const command of commands) {
      for (const token of command.match(/[\w@.+\-/]+/g) ?? []) {
        const path = token.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
        const candidates = path === '' || path === '.' ? mainCandidates(manifest) : [path, `${path}.js`, `${path}.cjs`, `${path}.mjs`, `${path}/index.js`];
        for (const candidate of candidates) if (has(candidate)) runs.add(candidate);
      }
    }
    // node-gyp (also as node-pre-gyp's --fallback-to-build) runs gyp files; cmake-js runs CMake files.
    const gyp = implicitGyp || commands.some((c) => /\bnode-(pre-)?gyp\b/.test(c));
    const cmake = commands.some((c) => /\bcmake-js\b/.test(c));
    if (gyp || cmake) {
      for (const path of tarball.keys()) {
        const inside = path.startsWith(root) ? path.slice(root.length) : undefined;
        if (inside === undefined || /(^|\/)node_modules\//.test(inside)) continue;
        if ((gyp && /\.gypi?$/.test(inside)) || (cmake && /(^|\/)CMakeLists\.txt$|\.cmake$/.test(inside))) runs.add(inside);
      }
    }
    // node-gyp-build (and its -optional forks) loads the addon it finds before deciding not to
    // build (its node-gyp-build-test): build/Release, build/Debug, then prebuilds/. Loading a
    // .node file runs its native code.
    if (commands.some((c) => /\bnode-gyp-build\b/.test(c))) {
      for (const path of tarball.keys()) {
        const inside = path.startsWith(root) ? path.slice(root.length) : undefined;
        if (inside !== undefined && /^(?:build\/(?:Release|Debug)|prebuilds)\/(?:[^/]+\/)*[^/]+\.node$/.test(inside)) runs.add(inside);
      }
    }
    if (root === '' && has('npm-shrinkwrap.json')) runs.add('npm-shrinkwrap.json');
    if (root !== '' && (runs.size > 0 || commands.length > 0)) runs.add('package.json');
    for (const path of runs) found.add(`${root}${path}`);
  }
  return found;
}

/**
 * `path` with the source's symbolic links on its way followed, staying inside the package;
 * undefined when no link is on the way or one cannot be followed (absolute, outside, a loop).
 */
export function throughLinks(path: string, links: ReadonlyMap<string, string>): string | undefined {
  let parts = path.split('/');
  for (let hops = 0; hops < 40; hops++) {
    const at = parts.findIndex((_, i) => links.has(parts.slice(0, i + 1).join('/')));
    if (at < 0) return hops > 0 ? parts.join('/') : undefined;
    const target = links.get(parts.slice(0, at + 1).join('/'))!;
    if (target.startsWith('/')) return undefined;
    const resolved = posix.normalize([...parts.slice(0, at), target].join('/'));
    if (resolved === '..' || resolved.startsWith('../')) return undefined;
    parts = [...resolved.split('/').filter((p) => p !== '' && p !== '.'), ...parts.slice(at + 1)];
  }
  return undefined;
}

export function classify(input: CompareInput): Classification {
  const out: Classification = { identical: [], normalised: [], generated: [], modified: [], added: [], lfs: [], manifestDifferences: [], missing: [], ambiguous: [...(input.anomalies ?? [])], registryDifferences: [] };
  const published = input.tarball.get('package.json');
  if (input.registryManifest && published) out.registryDifferences = registryManifestDifferences(input.registryManifest, published, input.tarball);
  const runAtInstall = installTimeFiles(input.tarball);
  for (const [path, data] of [...input.tarball].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // A path that is a link in the source holds what the link points at (npm pack leaves links out).
    const linked = input.links?.size && !input.source.has(path) ? throughLinks(path, input.links) : undefined;
    const source = input.source.get(path) ?? (linked !== undefined ? input.source.get(linked) : undefined);
    if (source === undefined) {
      (runAtInstall.has(path) ? out.added : out.generated).push(path);
    } else if (source.equals(data)) {
      out.identical.push(path);
    } else if (path === 'package.json') {
      const manifest = compareManifests(source, data);
      out.manifestDifferences = manifest.differences;
      (manifest.outcome === 'modified' ? out.modified : out.normalised).push(path);
    } else if (source.subarray(0, LFS_POINTER.length).equals(LFS_POINTER)) {
      out.lfs.push(path);
    } else if (sameUpToLineEndings(source, data)) {
      out.normalised.push(path);
    } else {
      out.modified.push(path);
    }
  }
  out.missing = input.expected.filter((p) => !input.tarball.has(p));
  return out;
}

function list(paths: readonly string[], max = 5): string {
  return paths.length <= max ? paths.join(', ') : `${paths.slice(0, max).join(', ')} and ${paths.length - max} more`;
}

function reasonFor(c: Classification, verdict: ContentsEvidence['verdict'], at: string): string {
  if (verdict === 'diverged') {
    const parts: string[] = [];
    if (c.modified.length) parts.push(`modified from the source ${at}: ${list(c.modified)}`);
    if (c.manifestDifferences.length) parts.push(`package.json differs in ${list(c.manifestDifferences, 8)}`);
    if (c.added.length) parts.push(`run or read at install but absent from the source: ${list(c.added)}`);
    if (c.ambiguous.length) parts.push(`tarball entries an installer writes elsewhere than where they were compared: ${list(c.ambiguous)}`);
    if (c.registryDifferences.length) parts.push(`the registry's manifest, which npm installs by, differs from the tarball's package.json in ${list(c.registryDifferences, 8)}`);
    return parts.join('; ');
  }
  const same = `${c.identical.length + c.normalised.length} file${c.identical.length + c.normalised.length === 1 ? '' : 's'} identical to the source ${at}`;
  const note = c.normalised.length ? ` (${list(c.normalised)} after publish-time normalisation)` : '';
  if (verdict === 'inconclusive') return `${list(c.lfs)} ${c.lfs.length === 1 ? 'is a Git LFS pointer' : 'are Git LFS pointers'} in the source: not compared`;
  // Not a cause of any verdict (SPEC compares the tarball's files), but a reviewer should see it.
  const missing = c.missing.length ? `; ${c.missing.length} file${c.missing.length === 1 ? '' : 's'} npm would pack from the source not in the tarball: ${list(c.missing)}` : '';
  if (verdict === 'built') return `${same}${note}; ${c.generated.length} absent from the source (build output): ${list(c.generated)}${missing}`;
  return `${same}${note}${missing}`;
}

export function verdictOf(c: Classification): ContentsEvidence['verdict'] {
  if (c.modified.length > 0 || c.added.length > 0 || c.ambiguous.length > 0 || c.registryDifferences.length > 0) return 'diverged';
  if (c.lfs.length > 0) return 'inconclusive';
  return c.generated.length > 0 ? 'built' : 'match';
}

/** The contents evidence for one comparison. */
export function compareContents(input: CompareInput): ContentsEvidence {
  const c = classify(input);
  const verdict = verdictOf(c);
  const at = `at ${input.commit.slice(0, 12)}`;
  return {
    verdict,
    commit: input.commit,
    commitFrom: input.commitFrom,
    files: { identical: c.identical.length + c.normalised.length, generated: c.generated.length, modified: [...c.modified, ...c.ambiguous, ...(c.registryDifferences.length ? ['package.json (the registry manifest)'] : [])], added: c.added },
    reason: reasonFor(c, verdict, at),
  };
}

/**
 * The path that brought each package in ("via app-dep > mid"), from the lockfile's dependency
 * graph: a breadth-first walk from the projects' direct dependencies, so each package gets its
 * shortest path. Read separately from the lockfile readers; only the report uses it.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseSyml } from '@yarnpkg/parsers';
import { parsePnpmYaml } from '../lockfile/index';
import type { ResolvedPackage } from '../types';

interface Edge {
  /** The dependency's name as the parent wrote it (an alias stays an alias). */
  as: string;
  to: string;
}

export interface DependencyGraph {
  roots: Edge[];
  edges(id: string): Edge[];
  /** `name@version` of a node (the real name), matching ResolvedPackage. */
  label(id: string): string | undefined;
}

type Deps = Record<string, unknown> | undefined;
const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'devDependencies'] as const;

function depEntries(node: Record<string, unknown> | undefined, fields: readonly string[] = DEP_FIELDS): [string, unknown][] {
  return fields.flatMap((f) => Object.entries((node?.[f] as Deps) ?? {}));
}

/** pnpm-lock.yaml v6 and v9: its project document (the last), parsed as the lockfile reader parses it (the `yaml` package took ~0.7 s for 2,000 packages). */
export function pnpmGraph(text: string): DependencyGraph {
  const documents = parsePnpmYaml(text, 'pnpm-lock.yaml');
  const doc = (documents[documents.length - 1] ?? {}) as { importers?: Record<string, Record<string, unknown>>; snapshots?: Record<string, Record<string, unknown>>; packages?: Record<string, Record<string, unknown>> };
  const nodes = doc.snapshots ?? doc.packages ?? {};
  const node = (id: string) => nodes[id] ?? nodes[`/${id}`];
  const idOf = (name: string, version: unknown): string => {
    const v = typeof version === 'object' && version !== null ? String((version as { version?: unknown }).version) : String(version);
    const bare = v.startsWith('/') ? v.slice(1) : v;
    return /^[^:/]+@|^@[^/]+\/[^@]+@/.test(bare) && !/^[a-z+]+:/.test(bare) ? bare : `${name}@${bare}`;
  };
  const toEdges = (deps: [string, unknown][]) => deps.map(([as, version]) => ({ as, to: idOf(as, version) }));
  return {
    roots: Object.values(doc.importers ?? {}).flatMap((imp) => toEdges(depEntries(imp))),
    edges: (id) => toEdges(depEntries(node(id), ['dependencies', 'optionalDependencies'])),
    label: (id) => (node(id) ? id.replace(/\(.*$/, '') : undefined),
  };
}

/** package-lock.json / npm-shrinkwrap.json v2 and v3: node's resolution over `node_modules/` paths. */
export function npmGraph(text: string): DependencyGraph {
  const packages = ((JSON.parse(text) as { packages?: Record<string, Record<string, unknown>> }).packages ?? {});
  const resolveFrom = (from: string, name: string): string | undefined => {
    for (let dir = from; ; ) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (packages[candidate]) return candidate;
      if (dir === '') return undefined;
      const at = dir.lastIndexOf('/node_modules/');
      dir = at < 0 ? '' : dir.slice(0, at);
    }
  };
  const edgesOf = (id: string, fields: readonly string[]) =>
    depEntries(packages[id], fields).flatMap(([as]) => {
      const to = resolveFrom(id, as);
      return to ? [{ as, to }] : [];
    });
  return {
    roots: edgesOf('', [...DEP_FIELDS, 'peerDependencies']),
    edges: (id) => edgesOf(id, ['dependencies', 'optionalDependencies', 'peerDependencies']),
    label: (id) => {
      const entry = packages[id];
      const name = typeof entry?.name === 'string' ? entry.name : id.slice(id.lastIndexOf('node_modules/') + 'node_modules/'.length);
      return entry && typeof entry.version === 'string' ? `${name}@${entry.version}` : undefined;
    },
  };
}

/** yarn.lock (Berry): descriptors → entries, from the workspaces down. */
export function yarnGraph(text: string): DependencyGraph {
  const doc = parseSyml(text) as Record<string, Record<string, unknown>>;
  const byDescriptor = new Map<string, string>();
  for (const key of Object.keys(doc)) if (key !== '__metadata') for (const d of key.split(/,\s*/)) byDescriptor.set(d.trim(), key);
  const find = (name: string, range: string) => byDescriptor.get(`${name}@${range}`) ?? byDescriptor.get(`${name}@npm:${range}`);
  const edges = (id: string): Edge[] =>
    depEntries(doc[id], ['dependencies', 'optionalDependencies']).flatMap(([as, range]) => {
      const to = find(as, String(range));
      return to ? [{ as, to }] : [];
    });
  const workspaces = Object.keys(doc).filter((k) => String(doc[k]?.resolution ?? '').includes('@workspace:'));
  return {
    roots: workspaces.flatMap(edges).filter((e) => !workspaces.includes(e.to)),
    edges,
    label: (id) => {
      const resolution = String(doc[id]?.resolution ?? '');
      const at = resolution.indexOf('@', 1);
      return at > 0 && doc[id]?.version !== undefined ? `${resolution.slice(0, at)}@${String(doc[id]!.version)}` : undefined;
    },
  };
}

/** Shortest path (names as written, direct dependency first, the package itself excluded) per `name@version`. */
export function shortestPaths(graph: DependencyGraph): Map<string, string[]> {
  type Step = { id: string; as: string; path: string[] };
  const paths = new Map<string, string[]>();
  const seen = new Set<string>();
  let frontier: Step[] = graph.roots.map((e) => ({ id: e.to, as: e.as, path: [] }));
  while (frontier.length > 0) {
    const next: Step[] = [];
    for (const { id, as, path } of frontier) {
      if (seen.has(id)) continue;
      seen.add(id);
      const label = graph.label(id);
      if (label !== undefined && !paths.has(label)) paths.set(label, path);
      for (const edge of graph.edges(id)) next.push({ id: edge.to, as: edge.as, path: [...path, as] });
    }
    frontier = next;
  }
  return paths;
}

const GRAPHS: Record<string, (text: string) => DependencyGraph> = {
  'pnpm-lock.yaml': pnpmGraph,
  'package-lock.json': npmGraph,
  'npm-shrinkwrap.json': npmGraph,
  'yarn.lock': yarnGraph,
};

/** Sets `via` on the transitive packages of `packages`; a lockfile it cannot walk leaves them as they are. */
export function attachDependencyPaths(packages: ResolvedPackage[], lockfile: string): void {
  const build = GRAPHS[basename(lockfile)];
  if (!build) return;
  let paths: Map<string, string[]>;
  try {
    paths = shortestPaths(build(readFileSync(lockfile, 'utf8')));
  } catch {
    return; // the readers already validated the lockfile; paths are only a help for the reader of the report
  }
  for (const pkg of packages) {
    const via = paths.get(`${pkg.name}@${pkg.version}`);
    if (via && via.length > 0) pkg.via = via;
  }
}

/**
 * The files npm would pack from a source tree, computed by npm's own npm-packlist on an
 * @npmcli/arborist tree of the extracted files. Nothing runs: no `prepare`, no `prepack`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import type { SourceFile } from './tree';

type Packlist = (tree: unknown, options: { path: string; prefix?: string; workspaces?: string[] }) => Promise<string[]>;
type ArboristClass = new (options: { path: string }) => { loadActual(): Promise<unknown> };

/** Writes `files` (repository-relative) under a fresh temp directory; the caller removes it. */
export function materialise(files: Iterable<SourceFile>): string {
  const root = mkdtempSync(join(tmpdir(), 'pg-source-'));
  const base = resolve(root) + sep;
  for (const file of files) {
    const target = resolve(root, ...file.path.split('/'));
    // tree.ts already refuses `..` and `.git`; this is the last line of defence.
    if (!target.startsWith(base)) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content, { mode: file.executable ? 0o755 : 0o644 });
  }
  return root;
}

/**
 * Paths (relative to the package directory) npm would pack from `root/directory`. For a package
 * inside a monorepo the ignore files between the repository root and the package apply, as
 * when npm packs a workspace.
 */
export async function packedFiles(root: string, directory: string | undefined): Promise<string[]> {
  const Arborist = require('@npmcli/arborist') as ArboristClass;
  const packlist = require('npm-packlist') as Packlist;
  const path = directory ? join(root, ...directory.split('/').filter(Boolean)) : root;
  const tree = await new Arborist({ path }).loadActual();
  const options = directory ? { path, prefix: root, workspaces: [path] } : { path };
  const files = await packlist(tree, options);
  return files.map((f) => f.replace(/\\/g, '/')).sort();
}

/** packedFiles on a throwaway copy of `files`. */
export async function expectedFiles(files: Iterable<SourceFile>, directory: string | undefined): Promise<string[]> {
  const root = materialise(files);
  try {
    return await packedFiles(root, directory);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The workspace folders npm finds for a project: package.json `workspaces` expanded as npm's
 * @npmcli/map-workspaces 5 does it (src/lockfile/npm-workspaces.ts), on disk with the same glob
 * (13). Only folders are listed; nothing of the project is run or required.
 */
import { globSync } from 'glob';
import { splitWorkspacePatterns } from '../lockfile/npm-workspaces';

export { workspacePatterns } from '../lockfile/npm-workspaces';

/** Folders (relative to `projectDir`) the patterns match, as npm globs them; whether each holds a package.json is the caller's to check. */
export function matchWorkspaceFolders(projectDir: string, workspaces: readonly string[]): string[] {
  const { patterns, ignore } = splitWorkspacePatterns(workspaces);
  if (patterns.length === 0) return [];
  const folders = globSync(patterns, { cwd: projectDir, ignore });
  return [...new Set(folders.map((f) => f.replace(/\/+$/, '')).filter((f) => f !== '' && f !== '.'))].sort();
}

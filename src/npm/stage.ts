/**
 * A staging copy of a project for resolution: package.json, the lockfile, the project .npmrc and
 * the workspaces' package.json files, in a directory beside the project (so `file:../x`
 * specs resolve as they do from the project); every other top-level entry but node_modules is
 * linked in (`file:./vendor/x`, workspace sources). npm resolves there with
 * `--package-lock-only --ignore-scripts`; the project's own files are written only after the
 * result passed the guard, each atomically.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { writeFileAtomic } from '../atomic';
import { matchWorkspaceFolders, workspacePatterns } from './workspaces';

/** Files the staged resolution may change; copied in, and back when they changed. */
export const MANIFEST_FILES = ['package.json', 'package-lock.json', 'npm-shrinkwrap.json'];
const COPIED = new Set([...MANIFEST_FILES, '.npmrc', 'node_modules']);

export interface Stage {
  dir: string;
  /** Project-relative paths of the files copied in (package.json files, lockfiles). */
  tracked: string[];
  /** The staged lockfile (npm-shrinkwrap.json wins, as npm reads it). */
  lockfile(): string | undefined;
  /** Writes every tracked file that changed back into the project; returns the changed ones. */
  apply(projectDir: string): string[];
  remove(): void;
}

function writableDir(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Workspace folders (relative) as the lockfile records them, plus those package.json's `workspaces` globs match (as npm expands them). */
function workspaceDirs(projectDir: string): string[] {
  const dirs = new Set<string>();
  for (const lock of ['npm-shrinkwrap.json', 'package-lock.json']) {
    try {
      const packages = (JSON.parse(readFileSync(join(projectDir, lock), 'utf8')) as { packages?: Record<string, unknown> }).packages ?? {};
      for (const path of Object.keys(packages)) if (path !== '' && !path.includes('node_modules') && !path.startsWith('..')) dirs.add(path);
    } catch {
      // no such lockfile
    }
  }
  try {
    const manifest: unknown = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8'));
    for (const dir of matchWorkspaceFolders(projectDir, workspacePatterns(manifest))) dirs.add(dir);
  } catch {
    // no readable package.json: npm will say so
  }
  return [...dirs].filter((d) => existsSync(join(projectDir, d, 'package.json')));
}

export function createStage(projectDir: string): Stage {
  const parent = dirname(projectDir);
  const dir = mkdtempSync(writableDir(parent) ? join(parent, `.${basename(projectDir)}.provenance-guard-`) : join(tmpdir(), 'provenance-guard-npm-'));
  const tracked: string[] = [];
  for (const file of [...MANIFEST_FILES, '.npmrc']) {
    if (!existsSync(join(projectDir, file))) continue;
    copyFileSync(join(projectDir, file), join(dir, file));
    if (file !== '.npmrc') tracked.push(file);
  }
  const workspaces = workspaceDirs(projectDir);
  const topLevelWorkspaces = new Set(workspaces.map((w) => w.split('/')[0]!));
  for (const ws of workspaces) {
    mkdirSync(join(dir, ws), { recursive: true });
    copyFileSync(join(projectDir, ws, 'package.json'), join(dir, ws, 'package.json'));
    tracked.push(join(ws, 'package.json'));
  }
  for (const entry of readdirSync(projectDir)) {
    if (COPIED.has(entry) || topLevelWorkspaces.has(entry)) continue;
    symlinkSync(join(projectDir, entry), join(dir, entry));
  }
  return {
    dir,
    tracked,
    lockfile() {
      for (const name of ['npm-shrinkwrap.json', 'package-lock.json']) if (existsSync(join(dir, name))) return join(dir, name);
      return undefined;
    },
    apply(target) {
      const changed: string[] = [];
      const files = [...new Set([...tracked, 'package-lock.json'])];
      for (const file of files) {
        const staged = join(dir, file);
        if (!existsSync(staged)) continue;
        const next = readFileSync(staged);
        const current = existsSync(join(target, file)) ? readFileSync(join(target, file)) : undefined;
        if (current && current.equals(next)) continue;
        writeFileAtomic(join(target, file), next);
        changed.push(relative(target, join(target, file)));
      }
      return changed;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

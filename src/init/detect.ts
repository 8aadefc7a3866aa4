import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type PackageManager = 'pnpm' | 'yarn' | 'bun';

/** The package manager a project uses, from its lockfile, workspace file or `packageManager` field. */
export function detectPackageManager(dir: string): PackageManager | undefined {
  if (existsSync(join(dir, 'pnpm-lock.yaml')) || existsSync(join(dir, 'pnpm-workspace.yaml'))) return 'pnpm';
  if (existsSync(join(dir, 'yarn.lock')) || existsSync(join(dir, '.yarnrc.yml'))) return 'yarn';
  if (existsSync(join(dir, 'bun.lock')) || existsSync(join(dir, 'bunfig.toml'))) return 'bun';
  try {
    const field = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { packageManager?: unknown }).packageManager;
    if (typeof field === 'string' && field.startsWith('pnpm@')) return 'pnpm';
    if (typeof field === 'string' && field.startsWith('yarn@')) return 'yarn';
    if (typeof field === 'string' && field.startsWith('bun@')) return 'bun';
  } catch {
    // no or unreadable package.json: nothing to detect from
  }
  return undefined;
}

/**
 * Real npm 11 (the system npm) on temp projects against the test registry, driven through the
 * built CLI (`provenance-guard npm …` / `npx …`) or directly. Each project has its own HOME,
 * npm cache and user config, and `registry=` in its .npmrc.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand, type CommandResult, markerLog } from './pm';

const ROOT = resolve(__dirname, '../..');
export const CLI = join(ROOT, 'dist/cli.cjs');

export interface NpmProject {
  dir: string;
  env: Record<string, string>;
  /** `provenance-guard <args>` (args start with `npm` or `npx`). */
  guard(args: readonly string[], extraEnv?: Record<string, string>): Promise<CommandResult>;
  npm(args: readonly string[], extraEnv?: Record<string, string>): Promise<CommandResult>;
  ran(): string[];
  clearMarkers(): void;
  installed(name: string): boolean;
  lockfile(): string | undefined;
  packageJson(): string;
  cleanup(): void;
}

let counter = 0;

export function createNpmProject(options: { registryUrl: string; markers: string; dependencies?: Record<string, string>; provenancerc?: string }): NpmProject {
  const parent = mkdtempSync(join(tmpdir(), 'pg-npm-'));
  const dir = join(parent, 'project');
  mkdirSync(dir, { recursive: true });
  const id = `n${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const home = join(parent, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, '.npmrc'), '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    npm_config_userconfig: join(home, '.npmrc'),
    npm_config_cache: join(parent, 'npm-cache'),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'),
    PG_PROJECT_ID: id,
    NO_COLOR: '1',
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pg-npm-project', version: '1.0.0', private: true, dependencies: options.dependencies ?? {} }, null, 2) + '\n');
  writeFileSync(join(dir, '.npmrc'), `registry=${options.registryUrl}/\n`);
  if (options.provenancerc !== undefined) writeFileSync(join(dir, '.provenancerc'), options.provenancerc);
  return {
    dir,
    env,
    guard: (args, extraEnv = {}) => runCommand(process.execPath, [CLI, ...args], { cwd: dir, env: { ...env, ...extraEnv } }),
    npm: (args, extraEnv = {}) => runCommand('npm', args, { cwd: dir, env: { ...env, ...extraEnv } }),
    ...markerLog(options.markers, id),
    installed: (name) => existsSync(join(dir, 'node_modules', name)),
    lockfile() {
      const path = join(dir, 'package-lock.json');
      return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    },
    packageJson: () => readFileSync(join(dir, 'package.json'), 'utf8'),
    cleanup: () => rmSync(parent, { recursive: true, force: true }),
  };
}

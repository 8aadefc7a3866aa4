/**
 * Real npm 11 (the system npm) on temp projects against the test registry, driven through the
 * built CLI (`provenance-guard npm …` / `npx …`) or directly. Each project has its own HOME,
 * npm cache and user config, and `registry=` in its .npmrc.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectFiles, projectLayout, runCommand, type CommandResult, type ProjectFiles } from './pm';

const ROOT = resolve(__dirname, '../..');
export const CLI = join(ROOT, 'dist/cli.cjs');

export interface NpmProject extends ProjectFiles {
  dir: string;
  env: Record<string, string>;
  /** `provenance-guard <args>` (args start with `npm` or `npx`). */
  guard(args: readonly string[], extraEnv?: Record<string, string>): Promise<CommandResult>;
  npm(args: readonly string[], extraEnv?: Record<string, string>): Promise<CommandResult>;
  installed(name: string): boolean;
  cleanup(): void;
}

export function createNpmProject(options: { registryUrl: string; markers: string; dependencies?: Record<string, string>; provenancerc?: string }): NpmProject {
  const layout = projectLayout('pg-npm-');
  const { parent, dir, home, id } = layout;
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
    PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'), PROVENANCE_GUARD_STATE_DIR: join(home, 'pg-state'),
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
    ...projectFiles(layout, options.markers, 'package-lock.json'),
    installed: (name) => existsSync(join(dir, 'node_modules', name)),
    cleanup: () => rmSync(parent, { recursive: true, force: true }),
  };
}

/**
 * Real Bun 1.4 (the binary of @oven/bun-linux-x64) on temp projects against the test registry.
 * Each project gets its own HOME and BUN_INSTALL_CACHE_DIR, bunfig.toml `[install] registry`,
 * and `trustedDependencies` for the fixtures (Bun runs no dependency postinstall otherwise).
 * provenance-guard itself is published to the registry (package.json with the `./bun` export
 * and the built scanner bundle), so Bun installs the scanner the way it would from npm.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectFiles, projectLayout, runCommand, type CommandResult, type ProjectFiles } from './pm';
import type { FixturePackage } from './registry';

const ROOT = resolve(__dirname, '../..');
export const BUN_BIN = join(ROOT, 'node_modules/@oven/bun-linux-x64/bin/bun');
export const BUN_SCANNER_DIR = join(ROOT, 'plugins/bun/dist');
export const BUN_SCANNER_BUNDLE = join(BUN_SCANNER_DIR, 'scanner.cjs');

/** provenance-guard as published: its package.json exports, the scanner bundle and the files it loads on first use beside it. */
export function scannerPackage(version: string): FixturePackage {
  const scannerFiles = Object.fromEntries(readdirSync(BUN_SCANNER_DIR).map((file) => [`plugins/bun/dist/${file}`, readFileSync(join(BUN_SCANNER_DIR, file), 'utf8')]));
  return {
    name: 'provenance-guard',
    version,
    manifest: { main: 'dist/index.cjs', exports: { '.': { bun: './plugins/bun/dist/scanner.cjs', default: './dist/index.cjs' }, './bun': './plugins/bun/dist/scanner.cjs', './package.json': './package.json' } },
    files: { ...scannerFiles, 'dist/index.cjs': 'module.exports = {};\n' },
  };
}

export interface BunProjectOptions {
  registryUrl: string;
  markers: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  trusted?: readonly string[];
  provenancerc?: string;
  /** bunfig.toml content after `[install] registry` (default: the scanner table). */
  bunfig?: string;
  /** Share a cache dir between projects (warm installs). */
  cacheDir?: string;
  env?: Record<string, string>;
}

export interface BunProject extends ProjectFiles {
  dir: string;
  id: string;
  env: Record<string, string>;
  bun(args: readonly string[], extraEnv?: Record<string, string>): Promise<CommandResult>;
  installed(name: string): boolean;
  cleanup(): void;
}

export function createBunProject(options: BunProjectOptions): BunProject {
  const layout = projectLayout('pg-bun-');
  const { parent, dir, home, id } = layout;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CACHE_HOME: join(home, '.cache'),
    BUN_INSTALL_CACHE_DIR: options.cacheDir ?? join(parent, 'bun-cache'),
    PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'), PROVENANCE_GUARD_STATE_DIR: join(home, 'pg-state'),
    PG_PROJECT_ID: id,
    NO_COLOR: '1',
    ...options.env,
  };
  const manifest = {
    name: 'pg-bun-project',
    version: '1.0.0',
    private: true,
    dependencies: options.dependencies ?? {},
    devDependencies: options.devDependencies ?? {},
    trustedDependencies: [...(options.trusted ?? [])],
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(join(dir, 'bunfig.toml'), `[install]\nregistry = "${options.registryUrl}/"\n\n${options.bunfig ?? ''}`);
  if (options.provenancerc !== undefined) writeFileSync(join(dir, '.provenancerc'), options.provenancerc);
  return {
    dir,
    id,
    env,
    bun: (args, extraEnv = {}) => runCommand(BUN_BIN, args, { cwd: dir, env: { ...env, ...extraEnv } }),
    ...projectFiles(layout, options.markers, 'bun.lock'),
    installed: (name) => existsSync(join(dir, 'node_modules', name)),
    cleanup: () => rmSync(parent, { recursive: true, force: true }),
  };
}

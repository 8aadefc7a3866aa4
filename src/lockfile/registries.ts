/**
 * The registries a package manager is configured with, read from its own settings:
 * npm and pnpm from .npmrc (`registry=`, `@scope:registry=`, `replace-registry-host=`),
 * Yarn from .yarnrc.yml (`npmRegistryServer`, `npmScopes`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseSyml } from '@yarnpkg/parsers';
import { isObject } from '../json';
import { authorizationFor, loadNpmConfig, withTrailingSlash, type NpmConfig } from '../npmrc';
import type { Registries } from './source';

/** Registries of an npm configuration (src/npmrc.ts). */
export function npmRegistries(config: NpmConfig): Registries {
  const scopes: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.settings)) {
    const scope = /^(@[^/:]+):registry$/.exec(key);
    if (scope && value) scopes[scope[1]!] = withTrailingSlash(value);
  }
  const replaceHost = config.settings['replace-registry-host'];
  return { default: config.registry, scopes, ...(replaceHost ? { replaceHost } : {}) };
}

/** npm's (and pnpm's) registries for a project directory. */
export function npmRegistriesFor(dir: string, env: NodeJS.ProcessEnv = process.env): Registries {
  return npmRegistries(loadNpmConfig({ cwd: dir, env }));
}

export const YARN_DEFAULT_REGISTRY = 'https://registry.yarnpkg.com/';

function readYarnrc(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = parseSyml(readFileSync(file, 'utf8'));
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Yarn's registry settings layered onto `into`: `npmRegistryServer`, and each `npmScopes` entry's
 * `npmRegistryServer` by scope name (with or without `@`). From .yarnrc.yml here, from Yarn's own
 * configuration in the Yarn plugin (plugins/yarn/locators.ts).
 */
export function applyYarnRegistries(into: { default: string; scopes: Record<string, string> }, server: unknown, scopes: Iterable<readonly [string, unknown]>): void {
  if (typeof server === 'string' && server) into.default = withTrailingSlash(server);
  for (const [scope, scopeServer] of scopes) if (typeof scopeServer === 'string') into.scopes[`@${scope.replace(/^@/, '')}`] = withTrailingSlash(scopeServer);
}

function applyYarnrc(rc: Record<string, unknown>, into: { default: string; scopes: Record<string, string> }): void {
  const scopes = isObject(rc.npmScopes) ? Object.entries(rc.npmScopes).map(([scope, settings]) => [scope, isObject(settings) ? settings.npmRegistryServer : undefined] as const) : [];
  applyYarnRegistries(into, rc.npmRegistryServer, scopes);
}

/** Folders from the filesystem root down to `dir` (Yarn reads a .yarnrc.yml in each, nearest last). */
function foldersDownTo(dir: string): string[] {
  const out: string[] = [];
  for (let current = resolve(dir); ; current = dirname(current)) {
    out.unshift(current);
    if (dirname(current) === current) return out;
  }
}

/** Yarn Berry's registries for a project directory (home, then each folder down to the project, then YARN_* variables). */
export function yarnRegistriesFor(dir: string, env: NodeJS.ProcessEnv = process.env): Registries {
  const into = { default: YARN_DEFAULT_REGISTRY, scopes: {} as Record<string, string> };
  const name = env.YARN_RC_FILENAME || '.yarnrc.yml';
  const files = [join(env.HOME || homedir(), name), ...foldersDownTo(dir).map((folder) => join(folder, name))];
  for (const file of new Set(files)) {
    const rc = readYarnrc(file);
    if (rc) applyYarnrc(rc, into);
  }
  if (env.YARN_NPM_REGISTRY_SERVER) into.default = withTrailingSlash(env.YARN_NPM_REGISTRY_SERVER);
  return into;
}

interface BunRuntime {
  TOML?: { parse(text: string): unknown };
}

/** bunfig.toml's `install` table (parsed with Bun's own TOML parser when running inside Bun). */
export function bunfigInstall(projectDir: string): Record<string, unknown> {
  const file = join(projectDir, 'bunfig.toml');
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  const toml = (globalThis as { Bun?: BunRuntime }).Bun?.TOML;
  if (toml) {
    const parsed = toml.parse(text) as { install?: Record<string, unknown> };
    return parsed.install ?? {};
  }
  // Outside Bun (`check`, unit tests): the key form `init` and Bun's docs use.
  const match = /^\s*registry\s*=\s*"([^"]+)"/m.exec(text);
  return match ? { registry: match[1] } : {};
}

/** A bunfig registry value: a URL string or `{ url, token }`. */
export function bunRegistryUrl(value: unknown): { url: string; token?: string } | undefined {
  if (typeof value === 'string' && /^https?:\/\//.test(value)) return { url: withTrailingSlash(value) };
  if (isObject(value) && typeof value.url === 'string' && /^https?:\/\//.test(value.url)) {
    return { url: withTrailingSlash(value.url), ...(typeof value.token === 'string' ? { token: value.token } : {}) };
  }
  return undefined;
}

/** Bun's registries and the credentials it sends them. */
export interface BunRegistryConfig {
  registries: Registries;
  /** The Authorization header for a registry URL: bunfig.toml's `token`, else .npmrc's credentials. */
  authorization(url: string): string | undefined;
}

/** Bun's registries for a project directory: bunfig.toml `[install] registry`/`scopes` over the npm configuration. */
export function bunRegistryConfig(dir: string, env: NodeJS.ProcessEnv = process.env): BunRegistryConfig {
  const npmConfig = loadNpmConfig({ cwd: dir, env });
  const npm = npmRegistries(npmConfig);
  const install = bunfigInstall(dir);
  const tokens = new Map<string, string>();
  const urlOf = (value: unknown): string | undefined => {
    const found = bunRegistryUrl(value);
    if (found?.token) tokens.set(found.url, found.token);
    return found?.url;
  };
  const scopes: Record<string, string> = { ...npm.scopes };
  if (isObject(install.scopes)) {
    for (const [scope, value] of Object.entries(install.scopes)) {
      const url = urlOf(value);
      if (url) scopes[`@${scope.replace(/^@/, '')}`] = url;
    }
  }
  return {
    registries: { default: urlOf(install.registry) ?? npm.default, scopes },
    authorization(url) {
      const token = tokens.get(url);
      return token ? `Bearer ${token}` : authorizationFor(url, npmConfig);
    },
  };
}

/** Bun's registries for a project directory (registry identity of bun.lock entries and of the scanner's packages). */
export function bunRegistriesFor(dir: string, env: NodeJS.ProcessEnv = process.env): Registries {
  return bunRegistryConfig(dir, env).registries;
}

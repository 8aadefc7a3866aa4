/**
 * The registries a Bun project installs from: bunfig.toml `[install] registry` and
 * `[install.scopes]`, and the npm configuration Bun also reads (.npmrc; npm's default registry
 * when it names none).
 * A tarball counts as a registry package only when it comes from one of these.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { authorizationFor, DEFAULT_REGISTRY, loadNpmConfig, withTrailingSlash, type NpmConfig } from '../../src/npmrc';

interface BunRuntime {
  TOML?: { parse(text: string): unknown };
}

type RegistryValue = string | { url?: unknown; token?: unknown };

function urlOf(value: unknown): { url: string; token?: string } | undefined {
  if (typeof value === 'string' && /^https?:\/\//.test(value)) return { url: withTrailingSlash(value) };
  if (typeof value === 'object' && value !== null) {
    const { url, token } = value as { url?: unknown; token?: unknown };
    if (typeof url === 'string' && /^https?:\/\//.test(url)) return { url: withTrailingSlash(url), ...(typeof token === 'string' ? { token } : {}) };
  }
  return undefined;
}

/** bunfig.toml's `install` table (parsed with Bun's own TOML parser when running inside Bun). */
function bunfigInstall(projectDir: string): Record<string, unknown> {
  const file = join(projectDir, 'bunfig.toml');
  if (!existsSync(file)) return {};
  const text = readFileSync(file, 'utf8');
  const toml = (globalThis as { Bun?: BunRuntime }).Bun?.TOML;
  if (toml) {
    const parsed = toml.parse(text) as { install?: Record<string, unknown> };
    return parsed.install ?? {};
  }
  // Outside Bun (unit tests): the one key form init writes.
  const match = /^\s*registry\s*=\s*"([^"]+)"/m.exec(text);
  return match ? { registry: match[1] } : {};
}

export interface Registries {
  urls: string[];
  authorization(url: string): string | undefined;
}

export function projectRegistries(projectDir: string, env: NodeJS.ProcessEnv): Registries {
  const install = bunfigInstall(projectDir);
  const tokens = new Map<string, string>();
  const urls: string[] = [];
  const add = (value: unknown) => {
    const found = urlOf(value as RegistryValue);
    if (!found) return;
    urls.push(found.url);
    if (found.token) tokens.set(found.url, found.token);
  };
  add(install.registry);
  const scopes = install.scopes;
  if (typeof scopes === 'object' && scopes !== null) for (const value of Object.values(scopes)) add(value);
  let npm: NpmConfig | undefined;
  try {
    npm = loadNpmConfig({ cwd: projectDir, env });
    add(npm.registry);
    for (const [key, value] of Object.entries(npm.settings)) if (key.endsWith(':registry')) add(value);
  } catch {
    add(DEFAULT_REGISTRY); // an unreadable .npmrc: Bun's default
  }
  return {
    urls: [...new Set(urls)],
    authorization(url) {
      const token = tokens.get(url);
      if (token) return `Bearer ${token}`;
      return npm ? authorizationFor(url, npm) : undefined;
    },
  };
}

/**
 * The registries a Bun project installs from: bunfig.toml `[install] registry` and
 * `[install.scopes]`, and the npm configuration Bun also reads (.npmrc; npm's default registry
 * when it names none).
 * A tarball counts as a registry package only when it comes from one of these.
 */
import { bunfigInstall, bunRegistryUrl } from '../../src/lockfile/registries';
import { authorizationFor, DEFAULT_REGISTRY, loadNpmConfig, type NpmConfig } from '../../src/npmrc';

export interface Registries {
  urls: string[];
  authorization(url: string): string | undefined;
}

export function projectRegistries(projectDir: string, env: NodeJS.ProcessEnv): Registries {
  const install = bunfigInstall(projectDir);
  const tokens = new Map<string, string>();
  const urls: string[] = [];
  const add = (value: unknown) => {
    const found = bunRegistryUrl(value);
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

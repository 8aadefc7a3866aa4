/**
 * The integrity of the published pnpm config dependency, read from the registry through the
 * user's npm configuration (.npmrc registries, scopes, auth, proxies): pnpm 10 refuses a
 * config dependency pinned without `version+sha512-…`, and pnpm 12 accepts the same pin.
 */
import { ConfigError } from '../errors';
import { fetchOptions, loadNpmConfig, registryFor } from '../npmrc';

export interface PinLookup {
  cwd: string;
  env: NodeJS.ProcessEnv;
  name: string;
  version: string;
}

/** `sha512-…` of name@version as the registry publishes it. */
export async function publishedIntegrity(lookup: PinLookup): Promise<string> {
  const npm = loadNpmConfig({ cwd: lookup.cwd, env: lookup.env });
  const registry = registryFor(lookup.name, npm);
  const pacote = (await import('pacote')).default;
  let manifest: { _integrity?: string; dist?: { integrity?: string } };
  try {
    manifest = (await pacote.manifest(`${lookup.name}@${lookup.version}`, { ...fetchOptions(npm), registry, fullMetadata: false, preferOnline: true })) as typeof manifest;
  } catch (error) {
    const why = (error as Error).message.split('\n')[0];
    throw new ConfigError(`cannot read ${lookup.name}@${lookup.version} from ${registry} (${why}): pnpm 10 needs its integrity in the pin. Publish it there (or point .npmrc at a registry that has it), or use --method pnpmfile`, {
      code: 'ERR_PG_CONFIG_PIN',
      cause: error,
    });
  }
  const integrity = manifest.dist?.integrity ?? manifest._integrity;
  const sha512 = integrity?.split(/\s+/).find((part) => part.startsWith('sha512-'));
  if (!sha512) throw new ConfigError(`${registry} publishes ${lookup.name}@${lookup.version} without a sha512 integrity; pnpm 10 cannot pin it`, { code: 'ERR_PG_CONFIG_PIN' });
  return sha512;
}

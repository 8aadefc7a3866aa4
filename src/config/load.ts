import { defaultLoaders, type Loader } from 'cosmiconfig';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { ConfigError } from '../errors';
import type { Mode } from '../types';
import { defaultConfig } from './defaults';
import { findConfig } from './discover';
import { configFromMemo, rememberConfig, type ConfigMemo } from './memo';
import type { Config } from './types';
import { validateConfig } from './validate';
import { parseConfigYaml } from './yaml';

export const MODULE_NAME = 'provenance';

export { SEARCH_PLACES } from './discover';

/** YAML through config/yaml.ts: line/column in errors, and dates stay `YYYY-MM-DD` strings. */
const loadYaml: Loader = (filepath, content) => {
  const parsed = parseConfigYaml(content);
  if ('problem' in parsed) throw new ConfigError(`${filepath}: invalid YAML: ${parsed.problem}`, { file: filepath, code: 'ERR_PG_CONFIG_INVALID' });
  return parsed.value;
};

const loadJson: Loader = (filepath, content) => {
  try {
    return JSON.parse(content) as unknown;
  } catch (error) {
    throw new ConfigError(`${filepath}: invalid JSON: ${(error as Error).message}`, { file: filepath, code: 'ERR_PG_CONFIG_INVALID' });
  }
};

export interface LoadConfigOptions {
  /** Where the search starts (the project directory). */
  cwd: string;
  /** An explicit config file: no search. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** What a stored verdict remembers of the config file (config/memo.ts): used when the file is unchanged. */
  memo?: ConfigMemo;
}

function wrapLoadError(error: unknown, file: string): never {
  if (error instanceof ConfigError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  throw new ConfigError(`${file}: could not be loaded: ${message.split('\n')[0]}`, { file, cause: error, code: 'ERR_PG_CONFIG_INVALID' });
}

/** The loaders of our own formats, by extension ('' for `.provenancerc`): the only configs remembered (memo.ts). */
const OWN_LOADERS: Record<string, Loader> = { '.json': loadJson, '.yaml': loadYaml, '.yml': loadYaml, '': loadYaml };

/** JavaScript and TypeScript: cosmiconfig's loaders (import, else require), read only when one is loaded (cosmiconfig loads on first use in the bundles). */
const SCRIPT_EXTENSIONS = ['.js', '.cjs', '.mjs', '.ts'] as const;

/** package.json#provenance: that key and no other. */
const loadPackageJson: Loader = (filepath, content) => Object(loadJson(filepath, content)).provenance as unknown;

/**
 * The loader of `filepath`. cosmiconfig's loaders are called directly, never through a cosmiconfig
 * explorer, which would take options from a meta config in the working directory (a
 * `.config/config.json` naming another `packageProp` of package.json) and merge in the files a
 * config names in `$import`: neither is part of this config's format.
 */
function loaderOf(filepath: string): Loader {
  if (isPackageJson(filepath)) return loadPackageJson;
  const extension = extname(filepath);
  const script = SCRIPT_EXTENSIONS.find((known) => known === extension);
  const loader = OWN_LOADERS[extension] ?? (script && defaultLoaders[script]);
  if (!loader) throw new ConfigError(`${filepath}: not a config format (expected .provenancerc, .json, .yaml, .yml, .js, .cjs or .mjs)`, { file: filepath, code: 'ERR_PG_CONFIG_INVALID' });
  return loader;
}

function isOwnFormat(filepath: string): boolean {
  return !isPackageJson(filepath) && OWN_LOADERS[extname(filepath)] !== undefined;
}

function isPackageJson(filepath: string): boolean {
  return basename(filepath) === 'package.json';
}

/** How messages name the config in `filepath` (`package.json#provenance` for a manifest). */
export function configName(filepath: string): string {
  return isPackageJson(filepath) ? `${filepath}#${MODULE_NAME}` : filepath;
}

/** The raw config in `filepath` (whose text is `content`); an empty file (or an empty `package.json#provenance`) is an error. */
async function readConfigFile(filepath: string, content: string): Promise<unknown> {
  let raw: unknown;
  try {
    raw = content.trim() === '' ? undefined : await loaderOf(filepath)(filepath, content);
  } catch (error) {
    wrapLoadError(error, filepath);
  }
  if (raw === undefined || raw === null) {
    const remedy = isPackageJson(filepath) ? `remove the "${MODULE_NAME}" key` : 'delete the file';
    throw new ConfigError(`${configName(filepath)}: the config is empty; write a policy (see .provenancerc.example) or ${remedy}`, { file: filepath, code: 'ERR_PG_CONFIG_EMPTY' });
  }
  return raw;
}

function locate(options: LoadConfigOptions): string | undefined {
  if (!options.configPath) return findConfig(options.cwd).filepath;
  const filepath = resolve(options.cwd, options.configPath);
  if (!existsSync(filepath) || !statSync(filepath).isFile()) {
    throw new ConfigError(`${filepath}: config file not found`, { file: filepath, code: 'ERR_PG_CONFIG_NOT_FOUND' });
  }
  // A format no loader reads is refused by loaderOf, naming the formats.
  return filepath;
}

/** Finds (or loads the given) config, validates it, and applies environment overrides. */
export async function loadConfig(options: LoadConfigOptions): Promise<Config> {
  const env = options.env ?? process.env;
  const filepath = locate(options);
  if (!filepath) return applyEnvironment(defaultConfig(resolve(options.cwd)), env);
  const bytes = readBytes(filepath);
  const own = isOwnFormat(filepath);
  const remembered = own ? configFromMemo(options.memo, filepath, bytes) : undefined;
  if (remembered) return applyEnvironment(remembered, env);
  const config = await validatedConfig(filepath, bytes.toString('utf8'));
  if (own) rememberConfig(config, filepath, bytes);
  return applyEnvironment(config, env);
}

function readBytes(filepath: string): Buffer {
  try {
    return readFileSync(filepath);
  } catch (error) {
    wrapLoadError(error, filepath);
  }
}

async function validatedConfig(filepath: string, content: string): Promise<Config> {
  const raw = await readConfigFile(filepath, content);
  const { config, problems } = validateConfig(raw, dirname(filepath));
  if (problems.length > 0) {
    const where = configName(filepath);
    throw new ConfigError(
      problems.length === 1 ? `${where}: ${problems[0]}` : `${where}: invalid config:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      { file: filepath, code: 'ERR_PG_CONFIG_INVALID' },
    );
  }
  config.filepath = filepath;
  return config;
}

/** PROVENANCE_GUARD_MODE and PROVENANCE_GUARD_OFFLINE override the file. */
export function applyEnvironment(config: Config, env: NodeJS.ProcessEnv): Config {
  const mode = env.PROVENANCE_GUARD_MODE;
  if (mode !== undefined && mode !== '') {
    if (mode !== 'block' && mode !== 'warn' && mode !== 'off') {
      throw new ConfigError(`PROVENANCE_GUARD_MODE: expected one of block | warn | off, got ${JSON.stringify(mode)}`, { code: 'ERR_PG_CONFIG_ENV' });
    }
    config.mode = mode as Mode;
  }
  const offline = env.PROVENANCE_GUARD_OFFLINE;
  if (offline !== undefined && offline !== '') {
    if (/^(1|true|yes)$/i.test(offline)) config.feed.offline = true;
    else if (/^(0|false|no)$/i.test(offline)) config.feed.offline = false;
    else throw new ConfigError(`PROVENANCE_GUARD_OFFLINE: expected 1 or 0, got ${JSON.stringify(offline)}`, { code: 'ERR_PG_CONFIG_ENV' });
  }
  return config;
}

import { cosmiconfig, defaultLoaders, type Loader } from 'cosmiconfig';
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

function explorer() {
  return cosmiconfig(MODULE_NAME, {
    searchStrategy: 'none',
    loaders: { ...defaultLoaders, '.yaml': loadYaml, '.yml': loadYaml, '.json': loadJson, noExt: loadYaml },
    cache: false,
  });
}

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

/** The loaders of our own formats, by extension ('' for `.provenancerc`). */
const OWN_LOADERS: Record<string, Loader> = { '.json': loadJson, '.yaml': loadYaml, '.yml': loadYaml, '': loadYaml };

type LoadResult = Awaited<ReturnType<ReturnType<typeof explorer>['load']>>;

/**
 * JSON and YAML configs are read here, as cosmiconfig would with these loaders; cosmiconfig
 * (several milliseconds to initialise on every run) loads only JavaScript configs and package.json.
 */
async function loadFile(filepath: string, content = ownFormat(filepath) ? readFileSync(filepath, 'utf8') : undefined): Promise<LoadResult> {
  const own = ownFormat(filepath);
  if (!own || content === undefined) return explorer().load(filepath);
  if (content.trim() === '') return { config: undefined, filepath, isEmpty: true };
  return { config: (await own(filepath, content)) as unknown, filepath };
}

function ownFormat(filepath: string): Loader | undefined {
  return basename(filepath) === 'package.json' ? undefined : OWN_LOADERS[extname(filepath)];
}

/** The raw config in `filepath`; an empty file (or an empty `package.json#provenance`) is an error. */
async function readConfigFile(filepath: string, content?: string): Promise<unknown> {
  let result: LoadResult;
  try {
    result = await loadFile(filepath, content);
  } catch (error) {
    wrapLoadError(error, filepath);
  }
  const raw = result?.config as unknown;
  if (!result || result.isEmpty || raw === undefined || raw === null) {
    const inManifest = filepath.endsWith('package.json');
    const where = inManifest ? `${filepath}#${MODULE_NAME}` : filepath;
    const remedy = inManifest ? `remove the "${MODULE_NAME}" key` : 'delete the file';
    throw new ConfigError(`${where}: the config is empty; write a policy (see .provenancerc.example) or ${remedy}`, { file: filepath, code: 'ERR_PG_CONFIG_EMPTY' });
  }
  return raw;
}

/** The extensions a config file given with --config can have ('' is YAML or JSON, as `.provenancerc`; .ts as cosmiconfig loads it). */
const KNOWN_EXTENSIONS: readonly string[] = ['', '.json', '.yaml', '.yml', '.js', '.cjs', '.mjs', '.ts'];

function locate(options: LoadConfigOptions): string | undefined {
  if (!options.configPath) return findConfig(options.cwd).filepath;
  const filepath = resolve(options.cwd, options.configPath);
  if (!existsSync(filepath) || !statSync(filepath).isFile()) {
    throw new ConfigError(`${filepath}: config file not found`, { file: filepath, code: 'ERR_PG_CONFIG_NOT_FOUND' });
  }
  const ext = extname(filepath);
  if (!KNOWN_EXTENSIONS.includes(ext) && basename(filepath) !== 'package.json') {
    throw new ConfigError(`${filepath}: cannot tell the config format from the extension ${JSON.stringify(ext)} (use .yaml, .yml, .json, .js, .cjs, .mjs, or a file named .provenancerc)`, { file: filepath, code: 'ERR_PG_CONFIG_INVALID' });
  }
  return filepath;
}

/** Finds (or loads the given) config, validates it, and applies environment overrides. */
export async function loadConfig(options: LoadConfigOptions): Promise<Config> {
  const env = options.env ?? process.env;
  const filepath = locate(options);
  if (!filepath) return applyEnvironment(defaultConfig(resolve(options.cwd)), env);
  const bytes = ownFormat(filepath) ? readBytes(filepath) : undefined;
  const remembered = bytes && configFromMemo(options.memo, filepath, bytes);
  if (remembered) return applyEnvironment(remembered, env);
  const config = await validatedConfig(filepath, bytes?.toString('utf8'));
  if (bytes) rememberConfig(config, filepath, bytes);
  return applyEnvironment(config, env);
}

function readBytes(filepath: string): Buffer {
  try {
    return readFileSync(filepath);
  } catch (error) {
    wrapLoadError(error, filepath);
  }
}

async function validatedConfig(filepath: string, content: string | undefined): Promise<Config> {
  const raw = await readConfigFile(filepath, content);
  const { config, problems } = validateConfig(raw, dirname(filepath));
  if (problems.length > 0) {
    const where = filepath.endsWith('package.json') ? `${filepath}#${MODULE_NAME}` : filepath;
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

import { cosmiconfig, defaultLoaders, type Loader } from 'cosmiconfig';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from '../errors';
import type { Mode } from '../types';
import { defaultConfig } from './defaults';
import type { Config } from './types';
import { validateConfig } from './validate';

export const MODULE_NAME = 'provenance';

export const SEARCH_PLACES = [
  'package.json',
  '.provenancerc',
  '.provenancerc.json',
  '.provenancerc.yaml',
  '.provenancerc.yml',
  '.provenancerc.js',
  '.provenancerc.cjs',
  '.provenancerc.mjs',
  'provenance.config.js',
  'provenance.config.cjs',
  'provenance.config.mjs',
] as const;

/** YAML through the `yaml` library: line/column in errors, and dates stay `YYYY-MM-DD` strings. */
const loadYaml: Loader = (filepath, content) => {
  try {
    return parseYaml(content, { prettyErrors: true, uniqueKeys: true }) as unknown;
  } catch (error) {
    const detail = error instanceof YAMLParseError ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(`${filepath}: invalid YAML: ${detail}`, { file: filepath });
  }
};

const loadJson: Loader = (filepath, content) => {
  try {
    return JSON.parse(content) as unknown;
  } catch (error) {
    throw new ConfigError(`${filepath}: invalid JSON: ${(error as Error).message}`, { file: filepath });
  }
};

function explorer() {
  return cosmiconfig(MODULE_NAME, {
    searchPlaces: [...SEARCH_PLACES],
    searchStrategy: 'global',
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
}

function wrapLoadError(error: unknown, file: string | undefined): never {
  if (error instanceof ConfigError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  throw new ConfigError(`${file ?? 'config'}: could not be loaded: ${message.split('\n')[0]}`, file ? { file, cause: error } : { cause: error });
}

/** Finds (or loads the given) config, validates it, and applies environment overrides. */
export async function loadConfig(options: LoadConfigOptions): Promise<Config> {
  const env = options.env ?? process.env;
  let raw: unknown;
  let filepath: string | undefined;
  if (options.configPath) {
    filepath = resolve(options.cwd, options.configPath);
    if (!existsSync(filepath) || !statSync(filepath).isFile()) {
      throw new ConfigError(`${filepath}: config file not found`, { file: filepath });
    }
    try {
      const result = await explorer().load(filepath);
      raw = result?.config;
    } catch (error) {
      wrapLoadError(error, filepath);
    }
  } else {
    try {
      const result = await explorer().search(options.cwd);
      raw = result?.config;
      filepath = result?.filepath;
    } catch (error) {
      const file = /(?:Error in|^)\s*(\/[^:\n]+):/.exec(error instanceof Error ? error.message : '')?.[1];
      wrapLoadError(error, file);
    }
  }
  const rootDir = filepath ? dirname(filepath) : resolve(options.cwd);
  let config: Config;
  if (raw === undefined) {
    config = defaultConfig(rootDir);
  } else {
    const { config: validated, problems } = validateConfig(raw, rootDir);
    if (problems.length > 0) {
      const where = filepath!.endsWith('package.json') ? `${filepath}#${MODULE_NAME}` : filepath!;
      throw new ConfigError(
        problems.length === 1 ? `${where}: ${problems[0]}` : `${where}: invalid config:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        { file: filepath! },
      );
    }
    config = validated;
  }
  if (filepath) config.filepath = filepath;
  return applyEnvironment(config, env);
}

/** PROVENANCE_GUARD_MODE and PROVENANCE_GUARD_OFFLINE override the file. */
export function applyEnvironment(config: Config, env: NodeJS.ProcessEnv): Config {
  const mode = env.PROVENANCE_GUARD_MODE;
  if (mode !== undefined && mode !== '') {
    if (mode !== 'block' && mode !== 'warn' && mode !== 'off') {
      throw new ConfigError(`PROVENANCE_GUARD_MODE: expected one of block | warn | off, got ${JSON.stringify(mode)}`);
    }
    config.mode = mode as Mode;
  }
  const offline = env.PROVENANCE_GUARD_OFFLINE;
  if (offline !== undefined && offline !== '') {
    if (/^(1|true|yes)$/i.test(offline)) config.feed.offline = true;
    else if (/^(0|false|no)$/i.test(offline)) config.feed.offline = false;
    else throw new ConfigError(`PROVENANCE_GUARD_OFFLINE: expected 1 or 0, got ${JSON.stringify(offline)}`);
  }
  return config;
}

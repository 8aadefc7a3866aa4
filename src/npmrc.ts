/**
 * The user's npm configuration, read the way npm reads it: global npmrc, then ~/.npmrc
 * (or NPM_CONFIG_USERCONFIG), then the project's .npmrc, then npm_config_* environment
 * variables, later layers winning; `${VAR}` in values is expanded from the environment.
 * The result is the flat option object npm-registry-fetch (and so pacote) understands:
 * `registry`, `@scope:registry`, `//host/path/:_authToken` and friends, proxy and TLS settings.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

// `ini` is the parser npm itself uses (installed with pacote's @npmcli/git).
const ini = require('ini') as { parse(text: string): Record<string, unknown> };

export const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';

export interface NpmrcOptions {
  /** Directory the project .npmrc is looked up from (npm's local prefix: nearest package.json). */
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

export interface NpmConfig {
  /** Default registry, with a trailing slash. */
  registry: string;
  /** Raw settings by npm key (`registry`, `@scope:registry`, `//host/:_authToken`, …). */
  settings: Record<string, string>;
  /** Files that were read, lowest precedence first. */
  files: string[];
}

function expandEnv(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/(\\*)\$\{([^${}?]+)(\?)?\}/g, (whole, slashes: string, name: string, optional?: string) => {
    if (slashes.length % 2 === 1) return whole.slice(1);
    const found = env[name];
    if (found === undefined) return optional ? slashes : whole;
    return slashes + found;
  });
}

function readIni(file: string, env: NodeJS.ProcessEnv, into: Record<string, string>): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = ini.parse(text);
  } catch {
    return false;
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === 'string') into[expandEnv(key, env)] = expandEnv(value, env);
    else if (typeof value === 'boolean' || typeof value === 'number') into[key] = String(value);
  }
  return true;
}

/** npm's local prefix: the nearest directory upward holding package.json or node_modules. */
function localPrefix(cwd: string): string {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) || existsSync(join(dir, 'node_modules'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(cwd);
    dir = parent;
  }
}

function envSetting(entries: readonly [string, string | undefined][], name: string): string | undefined {
  const wanted = `npm_config_${name}`;
  for (const [key, value] of entries) if (key.toLowerCase() === wanted && value) return value;
  return undefined;
}

export function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

export function loadNpmConfig(options: NpmrcOptions): NpmConfig {
  const env = options.env ?? process.env;
  // Read once: each read of process.env crosses into C++ (a repeat `check` runs this every time).
  const entries = Object.entries(env);
  const settings: Record<string, string> = {};
  const files: string[] = [];
  const prefix = envSetting(entries, 'prefix') ?? dirname(dirname(process.execPath));
  const globalFile = envSetting(entries, 'globalconfig') ?? join(prefix, 'etc', 'npmrc');
  const userFile = envSetting(entries, 'userconfig') ?? join(env.HOME || homedir(), '.npmrc');
  const projectFile = join(localPrefix(options.cwd), '.npmrc');
  const layers = [globalFile, userFile];
  if (resolve(projectFile) !== resolve(userFile)) layers.push(projectFile);
  for (const file of layers) if (readIni(file, env, settings)) files.push(file);
  for (const [key, value] of entries) {
    if (!/^npm_config_/i.test(key) || !value) continue;
    let name = key.slice('npm_config_'.length);
    if (!name.startsWith('//')) name = name.replace(/(?!^)_/g, '-').toLowerCase();
    settings[name] = value;
  }
  return { registry: withTrailingSlash(settings.registry || DEFAULT_REGISTRY), settings, files };
}

/** The registry npm would use for `name` (scoped registries honoured), with a trailing slash. */
export function registryFor(name: string, config: NpmConfig, override?: string): string {
  if (name.startsWith('@')) {
    const scoped = config.settings[`${name.split('/')[0]}:registry`];
    if (scoped) return withTrailingSlash(scoped);
  }
  return withTrailingSlash(override || config.registry);
}

/**
 * Options for npm-registry-fetch / pacote: the raw keys (auth is looked up per registry
 * by its `//host/path/:` prefix) plus the camel-cased network settings.
 */
export function fetchOptions(config: NpmConfig): Record<string, unknown> {
  const s = config.settings;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(s)) {
    if (key.startsWith('//') || /^@[^/]+:registry$/.test(key)) out[key] = value;
  }
  const bool = (v: string | undefined) => (v === undefined ? undefined : v !== 'false');
  if (s['strict-ssl'] !== undefined) out.strictSSL = bool(s['strict-ssl']);
  if (s['https-proxy'] || s.proxy) out.httpsProxy = s['https-proxy'] || s.proxy;
  if (s.proxy) out.proxy = s.proxy;
  if (s.noproxy) out.noProxy = s.noproxy;
  if (s['local-address']) out.localAddress = s['local-address'];
  if (s.ca) out.ca = s.ca;
  else if (s.cafile) {
    try {
      out.ca = readFileSync(s.cafile, 'utf8');
    } catch {
      // npm ignores an unreadable cafile too.
    }
  }
  if (s.cert) out.cert = s.cert;
  if (s.key) out.key = s.key;
  if (s._auth) out._auth = s._auth;
  if (s['always-auth'] !== undefined) out.alwaysAuth = bool(s['always-auth']);
  return out;
}

/**
 * The Authorization header npm would send to `url`: the `//host/path/:_authToken`,
 * `:_auth` or `:username`/`:_password` setting with the longest matching path prefix.
 */
export function authorizationFor(url: string, config: NpmConfig): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const s = config.settings;
  let path = parsed.pathname.replace(/[^/]*$/, '');
  for (;;) {
    const key = `//${parsed.host}${path}`;
    const token = s[`${key}:_authToken`];
    if (token) return `Bearer ${token}`;
    const auth = s[`${key}:_auth`];
    if (auth) return `Basic ${auth}`;
    const user = s[`${key}:username`];
    const password = s[`${key}:_password`];
    if (user && password) return `Basic ${Buffer.from(`${user}:${Buffer.from(password, 'base64').toString('utf8')}`).toString('base64')}`;
    if (path === '/' || path === '') return undefined;
    path = path.replace(/[^/]*\/$/, '');
  }
}

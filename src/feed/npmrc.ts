import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The registry settings pacote needs, from .npmrc files and npm_config_* variables:
 * `registry`, `@scope:registry` and `//host/path/:_authToken`-style credentials.
 * Precedence as npm: environment, then the project's .npmrc, then the user's ~/.npmrc.
 */
export function npmOptions(rootDir: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const options: Record<string, string> = {};
  const home = env.HOME || homedir();
  const files = [env.NPM_CONFIG_USERCONFIG || env.npm_config_userconfig || join(home, '.npmrc'), join(rootDir, '.npmrc')];
  for (const file of files) Object.assign(options, parseNpmrc(file, env));
  for (const [key, value] of Object.entries(env)) {
    const match = /^npm_config_(.+)$/i.exec(key);
    if (!match || value === undefined) continue;
    const name = match[1]!.toLowerCase();
    if (name === 'registry' || name.endsWith(':registry')) options[name.replace(/_/g, '-')] = value;
  }
  return options;
}

function parseNpmrc(path: string, env: NodeJS.ProcessEnv): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    value = value.replace(/\$\{([^}]+)\}/g, (_, name: string) => env[name] ?? '');
    out[key] = value;
  }
  return out;
}

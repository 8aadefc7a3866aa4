/**
 * Wires the pnpm hook into a project (`provenance-guard init --pm pnpm`).
 * - `config-dependency` (recommended): pnpm-workspace.yaml `configDependencies` gets
 *   pnpm-plugin-provenance-guard; pnpm installs it before loading any pnpmfile, so a fresh
 *   clone is guarded from its first install. pnpm 10 needs the pin `version+sha512-…` there
 *   (a bare version makes it hang); pnpm 11/12 accept a bare version and pin the integrity in
 *   pnpm-lock.yaml. Without a known integrity, `pnpm add --config` writes the pin.
 * - `pnpmfile`: a one-line .pnpmfile.cjs loading `provenance-guard/pnpmfile` (provenance-guard
 *   must then be installed where the project can require it; the shim fails closed otherwise).
 * Comments and formatting of an existing pnpm-workspace.yaml are kept.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap } from 'yaml';
import { readYamlMapping } from './yaml-file';
import { ConfigError } from '../errors';
import { VERSION } from '../version';

export const CONFIG_DEPENDENCY_NAME = 'pnpm-plugin-provenance-guard';
/**
 * The project's .pnpmfile.cjs. Small and stable on purpose: pnpm hashes this file into
 * pnpm-lock.yaml (pnpmfileChecksum), and upgrading provenance-guard must not change it.
 */
export const PNPMFILE_SHIM = `// provenance-guard checks every package before pnpm installs it. Keep this file stable:
// pnpm hashes it into pnpm-lock.yaml. It fails closed while provenance-guard is not installed.
let hooks;
try {
  hooks = require('provenance-guard/pnpmfile');
} catch (error) {
  if (process.env.PROVENANCE_GUARD_MODE !== 'off') {
    throw new Error('provenance-guard is not installed, so this install cannot be checked (' + (error.code || error.message) + '). '
      + 'Use the config dependency pnpm-plugin-provenance-guard, or set PROVENANCE_GUARD_MODE=off for this one install.');
  }
}
module.exports = hooks || {};
`;
export interface InitPnpmOptions {
  method: 'config-dependency' | 'pnpmfile';
  /** Version of pnpm-plugin-provenance-guard to pin (default: this provenance-guard's version). */
  version?: string;
  /** Its `sha512-…` integrity as published; pnpm 10 requires it in the pin. */
  integrity?: string;
}

export interface InitPnpmResult {
  /** Files written or changed. */
  changed: string[];
  /** What the user still has to do or should know. */
  notes: string[];
}

export function initPnpm(projectDir: string, options: InitPnpmOptions): InitPnpmResult {
  return options.method === 'config-dependency' ? addConfigDependency(projectDir, options) : writeShim(projectDir);
}

function addConfigDependency(projectDir: string, options: InitPnpmOptions): InitPnpmResult {
  const path = join(projectDir, 'pnpm-workspace.yaml');
  const doc = readYamlMapping(path);
  const existing = doc.get('configDependencies');
  if (existing !== undefined && existing !== null && !isMap(existing)) throw new ConfigError(`${path}: configDependencies: expected a mapping`, { file: path, code: 'ERR_PG_CONFIG_INVALID' });
  const version = options.version ?? VERSION;
  const pin = options.integrity ? `${version}+${options.integrity}` : version;
  const before = doc.getIn(['configDependencies', CONFIG_DEPENDENCY_NAME]);
  const notes: string[] = [];
  if (isWorkingPin(before)) {
    // Re-running init keeps what works: a pin with its integrity installs on pnpm 10 and 12.
    notes.push(`Kept the existing pin ${CONFIG_DEPENDENCY_NAME}: ${before} in ${path}.`);
    return { changed: [], notes };
  }
  if (!options.integrity) {
    notes.push(`pnpm 10 needs the integrity in the pin: run \`pnpm add --config ${CONFIG_DEPENDENCY_NAME}@${version}\` there (pnpm 11+ pins it in pnpm-lock.yaml).`);
  }
  notes.push('Commit pnpm-workspace.yaml (and pnpm-lock.yaml after the next install) so every clone and CI run is checked.');
  if (before === pin) return { changed: [], notes };
  doc.setIn(['configDependencies', CONFIG_DEPENDENCY_NAME], pin);
  writeFileSync(path, doc.toString());
  return { changed: [path], notes };
}

/** A config-dependency pin pnpm 10 accepts: `version+sha512-…`. */
export function isWorkingPin(pin: unknown): pin is string {
  return typeof pin === 'string' && /^[^+\s]+\+sha512-[A-Za-z0-9+/]+=*$/.test(pin);
}

/** The pin pnpm-workspace.yaml has for the guard's config dependency, if any. */
export function currentPin(projectDir: string): unknown {
  const path = join(projectDir, 'pnpm-workspace.yaml');
  return existsSync(path) ? readYamlMapping(path).getIn(['configDependencies', CONFIG_DEPENDENCY_NAME]) : undefined;
}

function writeShim(projectDir: string): InitPnpmResult {
  const path = join(projectDir, '.pnpmfile.cjs');
  const notes = [
    'Add provenance-guard as a devDependency; until it is installed the .pnpmfile.cjs fails closed (a fresh clone needs PROVENANCE_GUARD_MODE=off once, or use --method config-dependency).',
    'The lockfile records a checksum of .pnpmfile.cjs: run `pnpm install` once and commit pnpm-lock.yaml.',
  ];
  if (existsSync(path)) {
    const current = readFileSync(path, 'utf8');
    if (current.includes("require('provenance-guard/pnpmfile')")) return { changed: [], notes };
    throw new ConfigError(
      `${path} already exists; merge the hooks by hand: const guard = require('provenance-guard/pnpmfile'); call guard.hooks.readPackage / preResolution from yours (or use --method config-dependency, which needs no pnpmfile)`,
      { file: path, code: 'ERR_PG_INIT_CONFLICT' },
    );
  }
  writeFileSync(path, PNPMFILE_SHIM);
  return { changed: [path], notes };
}

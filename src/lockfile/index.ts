/** Lockfile readers: pnpm-lock.yaml, yarn.lock (Berry) and package-lock.json → ResolvedPackage[]. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { ResolvedPackage } from '../types';
import { fail, lineColumn } from './common';
import { packagesFromPackageLock } from './npm';
import { packagesFromPnpmLockfile } from './pnpm';
import { packagesFromYarnLock } from './yarn';

export { packagesFromPackageLock } from './npm';
export { packagesFromPnpmLockfile } from './pnpm';
export { packagesFromYarnLock } from './yarn';

export type LockfileKind = 'pnpm' | 'yarn' | 'npm';

/** File names looked for, in detection order. */
export const LOCKFILE_NAMES: readonly string[] = Object.freeze(['pnpm-lock.yaml', 'yarn.lock', 'package-lock.json', 'npm-shrinkwrap.json']);

const KIND_BY_NAME: Readonly<Record<string, LockfileKind>> = {
  'pnpm-lock.yaml': 'pnpm',
  'yarn.lock': 'yarn',
  'package-lock.json': 'npm',
  'npm-shrinkwrap.json': 'npm',
};

export function detectLockfile(dir: string): { path: string; kind: LockfileKind } | undefined {
  for (const name of LOCKFILE_NAMES) {
    const path = join(dir, name);
    if (existsSync(path)) return { path, kind: KIND_BY_NAME[name]! };
  }
  return undefined;
}

export function readLockfile(path: string, kind?: LockfileKind): ResolvedPackage[] {
  const file = resolve(path);
  const resolvedKind = kind ?? KIND_BY_NAME[basename(file)];
  if (!resolvedKind) return fail(path, `cannot tell the lockfile kind from its name (expected one of ${LOCKFILE_NAMES.join(', ')})`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(path, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`);
  }
  const dir = dirname(file);
  switch (resolvedKind) {
    case 'pnpm':
      return packagesFromPnpmLockfile(parseYamlText(text, path), dir, path);
    case 'yarn':
      return packagesFromYarnLock(text, dir, path);
    case 'npm':
      return packagesFromPackageLock(parseJsonText(text, path), dir, path);
  }
}

function parseYamlText(text: string, file: string): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const pos = error.linePos?.[0];
      const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
      return fail(file, `invalid YAML${where}: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    throw error;
  }
}

function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    let where = '';
    if (position) {
      const { line, column } = lineColumn(text, Number(position[1]));
      where = ` at line ${line}, column ${column}`;
    }
    return fail(file, `invalid JSON${where}: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}

/**
 * The `mode:` a config file declares, read on its own: when the rest of the file is invalid
 * (a typo in a rule, a broken YAML line further down), a file that says `mode: warn` still
 * means warn. Used only to decide how to fail, never to run a check.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Mode } from '../types';
import { parseConfigYaml } from './yaml';

// The modes and the line pattern are written inside the functions, not as module constants:
// Stryker's vitest runner does not re-evaluate a module for a mutant of its top level, and
// reported every such mutant survived although the tests fail on each (checked by hand).

function asMode(value: unknown): Mode | undefined {
  const modes: readonly Mode[] = ['block', 'warn', 'off'];
  return modes.find((mode) => mode === value);
}

/** `value[key]` when `value` is an object (a JSON array, string or number has no such key). */
function field(value: unknown, key: string): unknown {
  return Object(value)[key] as unknown;
}

function fromJson(text: string, file: string): Mode | undefined {
  const parsed: unknown = JSON.parse(text);
  return asMode(field(basename(file) === 'package.json' ? field(parsed, 'provenance') : parsed, 'mode'));
}

/**
 * Every top-level `mode:` line agreeing, else nothing (two different modes are no answer). A line
 * as YAML reads one: the key at the start of a line, a space or tab after the colon (`mode:warn`
 * is one plain string), the value alone or in matching quotes, and a comment only after a space
 * (`warn#x` is the value `warn#x`). Never across a line break.
 */
function fromLines(text: string): Mode | undefined {
  const lines = text.matchAll(/^mode[^\S\n]*:[^\S\n]+(["']?)(block|warn|off)\1(?:[^\S\n]+#.*)?[^\S\n]*$/gm);
  const found = new Set([...lines].map((m) => m[2]));
  return found.size === 1 ? asMode([...found][0]) : undefined;
}

/**
 * A document that parses declares the mode of its top-level mapping (a string or a list declares
 * none); one that does not, its `mode:` lines. A key given twice is an error, as in the loader
 * (load.ts): `mode: block` then `mode: warn` further down is two modes, not the last one.
 */
function fromYaml(text: string): Mode | undefined {
  const parsed = parseConfigYaml(text);
  return 'value' in parsed ? asMode(field(parsed.value, 'mode')) : fromLines(text);
}

/** The mode `file` declares, when it can be read; undefined for JavaScript configs and unreadable files. */
export function declaredMode(file: string): Mode | undefined {
  if (/\.(c|m)?js$/.test(file)) return undefined;
  try {
    const text = readFileSync(file, 'utf8');
    return file.endsWith('.json') ? fromJson(text, file) : fromYaml(text);
  } catch {
    return undefined;
  }
}

/** The mode every one of `files` declares, when they all declare the same one; else undefined. */
export function agreedMode(files: readonly string[]): Mode | undefined {
  const modes = new Set(files.map(declaredMode));
  return modes.size === 1 ? [...modes][0] : undefined;
}

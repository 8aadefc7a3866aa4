/**
 * The `mode:` a config file declares, read on its own: when the rest of the file is invalid
 * (a typo in a rule, a broken YAML line further down), a file that says `mode: warn` still
 * means warn. Used only to decide how to fail, never to run a check.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseDocument } from 'yaml';
import type { Mode } from '../types';

const MODES: readonly string[] = ['block', 'warn', 'off'];
/** A top-level `mode:` line (optionally quoted, optionally commented). */
const MODE_LINE = /^mode\s*:\s*["']?(block|warn|off)["']?\s*(?:#.*)?$/gm;

function asMode(value: unknown): Mode | undefined {
  return typeof value === 'string' && MODES.includes(value) ? (value as Mode) : undefined;
}

function fromJson(text: string, file: string): Mode | undefined {
  const parsed = JSON.parse(text) as Record<string, unknown> | null;
  const holder = basename(file) === 'package.json' ? (parsed?.provenance as Record<string, unknown> | undefined) : parsed;
  return asMode(holder?.mode);
}

/** Every top-level `mode:` line agreeing, else nothing (two different modes are no answer). */
function fromLines(text: string): Mode | undefined {
  const found = new Set([...text.matchAll(MODE_LINE)].map((m) => m[1]!));
  return found.size === 1 ? asMode([...found][0]) : undefined;
}

function fromYaml(text: string): Mode | undefined {
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length === 0) {
    const contents = doc.toJS() as unknown;
    if (contents !== null && typeof contents === 'object') return asMode((contents as Record<string, unknown>).mode);
  }
  return fromLines(text);
}

/** The mode `file` declares, when it can be read; undefined for JavaScript configs and unreadable files. */
export function declaredMode(file: string): Mode | undefined {
  if (/\.(c|m)?js$/.test(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    if (file.endsWith('.json')) return fromJson(text, file);
    return fromYaml(text);
  } catch {
    return undefined;
  }
}

/** The mode every one of `files` declares, when they all declare the same one; else undefined. */
export function agreedMode(files: readonly string[]): Mode | undefined {
  const modes = new Set(files.map(declaredMode));
  return modes.size === 1 ? [...modes][0] : undefined;
}

/**
 * Text from lockfiles, feeds and registries is attacker-controlled: before it reaches a
 * terminal every control character (C0, DEL, C1, and the Unicode line/paragraph separators
 * and bidi overrides) is shown escaped, so a package name cannot clear the screen, move the
 * cursor, forge a line or hide text.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  if (ch === '\u001b') return '\\e';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character escaped (`\e`, `\n`, `\x00`, `\u202e`, …). */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** `text` as the inside of a YAML (or JSON-like) double-quoted string: quotes, backslashes and control characters escaped. */
export function escapeQuoted(text: string): string {
  return escapeControl(text.replace(/[\\"]/g, '\\$&'));
}

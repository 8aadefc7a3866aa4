/**
 * The one YAML reader of a config file (`.provenancerc`, `.provenancerc.yaml`/`.yml`), for
 * `check` and every adapter: pnpm's own parser (@zkochan/js-yaml, which every bundle that reads
 * pnpm-lock.yaml already carries) with the YAML 1.2 core schema, so `2027-03-31` stays a string
 * and `yes` is not a boolean. A key written twice is an error. It loads and parses a config in
 * a third of the time the `yaml` library takes in a cold process (Bun's scanner: ~30 instead of ~65 ms).
 */
import { CORE_SCHEMA, load, YAMLException } from '@zkochan/js-yaml';
import { isStackOverflow, TOO_DEEP } from '../nesting';

/**
 * More values than any policy holds. js-yaml gives an alias the object its anchor names (no
 * copy), so a few lines of nested aliases stand for billions of values to anything that walks
 * them: such a file is refused before anything reads it.
 */
export const MAX_CONFIG_VALUES = 100_000;

/** Why `text` is not a config's YAML, or its value. */
export function parseConfigYaml(text: string): { value: unknown } | { problem: string } {
  let value: unknown;
  try {
    value = load(text, { schema: CORE_SCHEMA });
  } catch (error) {
    if (error instanceof YAMLException) return { problem: positioned(error) };
    if (isStackOverflow(error)) return { problem: TOO_DEEP };
    throw error;
  }
  if (valuesMoreThan(value, MAX_CONFIG_VALUES)) return { problem: `more than ${MAX_CONFIG_VALUES.toLocaleString('en')} values (aliases repeated inside aliases)` };
  return { value };
}

function positioned(error: YAMLException): string {
  const mark = error.mark;
  return mark ? `${error.reason} at line ${mark.line + 1}, column ${mark.column + 1}` : error.reason;
}

/** Whether walking `value` (every alias as often as it is used) meets more than `max` values; iterative. */
export function valuesMoreThan(value: unknown, max: number): boolean {
  const stack: unknown[] = [value];
  let counted = 1;
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== 'object' || current === null) continue;
    // Counted as they are pushed: the stack never holds more than `max` values.
    for (const child of Object.values(current)) {
      if (++counted > max) return true;
      stack.push(child);
    }
  }
  return false;
}

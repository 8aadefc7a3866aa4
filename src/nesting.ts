/**
 * Hostile inputs nest deeply (100,000 `[`) to exhaust the stack of a recursive parser or of
 * JSON.stringify. Inputs are checked against a depth limit where we parse them, and a stack
 * overflow inside a third-party parser is recognised so it becomes an error naming the file.
 */

/** Deeper than any real lockfile, record or config. */
export const MAX_NESTING = 64;

/** Whether `value` has arrays/objects nested more than `max` levels deep (iterative: no recursion). */
export function nestedDeeperThan(value: unknown, max: number = MAX_NESTING): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** The RangeError V8 throws when a recursive parser runs out of stack. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

export const TOO_DEEP = `nests more than ${MAX_NESTING} levels deep`;

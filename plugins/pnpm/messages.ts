/** What the pnpm hooks print and throw. */
import { describeError, errorText } from '../../src/errors';
import { escapeControl } from '../../src/report/escape';
import { blockedSummary } from '../../src/report/human';
import { buildReport } from '../../src/report/build';
import type { PackageResult } from '../../src/types';

export interface HookError extends Error {
  code: string;
  hint: string;
}

/** pnpm 10 prints `code`, message and `hint` without a stack; pnpm 12 prints `stack`, so it carries no frames. */
function hookError(code: string, message: string, hint: string): HookError {
  const error = new Error(message) as HookError;
  error.code = code;
  error.hint = hint;
  error.stack = `${message}\n${hint}`;
  return error;
}

export function summary(results: readonly PackageResult[], severity: 'block' | 'warn'): string {
  return blockedSummary(buildReport(results), { severity });
}

const HINT = 'provenance-guard stopped the install before these packages were linked or their scripts ran.';

export function blockedError(results: readonly PackageResult[]): HookError {
  return hookError('ERR_PNPM_PROVENANCE_BLOCKED', summary(results, 'block'), HINT);
}

/**
 * pnpm 12 repeats a hook error twice inside its own wrapped report: the details go to stderr
 * once, and the error keeps only each package with its rules.
 */
export function shortBlockedError(results: readonly PackageResult[]): HookError {
  const SHOWN = 10;
  const list = results.slice(0, SHOWN).map((r) => `${escapeControl(`${r.name}@${r.version}`)} [${[...new Set(r.findings.filter((f) => f.severity === 'block').map((f) => f.rule))].join(', ')}]`);
  if (results.length > SHOWN) list.push(`and ${results.length - SHOWN} more`);
  return hookError('ERR_PNPM_PROVENANCE_BLOCKED', `provenance-guard blocked ${list.join(', ')} (details and the override to add are above)`, HINT);
}

/** A config, feed or lockfile problem under `mode: block`: the install fails closed. */
export function failClosedError(error: unknown, context?: string): HookError {
  return hookError(
    'ERR_PNPM_PROVENANCE_GUARD',
    `provenance-guard: ${errorText(error, context)}`,
    describeError(error).userError
      ? 'provenance-guard fails closed in block mode: fix the problem above (or set mode: warn) and retry.'
      : 'provenance-guard failed unexpectedly and fails closed in block mode; please report this.',
  );
}

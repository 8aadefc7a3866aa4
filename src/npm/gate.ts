/**
 * The check between resolution and installation: a lockfile's packages through the guard,
 * the report printed the way the install hooks print it, and whether the install may go on.
 */
import { createGuard, failureMode } from '../guard';
import { errorText, isGuardError } from '../errors';
import { readLockfile } from '../lockfile/index';
import { buildReport } from '../report/build';
import { configLine } from '../report/config-line';
import { escapeControl } from '../report/escape';
import { blockedSummary } from '../report/human';

export interface GateContext {
  /** Where the policy is looked up from (the project). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  write: (text: string) => void;
}

export type GateOutcome = { allowed: true; checked: number } | { allowed: false; exitCode: 1 | 2 };

function safe(text: string): string {
  return text.split('\n').map(escapeControl).join('\n');
}

/** Checks the packages of `lockfile`; prints blocked and warned packages; fails closed on errors unless the mode says otherwise. */
export async function gateLockfile(lockfile: string, what: string, ctx: GateContext, options: { installed?: boolean } = {}): Promise<GateOutcome> {
  let guard;
  try {
    guard = await createGuard({ cwd: ctx.cwd, env: ctx.env, warn: (m) => ctx.write(`provenance-guard: ${safe(m)}\n`) });
  } catch (error) {
    return setupFailure(error, ctx);
  }
  try {
    ctx.write(`${configLine(guard.config)}\n`);
    if (guard.config.mode === 'off') return { allowed: true, checked: 0 };
    const packages = readLockfile(lockfile, 'npm');
    const report = buildReport(await guard.evaluate(packages));
    const warned = blockedSummary(report, { severity: 'warn' });
    if (warned) ctx.write(safe(warned) + '\n');
    if (report.summary.block > 0) {
      ctx.write(safe(blockedSummary(report, { severity: 'block' })) + '\n');
      ctx.write(
        options.installed
          ? `provenance-guard: ${what} installed packages the policy blocks (listed above): remove them, or fix the lockfile, before using this node_modules.\n`
          : `provenance-guard: refused ${what}: nothing was installed, no script ran, package.json and the lockfile are unchanged.\n`,
      );
      return { allowed: false, exitCode: 1 };
    }
    return { allowed: true, checked: report.summary.packages };
  } catch (error) {
    if (!isGuardError(error)) throw error;
    ctx.write(`provenance-guard: ${errorText(error)}\n`);
    return guard.config.mode === 'warn' ? { allowed: true, checked: 0 } : { allowed: false, exitCode: 2 };
  } finally {
    guard.close();
  }
}

async function setupFailure(error: unknown, ctx: GateContext): Promise<GateOutcome> {
  if (!isGuardError(error)) throw error;
  const mode = await failureMode({ cwd: ctx.cwd, env: ctx.env });
  ctx.write(`provenance-guard: ${errorText(error)}\n`);
  if (mode === 'off') return { allowed: true, checked: 0 };
  if (mode === 'warn') {
    ctx.write('provenance-guard: warn mode: continuing without checking packages\n');
    return { allowed: true, checked: 0 };
  }
  ctx.write('provenance-guard fails closed in block mode: fix the problem above (or set mode: warn) and retry.\n');
  return { allowed: false, exitCode: 2 };
}

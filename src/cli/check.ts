import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { createGuard, resolveGuardInputs } from '../guard';
import { LockfileError } from '../errors';
import { detectLockfile, LOCKFILE_NAMES, readLockfile } from '../lockfile/index';
import { cacheDir } from '../paths';
import { exitCodeOf } from '../report/build';
import { formatHuman, shouldColor } from '../report/human';
import { formatJson } from '../report/json';
import { formatSarif } from '../report/sarif';
import { oneOf, parseCommand } from './args';
import type { CliContext } from './context';
import type { Report } from '../types';
import { reuseVerdict, storeVerdict, verdictFileFor, type VerdictInputs } from '../verdict-store';

export const GUARD_FLAGS = {
  config: { type: 'string' },
  feed: { type: 'string' },
  offline: { type: 'boolean' },
  online: { type: 'boolean' },
  lockfile: { type: 'string' },
} as const;

/** The lockfile named by --lockfile, or the one found in the project directory. */
export function locateLockfile(cwd: string, flag: string | undefined): string {
  if (flag) return resolve(cwd, flag);
  const found = detectLockfile(cwd);
  if (!found) throw new LockfileError(`no lockfile in ${cwd} (looked for ${LOCKFILE_NAMES.join(', ')}); pass --lockfile PATH`);
  return found.path;
}

export function guardOptions(ctx: CliContext, values: { config?: string; feed?: string; offline?: boolean; online?: boolean }) {
  return {
    cwd: ctx.cwd,
    env: ctx.env,
    ...(values.config ? { configPath: values.config } : {}),
    ...(values.feed ? { feedSource: values.feed } : {}),
    ...(values.offline ? { offline: true } : {}),
    ...(values.online ? { online: true } : {}),
    warn: (m: string) => ctx.stderr.write(`provenance-guard: ${m}\n`),
  };
}

function render(report: Report, format: 'human' | 'json' | 'sarif', lockfile: string, ctx: CliContext): void {
  if (format === 'json') ctx.stdout.write(formatJson(report));
  else if (format === 'sarif') ctx.stdout.write(formatSarif(report, { lockfile: relative(ctx.cwd, lockfile) || lockfile }));
  else ctx.stdout.write(formatHuman(report, { color: shouldColor(ctx.stdout, ctx.env) }));
}

function readLockfileBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LockfileError(`${path}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`}`, { file: path });
  }
}

export async function checkCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('check', argv, { ...GUARD_FLAGS, format: { type: 'string' } }, { min: 0, max: 0, names: '' });
  const format = oneOf('check', 'format', values.format, ['human', 'json', 'sarif'] as const, 'human');
  const lockfile = locateLockfile(ctx.cwd, values.lockfile);
  const options = guardOptions(ctx, values);
  const inputs = await resolveGuardInputs(options);
  // A repeat of a passing check (same lockfile, config and feed) reuses its report; live
  // evidence (--online) changes on its own, so those runs are never reused.
  const file = inputs.config.online ? undefined : verdictFileFor(dirname(lockfile), 'check');
  const verdict: VerdictInputs | undefined = file === undefined ? undefined : {
    file, scope: 'check', lockfilePath: lockfile, lockfile: readLockfileBytes(lockfile),
    config: inputs.config, feedPath: inputs.feedPath, cacheDir: inputs.cacheDir, now: inputs.now,
  };
  const reused = verdict && reuseVerdict(verdict);
  if (reused) {
    render(reused, format, lockfile, ctx);
    return exitCodeOf(reused);
  }
  const packages = readLockfile(lockfile, undefined, { cacheDir: cacheDir(ctx.env) });
  const guard = await createGuard(options, inputs);
  try {
    const report = await guard.check(packages);
    if (verdict) storeVerdict(verdict, report);
    render(report, format, lockfile, ctx);
    return exitCodeOf(report);
  } finally {
    guard.close();
  }
}

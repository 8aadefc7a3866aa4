import { relative, resolve } from 'node:path';
import { createGuard } from '../guard';
import { LockfileError } from '../errors';
import { detectLockfile, LOCKFILE_NAMES, readLockfile } from '../lockfile/index';
import { exitCodeOf } from '../report/build';
import { attachDependencyPaths } from '../report/dependency-paths';
import { formatHuman, shouldColor } from '../report/human';
import { configLine } from '../report/config-line';
import { formatJson } from '../report/json';
import { formatSarif } from '../report/sarif';
import { oneOf, parseCommand } from './args';
import type { CliContext } from './context';

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
  if (!found) throw new LockfileError(`no lockfile in ${cwd} (looked for ${LOCKFILE_NAMES.join(', ')}); pass --lockfile PATH`, { code: 'ERR_PG_LOCKFILE_NOT_FOUND' });
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

export async function checkCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('check', argv, { ...GUARD_FLAGS, format: { type: 'string' }, verbose: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
  const format = oneOf('check', 'format', values.format, ['human', 'json', 'sarif'] as const, 'human');
  const lockfile = locateLockfile(ctx.cwd, values.lockfile);
  const packages = readLockfile(lockfile);
  if (format === 'human') attachDependencyPaths(packages, lockfile);
  const guard = await createGuard(guardOptions(ctx, values));
  try {
    const report = await guard.check(packages);
    // Which config governs the run: the first line of human output, a stderr line otherwise.
    (format === 'human' ? ctx.stdout : ctx.stderr).write(`${configLine(guard.config)}\n`);
    if (format === 'json') ctx.stdout.write(formatJson(report));
    else if (format === 'sarif') ctx.stdout.write(formatSarif(report, { lockfile: relative(ctx.cwd, lockfile) || lockfile }));
    else ctx.stdout.write(formatHuman(report, { color: shouldColor(ctx.stdout, ctx.env), verbose: values.verbose === true }));
    return exitCodeOf(report);
  } finally {
    guard.close();
  }
}

import { createGuard } from '../guard';
import { UsageError } from '../errors';
import { detectLockfiles, readLockfile } from '../lockfile/index';
import { configLine } from '../report/config-line';
import { shouldColor } from '../report/human';
import type { ResolvedPackage } from '../types';
import { splitExactSpec } from '../package-name';
import { explainPackage, formatExplanation, formatExplanationJson } from '../report/explain';
import { oneOf, parseCommand, usageOf } from './args';
import { GUARD_FLAGS, guardOptions, locateLockfiles } from './check-reuse';
import type { CliContext } from './context';

export function parseSpec(spec: string): { name: string; version: string } {
  const parts = splitExactSpec(spec);
  if (!parts) throw new UsageError(`explain: expected NAME@VERSION with an exact version, got "${spec}"\n\n${usageOf('explain')}`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  return parts;
}

/** The package as the lockfile has it (integrity, source), or a registry package when it is not there. */
function findPackage(ctx: CliContext, lockfileFlag: string | undefined, name: string, version: string): { pkg: ResolvedPackage; lockfile?: string } {
  const lockfiles = lockfileFlag ? locateLockfiles(ctx.cwd, lockfileFlag) : detectLockfiles(ctx.cwd).map((found) => found.path);
  // Every one is read, as by check: a --lockfile that is missing, or any lockfile that cannot be read, is an error (exit 2).
  const read = lockfiles.map((lockfile) => ({ lockfile, packages: readLockfile(lockfile, undefined, { env: ctx.env }) }));
  for (const { lockfile, packages } of read) {
    const hit = packages.find((p) => p.name === name && p.version === version && p.source !== 'workspace');
    if (hit) return { pkg: hit, lockfile };
  }
  return { pkg: { name, version, source: 'registry' } };
}

export async function explainCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('explain', argv, { ...GUARD_FLAGS, format: { type: 'string' } }, { min: 1, max: 1, names: 'NAME@VERSION' });
  const format = oneOf('explain', 'format', values.format, ['human', 'json'] as const, 'human');
  const { name, version } = parseSpec(positionals[0]!);
  const { pkg, lockfile } = findPackage(ctx, values.lockfile, name, version);
  const guard = await createGuard(guardOptions(ctx, values));
  try {
    const evaluation = await explainPackage(guard, pkg);
    (format === 'json' ? ctx.stderr : ctx.stdout).write(`${configLine(guard.config)}\n`);
    if (format === 'json') {
      ctx.stdout.write(formatExplanationJson(evaluation, pkg));
    } else {
      ctx.stdout.write(formatExplanation(evaluation, { pkg, ...(lockfile ? { lockfile } : {}), guard, color: shouldColor(ctx.stdout, ctx.env) }));
    }
    return evaluation.verdict === 'block' ? 1 : 0;
  } finally {
    guard.close();
  }
}

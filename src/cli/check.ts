import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createGuard, resolveGuardInputs } from '../guard';
import { LockfileError } from '../errors';
import { isObject } from '../json';
import { configuredRegistries, detectLockfiles, lockfileKindOf, LOCKFILE_NAMES, readLockfile, type Registries } from '../lockfile/index';
import type { Config } from '../config/types';
import type { Report, ResolvedPackage } from '../types';
import { reuseVerdict, storeVerdict, verdictFileFor, type VerdictInputs } from '../verdict-store';
import { exitCodeOf } from '../report/build';
import { attachDependencyPaths } from '../report/dependency-paths';
import { shouldColor } from '../report/human';
import { renderReport, type ReportFormat } from '../report/render';
import { oneOf, parseCommand } from './args';
import type { CliContext } from './context';

export const GUARD_FLAGS = {
  config: { type: 'string' },
  feed: { type: 'string' },
  offline: { type: 'boolean' },
  online: { type: 'boolean' },
  lockfile: { type: 'string' },
} as const;

/** The lockfile named by --lockfile, or the first one found in the project directory. */
export function locateLockfile(cwd: string, flag: string | undefined): string {
  return locateLockfiles(cwd, flag)[0]!;
}

/** The lockfile named by --lockfile, or every lockfile in the project directory. */
export function locateLockfiles(cwd: string, flag: string | undefined): string[] {
  if (flag) return [resolve(cwd, flag)];
  const found = detectLockfiles(cwd);
  if (found.length === 0) throw new LockfileError(`no lockfile in ${cwd} (looked for ${LOCKFILE_NAMES.join(', ')}); pass --lockfile PATH`, { code: 'ERR_PG_LOCKFILE_NOT_FOUND' });
  return found.map((f) => f.path);
}

/** Dependencies the project's package.json declares (an empty lockfile beside them is a decoy). */
function declaresDependencies(dir: string): boolean {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    return false;
  }
  if (!isObject(manifest)) return false;
  return ['dependencies', 'devDependencies', 'optionalDependencies'].some((field) => {
    const deps = manifest[field];
    return isObject(deps) && Object.keys(deps).length > 0;
  });
}

/**
 * The union of every lockfile's packages (SPEC CLI: a decoy lockfile never hides another).
 * A lockfile that cannot be read, or that lists nothing while package.json declares
 * dependencies, is an error naming it.
 */
export function readProjectLockfiles(lockfiles: readonly string[], env: NodeJS.ProcessEnv, registries = lockfileRegistries(lockfiles, env)): ResolvedPackage[] {
  const packages: ResolvedPackage[] = [];
  for (const [i, lockfile] of lockfiles.entries()) {
    const found = readLockfile(lockfile, undefined, { env, registries: registries[i]! });
    if (found.length === 0 && declaresDependencies(dirname(lockfile))) {
      throw new LockfileError(`${lockfile}: lists no packages while package.json declares dependencies (an empty lockfile is not checked as a pass)`, {
        file: lockfile,
        code: 'ERR_PG_LOCKFILE_EMPTY',
      });
    }
    packages.push(...found);
  }
  return packages;
}

/** The registries each lockfile's package manager is configured with (they decide registry identity). */
function lockfileRegistries(lockfiles: readonly string[], env: NodeJS.ProcessEnv): Registries[] {
  return lockfiles.map((path) => configuredRegistries(lockfileKindOf(path) ?? 'npm', dirname(path), env));
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

type Format = ReportFormat;

function render(report: Report, format: Format, lockfiles: readonly string[], verbose: boolean, config: Config, ctx: CliContext): void {
  const lockfile = relative(ctx.cwd, lockfiles[0]!) || lockfiles[0]!;
  renderReport(report, { format, config, lockfile, color: shouldColor(ctx.stdout, ctx.env), verbose }, ctx.stdout, ctx.stderr);
}

function readLockfileBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LockfileError(`${path}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`}`, { file: path, code: code === 'ENOENT' ? 'ERR_PG_LOCKFILE_NOT_FOUND' : 'ERR_PG_LOCKFILE_UNREADABLE' });
  }
}

/**
 * What a stored verdict of this check depends on besides config and feed: every lockfile's
 * path and bytes, the registries that decide registry identity, and the output format.
 */
function verdictInputs(lockfiles: readonly string[], registries: readonly Registries[], format: Format, inputs: Awaited<ReturnType<typeof resolveGuardInputs>>): VerdictInputs | undefined {
  const file = inputs.config.online ? undefined : verdictFileFor(dirname(lockfiles[0]!), 'check');
  if (file === undefined) return undefined;
  const parts = lockfiles.flatMap((path) => [Buffer.from(`${path}\u0000`), readLockfileBytes(path), Buffer.from('\u0000')]);
  return {
    file, scope: 'check', lockfilePath: lockfiles.join('\u0000'), lockfile: Buffer.concat(parts),
    config: inputs.config, feedPath: inputs.feedPath, cacheDir: inputs.cacheDir, now: inputs.now,
    extra: JSON.stringify({ registries, format }),
  };
}

export async function checkCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('check', argv, { ...GUARD_FLAGS, format: { type: 'string' }, verbose: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
  const format = oneOf('check', 'format', values.format, ['human', 'json', 'sarif'] as const, 'human');
  const verbose = values.verbose === true;
  const lockfiles = locateLockfiles(ctx.cwd, values.lockfile);
  const registries = lockfileRegistries(lockfiles, ctx.env);
  const options = guardOptions(ctx, values);
  const inputs = await resolveGuardInputs(options).catch((error: unknown) => {
    // A lockfile problem is reported before a config or feed one, as when nothing is reused.
    readProjectLockfiles(lockfiles, ctx.env, registries);
    throw error;
  });
  // A repeat of a passing check (same lockfiles, config and feed) reuses its report; live
  // evidence (--online) changes on its own, so those runs are never reused.
  const verdict = verdictInputs(lockfiles, registries, format, inputs);
  const reused = verdict && reuseVerdict(verdict);
  if (reused) {
    render(reused, format, lockfiles, verbose, inputs.config, ctx);
    return exitCodeOf(reused);
  }
  const packages = readProjectLockfiles(lockfiles, ctx.env, registries);
  if (format === 'human') for (const lockfile of lockfiles) attachDependencyPaths(packages, lockfile);
  const guard = await createGuard(options, inputs);
  try {
    const report = await guard.check(packages);
    if (verdict) storeVerdict(verdict, report);
    render(report, format, lockfiles, verbose, guard.config, ctx);
    return exitCodeOf(report);
  } finally {
    guard.close();
  }
}

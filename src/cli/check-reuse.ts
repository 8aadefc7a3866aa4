/**
 * What `check` decides before it reads a lockfile's packages, and the answer of a repeat check
 * from its stored verdict (src/verdict-store.ts). The small executable (entry.ts) and the full
 * `check` command share this module, so both find the same lockfiles, registries, config and
 * feed and compute the same key: the executable answers a repeat alone, without loading the
 * lockfile readers, the feed reader or the policy.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Config } from '../config/types';
import { LockfileError } from '../errors';
import { fileDigest } from '../file-hash';
import { resolveLocalGuardInputs, type GuardInputs, type GuardOptions } from '../guard';
import { configuredRegistries, detectLockfiles, lockfileKindOf, lockfileReadFailure, LOCKFILE_NAMES } from '../lockfile/detect';
import { PNPM_WORKSPACE_FILE } from '../lockfile/pnpm-workspace';
import type { Registries } from '../lockfile/source';
import { exitCodeOf } from '../report/build';
import { shouldColor } from '../report/human';
import { renderReport, writeConfigLine, type ReportFormat } from '../report/render';
import type { Report } from '../types';
import type { ConfigMemo } from '../config/memo';
import { rememberedConfig, reprintedPart, reuseStoredVerdict, verdictFileFor, type VerdictInputs } from '../verdict-store';
import { formatJson } from '../report/json';
import { oneOf, parseCommand } from './args';
import type { CliContext } from './context';

export const GUARD_FLAGS = {
  config: { type: 'string' },
  feed: { type: 'string' },
  offline: { type: 'boolean' },
  online: { type: 'boolean' },
  lockfile: { type: 'string' },
} as const;

const CHECK_FLAGS = { ...GUARD_FLAGS, format: { type: 'string' }, verbose: { type: 'boolean' } } as const;

export interface CheckArgs {
  values: { config?: string; feed?: string; offline?: boolean; online?: boolean; lockfile?: string };
  format: ReportFormat;
  verbose: boolean;
}

export function parseCheckArgs(argv: string[]): CheckArgs {
  const { values } = parseCommand('check', argv, CHECK_FLAGS, { min: 0, max: 0, names: '' });
  return { values, format: oneOf('check', 'format', values.format, ['human', 'json', 'sarif'] as const, 'human'), verbose: values.verbose === true };
}

/** The lockfile named by --lockfile, or every lockfile in the project directory. */
export function locateLockfiles(cwd: string, flag: string | undefined): string[] {
  if (flag) return [resolve(cwd, flag)];
  const found = detectLockfiles(cwd);
  if (found.length === 0) throw new LockfileError(`no lockfile in ${cwd} (looked for ${LOCKFILE_NAMES.join(', ')}); pass --lockfile PATH`, { code: 'ERR_PG_LOCKFILE_NOT_FOUND' });
  return found.map((f) => f.path);
}

/** The registries each lockfile's package manager is configured with (they decide registry identity). */
export function lockfileRegistries(lockfiles: readonly string[], env: NodeJS.ProcessEnv): Registries[] {
  return lockfiles.map((path) => configuredRegistries(lockfileKindOf(path) ?? 'npm', dirname(path), env));
}

export function guardOptions(ctx: CliContext, values: CheckArgs['values'], extra: Partial<GuardOptions> = {}): GuardOptions {
  return {
    cwd: ctx.cwd,
    env: ctx.env,
    ...(values.config ? { configPath: values.config } : {}),
    ...(values.feed ? { feedSource: values.feed } : {}),
    ...(values.offline ? { offline: true } : {}),
    ...(values.online ? { online: true } : {}),
    warn: (m: string) => ctx.stderr.write(`provenance-guard: ${m}\n`),
    ...extra,
  };
}

/** What the stored verdict of this check remembers of the config (a file unchanged since is not parsed again). */
export function checkConfigMemo(lockfiles: readonly string[], env: NodeJS.ProcessEnv): { configMemo?: ConfigMemo } {
  return rememberedConfig(verdictFileFor(dirname(lockfiles[0]!), 'check'), env);
}

export function render(report: Report, args: CheckArgs, lockfiles: readonly string[], config: Config, ctx: CliContext): void {
  const lockfile = relative(ctx.cwd, lockfiles[0]!) || lockfiles[0]!;
  // Only the human format colours: asking a stream whether it is a terminal loads node:tty (~6 ms).
  const color = args.format === 'human' && shouldColor(ctx.stdout, ctx.env);
  renderReport(report, { format: args.format, config, lockfile, color, verbose: args.verbose }, ctx.stdout, ctx.stderr);
}

/** A lockfile's SHA-256 and length (read in pieces: no buffer the size of the file); a coded error when it cannot be read. */
export function lockfileDigest(path: string): string {
  try {
    return fileDigest(path);
  } catch (error) {
    const failure = lockfileReadFailure(path, error);
    throw new LockfileError(`${path}: ${failure.problem}`, { file: path, code: failure.code });
  }
}

/** The SHA-256 of the pnpm-workspace.yaml beside a pnpm lockfile (pnpm 10 pins config dependencies there); '' for others or none. */
function workspaceDigest(lockfile: string): string {
  const file = join(dirname(lockfile), PNPM_WORKSPACE_FILE);
  return lockfileKindOf(lockfile) === 'pnpm' && existsSync(file) ? lockfileDigest(file) : '';
}

/**
 * What a stored verdict of this check depends on besides config and feed: every lockfile's
 * path and bytes (their SHA-256) and a pnpm lockfile's pnpm-workspace.yaml, the registries that
 * decide registry identity, and the output format.
 */
export function verdictInputs(lockfiles: readonly string[], registries: readonly Registries[], format: ReportFormat, inputs: GuardInputs): VerdictInputs | undefined {
  const file = inputs.config.online ? undefined : verdictFileFor(dirname(lockfiles[0]!), 'check');
  if (file === undefined) return undefined;
  const lockfile = lockfiles.map((path) => `${path}\u0000${lockfileDigest(path)}\u0000${workspaceDigest(path)}\u0000`).join('');
  return {
    file, scope: 'check', lockfilePath: lockfiles.join('\u0000'), lockfile,
    config: inputs.config, feedPath: inputs.feedPath, stateDir: inputs.stateDir, now: inputs.now,
    extra: JSON.stringify({ registries, format }),
  };
}

/**
 * The exit code of a repeat `check` answered from its stored verdict, with the report printed;
 * undefined, with nothing printed, when the full command must run: no stored verdict for exactly
 * these inputs, a feed that is not a local file (resolving it may fetch), a warning while setting
 * up (the full command prints it), or any error (the full command reports it).
 */
export async function answerFromVerdict(argv: string[], ctx: CliContext): Promise<number | undefined> {
  const args = parseCheckArgs(argv);
  if (args.values.online) return undefined;
  const lockfiles = locateLockfiles(ctx.cwd, args.values.lockfile);
  // A first check (no verdict stored yet) goes to the full command before reading config or feed.
  const stored = verdictFileFor(dirname(lockfiles[0]!), 'check');
  if (stored === undefined || !existsSync(stored)) return undefined;
  const registries = lockfileRegistries(lockfiles, ctx.env);
  let warned = false;
  const inputs = await resolveLocalGuardInputs(guardOptions(ctx, args.values, { warn: () => (warned = true), ...checkConfigMemo(lockfiles, ctx.env) }));
  if (!inputs || warned) return undefined;
  return answerFromStore(args, lockfiles, registries, inputs, ctx).code;
}

/**
 * What a passing check stores: for JSON, its summary and the document as printed (a repeat writes
 * those bytes out instead of parsing and formatting ~150 bytes a package again); for the other
 * formats the report (human output: only the flagged packages it prints).
 */
export function storedCheck(report: Report, format: ReportFormat): { report: Report; printed?: string } {
  if (format === 'json') return { report: { summary: report.summary, packages: [] }, printed: formatJson(report) };
  return { report: format === 'human' ? reprintedPart(report) : report };
}

/** A JSON report already formatted (as stored): written where and as renderReport writes one. */
export function writePrintedJson(printed: string | Uint8Array, config: Config, ctx: CliContext): void {
  writeConfigLine('json', config, ctx.stdout, ctx.stderr);
  ctx.stdout.write(printed);
}

/**
 * What the store of this check is keyed by and, when a stored verdict answers it, the exit code
 * with the report printed (the full command and the small executable both answer through here).
 */
export function answerFromStore(args: CheckArgs, lockfiles: readonly string[], registries: readonly Registries[], inputs: GuardInputs, ctx: CliContext): { verdict?: VerdictInputs; code?: number } {
  const verdict = verdictInputs(lockfiles, registries, args.format, inputs);
  if (!verdict) return {};
  const reused = reuseStoredVerdict(verdict);
  if (!reused) return { verdict };
  if (args.format === 'json') {
    // A JSON verdict stored before the output was kept as printed is checked again (and stored anew).
    if (!reused.printed) return { verdict };
    writePrintedJson(reused.printed, inputs.config, ctx);
  } else {
    render(reused.report, args, lockfiles, inputs.config, ctx);
  }
  return { verdict, code: exitCodeOf(reused.report) };
}

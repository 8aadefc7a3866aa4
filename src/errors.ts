/**
 * User-facing errors. Each carries a stable code (tests and scripts match on it, never on the
 * wording), a message meant to be printed as is (no stack trace) and the exit code the CLI
 * uses for it. Anything that is not a GuardError is a bug.
 *
 * Codes are `ERR_PG_<AREA>` for the class default, `ERR_PG_<AREA>_<WHAT>` for a specific
 * problem (e.g. ERR_PG_FEED_ROLLBACK). The pnpm hook and the Yarn plugin print the same code.
 * The codes in use are listed in README.md ("Error codes").
 */
import { escapeControl } from './report/escape';

export class GuardError extends Error {
  readonly exitCode: number = 2;
  /** Stable, machine-readable code. */
  readonly code: string;
  /** The file the problem is in, when there is one. */
  readonly file?: string;

  constructor(message: string, options: { file?: string; cause?: unknown; code?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? (new.target as unknown as { defaultCode?: string }).defaultCode ?? 'ERR_PG';
    if (options.file !== undefined) this.file = options.file;
  }
}

/** Wrong command-line usage. */
export class UsageError extends GuardError {
  static readonly defaultCode = 'ERR_PG_USAGE';
}

/** An invalid `.provenancerc` (or other cosmiconfig source). */
export class ConfigError extends GuardError {
  static readonly defaultCode = 'ERR_PG_CONFIG';
}

/**
 * Several config files in one directory (ERR_PG_CONFIG_AMBIGUOUS): none of them governs, so none
 * alone decides the mode a failure is handled with (see guard.ts failureMode).
 */
export class AmbiguousConfigError extends ConfigError {
  /** Every config file found in the directory. */
  readonly files: readonly string[];

  constructor(message: string, files: readonly string[]) {
    super(message, { code: 'ERR_PG_CONFIG_AMBIGUOUS' });
    this.files = files;
  }
}

/** A lockfile that cannot be read or understood. */
export class LockfileError extends GuardError {
  static readonly defaultCode = 'ERR_PG_LOCKFILE';
}

/** A feed that cannot be fetched, parsed or trusted (bad signature, expired, rolled back). */
export class FeedError extends GuardError {
  static readonly defaultCode = 'ERR_PG_FEED';
}

/** An invalid records NDJSON given to `feed build`. */
export class RecordsError extends GuardError {
  static readonly defaultCode = 'ERR_PG_RECORDS';
}

/** An evidence source that failed in a way the policy says must fail closed. */
export class EvidenceError extends GuardError {
  static readonly defaultCode = 'ERR_PG_EVIDENCE';
}

export function isGuardError(error: unknown): error is GuardError {
  return error instanceof GuardError;
}

/**
 * The one way every front end (CLI, pnpm hook, Yarn plugin) turns an error into text:
 * a GuardError's message with its code; anything else is an internal error.
 */
export function describeError(error: unknown): { code: string; message: string; userError: boolean } {
  if (isGuardError(error)) return { code: error.code, message: error.message, userError: true };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'ERR_PG_INTERNAL', message, userError: false };
}

/**
 * An error as every front end prints it: `CODE: message`. Each line of the message is escaped
 * (messages can quote lockfile keys or registry answers); the line breaks are the message's own.
 */
export function errorText(error: unknown, context?: string): string {
  const { code, message } = describeError(error);
  const text = message.split('\n').map(escapeControl).join('\n');
  return `${code}: ${context ? `${context}: ` : ''}${text}`;
}

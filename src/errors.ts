/**
 * User-facing errors. Each carries a message meant to be printed as is (no stack trace)
 * and the exit code the CLI uses for it. Anything that is not a GuardError is a bug.
 */
export class GuardError extends Error {
  readonly exitCode: number = 2;
  /** The file the problem is in, when there is one. */
  readonly file?: string;

  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options.file !== undefined) this.file = options.file;
  }
}

/** Wrong command-line usage. */
export class UsageError extends GuardError {}

/** An invalid `.provenancerc` (or other cosmiconfig source). */
export class ConfigError extends GuardError {}

/** A lockfile that cannot be read or understood. */
export class LockfileError extends GuardError {}

/** A feed that cannot be fetched, parsed or trusted (bad signature, expired, rolled back). */
export class FeedError extends GuardError {}

/** An invalid records NDJSON given to `feed build`. */
export class RecordsError extends GuardError {}

/** An evidence source that failed in a way the policy says must fail closed. */
export class EvidenceError extends GuardError {}

export function isGuardError(error: unknown): error is GuardError {
  return error instanceof GuardError;
}

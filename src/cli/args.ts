import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, with its errors turned into a UsageError for the command. */
export function parseCommand<T extends OptionSpec>(
  command: string,
  argv: string[],
  options: T,
  positionals: { min: number; max: number; names: string },
): { values: { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string }; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${command}: ${message}\n\n${usageOf(command)}`);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min || count > positionals.max) {
    const what = count < positionals.min ? `missing ${positionals.names}` : `unexpected argument "${parsed.positionals[positionals.max]}"`;
    throw new UsageError(`${command}: ${what}\n\n${usageOf(command)}`);
  }
  return parsed as never;
}

export const USAGE: Record<string, string> = {
  check: 'provenance-guard check [--lockfile PATH] [--config PATH] [--feed SRC] [--offline] [--online] [--format human|json|sarif]',
  explain: 'provenance-guard explain NAME@VERSION [--lockfile PATH] [--config PATH] [--feed SRC] [--offline] [--online] [--format human|json]',
  'feed keygen': 'provenance-guard feed keygen --out-dir DIR',
  'feed build':
    'provenance-guard feed build (--records FILE.ndjson | --from-lockfile PATH | --packages NAME@VERSION,...) [--verify-source] [--key DIR/feed.key --out PATH] [--records-out FILE.ndjson] [--serial N] [--expires-in 30d] [--config PATH]',
  'feed verify': 'provenance-guard feed verify PATH --public-key FILE',
  verify: 'provenance-guard verify NAME@VERSION [NAME@VERSION…] [--format human|json] [--rebuild] [--config PATH]',
  init: 'provenance-guard init [--pm pnpm|yarn] [--method config-dependency|pnpmfile] [--force]',
};

export function usageOf(command: string): string {
  const own = USAGE[command];
  return own ? `Usage: ${own}` : fullUsage();
}

export function fullUsage(): string {
  return [
    'provenance-guard — install-time provenance policy for pnpm, Yarn and npm lockfiles',
    '',
    'Usage:',
    ...Object.values(USAGE).map((u) => `  ${u}`),
    '',
    'Exit codes: 0 nothing blocks, 1 at least one package blocks, 2 usage, config, lockfile or feed error.',
  ].join('\n');
}

export function oneOf<T extends string>(command: string, flag: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${command}: --${flag} must be one of ${choices.join(', ')} (got "${value}")\n\n${usageOf(command)}`);
}

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors';
import { HELP } from './help';

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
    const nodeCode = (error as { code?: unknown }).code;
    const code = nodeCode === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 'ERR_PG_USAGE_UNKNOWN_OPTION' : nodeCode === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' ? 'ERR_PG_USAGE_UNEXPECTED_ARGUMENT' : 'ERR_PG_USAGE_INVALID_VALUE';
    throw new UsageError(`${command}: ${message}\n\n${usageOf(command)}`, { code });
  }
  refuseEmptyValues(command, parsed.values as Record<string, unknown>);
  const count = parsed.positionals.length;
  if (count < positionals.min || count > positionals.max) {
    const what = count < positionals.min ? `missing ${positionals.names}` : `unexpected argument "${parsed.positionals[positionals.max]}"`;
    throw new UsageError(`${command}: ${what}\n\n${usageOf(command)}`, { code: count < positionals.min ? 'ERR_PG_USAGE_MISSING_ARGUMENT' : 'ERR_PG_USAGE_UNEXPECTED_ARGUMENT' });
  }
  return parsed as never;
}

/**
 * An empty value (say `--config "$POLICY"` with the variable unset) names nothing: taking it as
 * the option left out would search for another config, detect another lockfile or use the
 * config's feed, each a silent default.
 */
function refuseEmptyValues(command: string, values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value !== '') continue;
    const what = name === 'config' ? 'the path of a config file' : 'a value';
    throw new UsageError(`${command}: --${name} needs ${what}, got an empty value\n\n${usageOf(command)}`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  }
}

export const USAGE: Record<string, string> = Object.fromEntries(Object.entries(HELP).map(([command, help]) => [command, help.usage]));

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
    '`provenance-guard COMMAND --help` describes every flag of a command.',
    'Exit codes: 0 nothing blocks, 1 at least one package blocks, 2 usage, config, lockfile or feed error.',
  ].join('\n');
}

export function oneOf<T extends string>(command: string, flag: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${command}: --${flag} must be one of ${choices.join(', ')} (got "${value}")\n\n${usageOf(command)}`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
}

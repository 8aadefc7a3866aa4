/**
 * The pnpm command line the hooks run under. pnpm 10 runs the hooks in its own process
 * (process.argv); pnpm 12 in a child `node -e` process with no arguments, whose parent is the
 * pnpm binary: its arguments are read from /proc/<ppid>/cmdline (Linux), else `ps`.
 * Measured on 10.34.9 and 12.21.0 (test/pnpm-paths.test.ts).
 */
import { readFileSync } from 'node:fs';

/** Whether this process is pnpm 12's hook child (`node -e <protocol>`, stdout is its channel). */
export function inHookChild(): boolean {
  return process.argv.length === 1 && process.execArgv.includes('-e');
}

function parentArgv(): string[] {
  try {
    return readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '').slice(1);
  } catch {
    try {
      // Loaded here: every hook process loads this module, and only a system without /proc runs `ps`.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
      return execFileSync('ps', ['-o', 'args=', '-p', String(process.ppid)], { encoding: 'utf8' }).trim().split(/\s+/).slice(1);
    } catch {
      return [];
    }
  }
}

/** pnpm's arguments (without the executable). */
export function pnpmArgv(): string[] {
  return inHookChild() ? parentArgv() : process.argv.slice(2);
}

/**
 * Commands that install, run or extract packages without calling preResolution on some pnpm version
 * (pnpm 12 `fetch`, pnpm 10 `rebuild` and `approve-builds`, which runs the builds it approves, and
 * `patch` on both, which copies an installed package into an edit directory).
 */
export const UNHOOKED_COMMANDS: ReadonlySet<string> = new Set(['fetch', 'rebuild', 'rb', 'approve-builds', 'patch']);

/**
 * The unhooked command this invocation may be: any word of the command line that names one, not
 * only the one commandOf takes for the command (an option it does not know may take a value, as
 * `pnpm --registry URL fetch` does: read as the command `URL`). Over-reading only checks more.
 */
export function unhookedCommandOf(argv: readonly string[]): string | undefined {
  const command = commandOf(argv);
  if (command !== undefined && UNHOOKED_COMMANDS.has(command)) return command;
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).find((arg) => UNHOOKED_COMMANDS.has(arg));
}

/** Options that take a value as the next argument. */
const WITH_VALUE = new Set(['--filter', '-F', '--filter-prod', '--dir', '-C', '--reporter', '--loglevel', '--store-dir', '--config-dir', '--workspace-dir']);

/** The command (`install`, `fetch`, `rebuild`…), or undefined for plain `pnpm`. */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** Every `--filter`/`-F`/`--filter-prod` selector, in order. */
export function filtersOf(argv: readonly string[]): string[] {
  const filters: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if ((arg === '--filter' || arg === '-F' || arg === '--filter-prod') && i + 1 < argv.length) filters.push(argv[++i]!);
    else if (arg.startsWith('--filter=') || arg.startsWith('--filter-prod=')) filters.push(arg.slice(arg.indexOf('=') + 1));
  }
  return filters;
}

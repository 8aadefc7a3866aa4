/**
 * What an npm command line asks for, read the way npm's own parser would for the commands
 * that install: the command word (with npm's aliases and typos), the package specs given to
 * it, and the options. An option takes the next argument as its value only when npm's config
 * types say it does (the list below); `--x=y` carries its own value.
 */
export type NpmAction = 'install' | 'ci' | 'exec' | 'other';

const ACTIONS: Readonly<Record<string, NpmAction>> = Object.fromEntries([
  ...['install', 'i', 'in', 'ins', 'inst', 'insta', 'instal', 'isnt', 'isnta', 'isntal', 'isntall', 'add'].map((c) => [c, 'install']),
  ...['update', 'up', 'upgrade', 'udpate', 'dedupe', 'ddp', 'uninstall', 'unlink', 'remove', 'rm', 'r', 'un', 'prune'].map((c) => [c, 'install']),
  ...['install-test', 'it'].map((c) => [c, 'install']),
  ...['ci', 'clean-install', 'ic', 'install-clean', 'isntall-clean', 'install-ci-test', 'cit', 'clean-install-test', 'sit'].map((c) => [c, 'ci']),
  ...['exec', 'x'].map((c) => [c, 'exec']),
]) as Record<string, NpmAction>;

/** Every other npm command (so an option value is never taken for the command word). */
const OTHER_COMMANDS = new Set(
  ('access adduser audit bugs cache completion config c create dist-tag docs doctor edit explain explore find-dupes fund get help help-search ' +
    'init innit create hook link ln login logout ls list la ll org outdated owner pack ping pkg prefix profile publish query rebuild rb repo ' +
    'restart root run run-script rum urn start stop search set shrinkwrap star stars team test t tst token unpublish unstar version view v info show why whoami sbom')
    .split(' '),
);

/** npm options that take the next argument as their value (npm's config definitions, install-related and global ones). */
const VALUE_OPTIONS = new Set(
  ('omit include install-strategy workspace w registry prefix cache userconfig globalconfig tag save-prefix before loglevel os cpu libc ' +
    'package p call c script-shell node-options fetch-retries fetch-timeout https-proxy proxy noproxy ca cafile cert key auth-type otp ' +
    'init-module location L only also lockfile-version global-style legacy-bundling')
    .split(' '),
);

export interface NpmInvocation {
  action: NpmAction;
  /** The command word as typed (undefined when there is none). */
  command?: string;
  /** Positional arguments after the command word (package specs for install, the command for exec). */
  positionals: string[];
  /** Options with their values, in order, without the command word and positionals. */
  options: string[];
  /** Arguments after `--` (exec passes them to the command). */
  rest: string[];
  global: boolean;
}

function optionName(arg: string): string {
  return arg.replace(/^-+/, '').split('=')[0]!;
}

function takesValue(arg: string): boolean {
  if (arg.includes('=')) return false;
  const name = optionName(arg);
  if (arg.startsWith('--no-')) return false;
  return VALUE_OPTIONS.has(name);
}

export function parseNpmArgs(argv: readonly string[]): NpmInvocation {
  const options: string[] = [];
  const positionals: string[] = [];
  let command: string | undefined;
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (arg.startsWith('-') && arg !== '-') {
      options.push(arg);
      if (takesValue(arg) && i + 1 < argv.length) options.push(argv[++i]!);
      continue;
    }
    if (command === undefined && (ACTIONS[arg] !== undefined || OTHER_COMMANDS.has(arg))) command = arg;
    else if (command === undefined) options.push(arg); // a value npm reads as an option's (kept in place)
    else positionals.push(arg);
  }
  const global = options.some((o) => /^(--global|-g|--location=global)$/.test(o)) || options.join(' ').includes('--location global');
  return { action: command === undefined ? 'other' : (ACTIONS[command] ?? 'other'), ...(command !== undefined ? { command } : {}), positionals, options, rest, global };
}

/** `--no-save` (and `--save=false`): npm changes neither package.json nor the lockfile. */
export function isNoSave(options: readonly string[]): boolean {
  return options.some((o) => o === '--no-save' || o === '--save=false' || o === '--no-package-lock' || o === '--package-lock=false');
}

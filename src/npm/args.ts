/**
 * What an npm command line asks for, read the way npm's own parser would for the commands
 * that install: the command word, the package specs given to it, and the options. An option takes
 * the next argument as its value only when npm's config types say it does (the list below);
 * `--x=y` carries its own value.
 *
 * Fail closed: npm also accepts any unique abbreviation of a command (`u`, `upd`, `install-te`),
 * camelCase names and commands added after this list was written, and an option this list does not
 * know may swallow the word after it. The wrapper gates the commands below by their exact names,
 * passes through the ones that install nothing, and refuses anything else rather than guess.
 */
export type NpmAction = 'install' | 'ci' | 'exec' | 'other' | 'refuse';

const ACTIONS: Readonly<Record<string, NpmAction>> = Object.fromEntries([
  ...['install', 'i', 'in', 'ins', 'inst', 'insta', 'instal', 'isnt', 'isnta', 'isntal', 'isntall', 'add'].map((c) => [c, 'install']),
  ...['update', 'up', 'upgrade', 'udpate', 'dedupe', 'ddp', 'uninstall', 'unlink', 'remove', 'rm', 'r', 'un', 'prune'].map((c) => [c, 'install']),
  ...['install-test', 'it'].map((c) => [c, 'install']),
  ...['ci', 'clean-install', 'ic', 'install-clean', 'isntall-clean', 'install-ci-test', 'cit', 'clean-install-test', 'sit'].map((c) => [c, 'ci']),
  ...['exec', 'x'].map((c) => [c, 'exec']),
]) as Record<string, NpmAction>;

/**
 * npm commands (and their aliases) that install no package: passed through. `init`/`create` with an
 * initializer and `audit fix` are decided apart; `rebuild` runs installed packages' scripts, which no
 * wrapper gates (README).
 */
const OTHER_COMMANDS = new Set(
  ('access adduser add-user audit bugs issues cache completion config c get set create dist-tag docs home doctor explain why find-dupes fund help hlep help-search ' +
    'hook init innit login logout ls list la ll org ogr outdated owner author pack ping pkg prefix profile publish query rebuild rb repo ' +
    'restart root run run-script rum urn start stop search find s se sbom shrinkwrap star stars team test t tst token unpublish unstar ' +
    'version verison view v info show why whoami deprecate diff')
    .split(' '),
);

/** npm options that take the next argument as their value (npm's config definitions, install-related and global ones). */
const VALUE_OPTIONS = new Set(
  ('omit include install-strategy workspace w registry prefix C cache userconfig globalconfig tag save-prefix before loglevel os cpu libc ' +
    'package call script-shell node-options fetch-retries fetch-timeout https-proxy proxy noproxy ca cafile cert key auth-type otp ' +
    'init-module location L only also lockfile-version')
    .split(' '),
);

/** npm's boolean options (and shorthands) the wrapper knows: they never take the next argument. */
const FLAG_OPTIONS = new Set(
  ('g global S save D save-dev O save-optional E save-exact save-peer B save-bundle save dry-run f force s silent q quiet d dd ddd verbose ' +
    'y yes json l long p parseable ignore-scripts foreground-scripts audit fund progress color offline prefer-offline prefer-online ' +
    'legacy-peer-deps strict-peer-deps workspaces ws include-workspace-root install-links package-lock package-lock-only global-style ' +
    'legacy-bundling bin-links update-notifier strict-ssl unicode timing no-save')
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
  /** Why the wrapper refuses this command line (action `refuse`). */
  refusal?: string;
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
  let unknownBefore: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (arg.startsWith('-') && arg !== '-') {
      options.push(arg);
      // Before the command word, an option npm might read a value for decides what the command is.
      if (command === undefined && unknownBefore === undefined && !arg.includes('=') && !arg.startsWith('--no-') && !VALUE_OPTIONS.has(optionName(arg)) && !FLAG_OPTIONS.has(optionName(arg))) unknownBefore = arg;
      if (takesValue(arg) && i + 1 < argv.length) options.push(argv[++i]!);
      continue;
    }
    if (command === undefined) command = arg;
    else positionals.push(arg);
  }
  const global = options.some((o) => /^(--global|-g|--location=global)$/.test(o)) || options.join(' ').includes('--location global');
  const base = { ...(command !== undefined ? { command } : {}), positionals, options, rest, global };
  const refusal = refusalOf(command, positionals, options, unknownBefore);
  if (refusal) return { action: 'refuse', ...base, refusal };
  return { action: command === undefined ? 'other' : (ACTIONS[command] ?? 'other'), ...base };
}

/** Why a command line is refused; undefined when it is gated or installs nothing. */
function refusalOf(command: string | undefined, positionals: readonly string[], options: readonly string[], unknownBefore: string | undefined): string | undefined {
  if (unknownBefore !== undefined) {
    return `the guard cannot tell whether npm reads the argument after ${unknownBefore} as its value, which decides the command: put npm's options after the command word, or write ${unknownBefore}=VALUE`;
  }
  if (command === undefined) return undefined;
  if (command === 'link' || command === 'ln') return '`npm link` installs packages globally and into the project, unchecked: add the package with `provenance-guard npm install <folder or pkg>`';
  if (ACTIONS[command] === undefined && !OTHER_COMMANDS.has(command)) {
    return `\`npm ${command}\` is not a command the guard gates or knows to install nothing (npm also runs abbreviations, camelCase names and newer commands, which may install): write an install command in full (\`npm update\`, \`npm install-test\`, \`npm exec\`), or run npm itself for a command that installs nothing`;
  }
  if (command === 'audit' && positionals[0] === 'fix') return '`npm audit fix` installs the versions an advisory names, unchecked: run `npm audit` to see them, then `provenance-guard npm install <pkg>@<version>`';
  if (['init', 'innit', 'create'].includes(command) && positionals.length === 0 && options.some((o) => /^(-w|--workspace|--workspaces|--ws)(=|$)/.test(o))) {
    return `\`npm ${command}\` of a workspace installs the whole tree, unchecked: create the workspace's package.json, then run \`provenance-guard npm install\``;
  }
  return undefined;
}

/** `--no-save` (and `--save=false`): npm changes neither package.json nor the lockfile. */
export function isNoSave(options: readonly string[]): boolean {
  return options.some((o) => o === '--no-save' || o === '--save=false' || o === '--no-package-lock' || o === '--package-lock=false');
}

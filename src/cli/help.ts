/**
 * `--help` text of every command: its usage line and one line per flag. Owners of a new
 * command add its entry here; `provenance-guard COMMAND --help` prints it and exits 0.
 */
export interface CommandHelp {
  usage: string;
  summary: string;
  flags: [flag: string, meaning: string][];
}

const GUARD: [string, string][] = [
  ['--lockfile PATH', 'the lockfile to check (default: pnpm-lock.yaml, yarn.lock or package-lock.json here)'],
  ['--config PATH', 'the policy file (default: .provenancerc etc., searched from here upward)'],
  ['--feed SRC', 'the verdict feed: a path, an https URL or an npm package spec (overrides feed.source)'],
  ['--offline', 'never touch the network: use cached copies of the feed only'],
  ['--online', 'gather live evidence for packages the feed does not cover'],
];

const HELP_ENTRY = ['-h, --help', 'print this help and exit'] as [string, string];

export const HELP: Record<string, CommandHelp> = {
  check: {
    usage: 'provenance-guard check [--lockfile PATH] [--config PATH] [--feed SRC] [--offline] [--online] [--format human|json|sarif] [--verbose]',
    summary: 'Check every package of a lockfile against the policy and the feed. Exit 0 ok, 1 something blocks, 2 error.',
    flags: [...GUARD, ['--format human|json|sarif', 'output format (default human; json and sarif list every package)'], ['--verbose', 'list every flagged package in detail, not only the first few']],
  },
  explain: {
    usage: 'provenance-guard explain NAME@VERSION [--lockfile PATH] [--config PATH] [--feed SRC] [--offline] [--online] [--format human|json]',
    summary: 'Show the evidence and every rule decision for one package version.',
    flags: [...GUARD, ['--format human|json', 'output format (default human)']],
  },
  'feed keygen': {
    usage: 'provenance-guard feed keygen --out-dir DIR',
    summary: 'Create a signing key pair: DIR/feed.key (private) and DIR/feed.pub; print the public key. Inside a git work tree DIR/.gitignore keeps feed.key out of commits.',
    flags: [['--out-dir DIR', 'where to write feed.key and feed.pub (never overwritten)']],
  },
  'feed build': {
    usage:
      'provenance-guard feed build (--records FILE.ndjson | --from-lockfile PATH | --packages NAME@VERSION,...) [--key FILE | --key-env VAR] [--out PATH] [--records-out FILE.ndjson] [--verify-source] [--shard I/N] [--serial N] [--generated-at ISO] [--expires-in 30d] [--config PATH]',
    summary: 'Build and sign a feed from records, or gather the records live from the registry and evidence services.',
    flags: [
      ['--records FILE.ndjson', 'records to sign, one JSON object a line'],
      ['--from-lockfile PATH', 'gather a record for every registry package of this lockfile'],
      ['--packages LIST', 'gather records for these NAME@VERSION specs (comma or space separated)'],
      ['--key FILE', 'the private key written by `feed keygen`'],
      ['--key-env VAR', 'read the private key (PEM) from environment variable VAR instead (CI secrets)'],
      ['--out PATH', 'where to write the signed feed (a file, or a directory for DIR/provenance.feed)'],
      ['--records-out FILE', 'also write the gathered records (without --key: records only)'],
      ['--serial N', 'the serial to sign with (default: higher than the feed at --out, and than now in seconds)'],
      ['--verify-source', 'also compare each tarball with its repository at the mapped commit and record `contents` (see verify)'],
      ['--shard I/N', 'gather only the I-th of N deterministic shards of the packages (records only; sign with `feed merge`)'],
      ['--generated-at ISO', 'the generation time to sign (default now; with --serial, makes the bytes reproducible)'],
      ['--expires-in DURATION', 'how long the feed stays valid (default 30d)'],
      ['--config PATH', 'policy file whose `sources:` configure the evidence services'],
    ],
  },
  'feed merge': {
    usage: 'provenance-guard feed merge --records FILE.ndjson... (--key FILE | --key-env VAR) --out PATH [--serial N] [--generated-at ISO] [--expires-in 30d]',
    summary: 'Sign one feed from the records of several `feed build --shard` jobs; the same records, serial and dates give the same bytes whatever the shard count.',
    flags: [
      ['--records FILE...', 'the records files (one per shard)'],
      ['--key FILE', 'the private key'],
      ['--key-env VAR', 'read the private key (PEM) from environment variable VAR'],
      ['--out PATH', 'where to write the signed feed'],
      ['--serial N', 'the serial to sign with'],
      ['--generated-at ISO', 'the generation time to sign'],
      ['--expires-in DURATION', 'how long the feed stays valid (default 30d)'],
    ],
  },
  'feed update': {
    usage:
      'provenance-guard feed update --base FEED (--from-lockfile PATH | --packages NAME@VERSION,... | --records FILE.ndjson) (--key FILE | --key-env VAR) --out PATH [--public-key FILE] [--expires-in 30d] [--config PATH]',
    summary: 'Add what is new to a feed: gathers only packages the base feed lacks, keeps every other record, signs with a higher serial.',
    flags: [
      ['--base FEED', 'the current feed (a file or a directory holding provenance.feed)'],
      ['--from-lockfile PATH', 'the lockfile whose registry packages the feed must cover'],
      ['--packages LIST', 'NAME@VERSION specs the feed must cover'],
      ['--records FILE.ndjson', 'records to add or replace instead of gathering them'],
      ['--key FILE', 'the private key'],
      ['--key-env VAR', 'read the private key (PEM) from environment variable VAR'],
      ['--out PATH', 'where to write the updated feed (may be the same as --base)'],
      ['--public-key FILE', 'verify the base feed against this key first (default: the key of --key)'],
      ['--expires-in DURATION', 'how long the new feed stays valid (default 30d)'],
      ['--config PATH', 'policy file whose `sources:` configure the evidence services'],
    ],
  },
  'feed verify': {
    usage: 'provenance-guard feed verify PATH --public-key FILE',
    summary: 'Verify a feed file or directory: signature, expiry, every byte. Exit 0 ok, 2 not trusted.',
    flags: [['--public-key FILE', 'the public key (feed.pub) to verify against']],
  },
  verify: {
    usage: 'provenance-guard verify NAME@VERSION [NAME@VERSION…] [--format human|json] [--rebuild] [--config PATH]',
    summary: 'Compare each published tarball with its source repository at the mapped commit (source match); exit 0 nothing diverged, 1 something diverged, 2 error.',
    flags: [
      ['--format human|json', 'output format (default human)'],
      ['--rebuild', 'also build the package from that commit in isolation and compare the packed result (a rebuild verdict)'],
      ['--config PATH', 'policy file whose `sources:` configure the registry'],
    ],
  },
  'feed trust': {
    usage: 'provenance-guard feed trust [--reset (--key KEYID | --all)]',
    summary: 'Show the feed state this machine keeps (per key, the highest serial accepted: rollback protection), or reset it deliberately.',
    flags: [
      ['--reset', 'forget accepted serials (with --key or --all)'],
      ['--key KEYID', 'the key whose state to reset (as printed by `feed trust`)'],
      ['--all', 'reset the state of every key (also removes a state file that does not parse)'],
    ],
  },
  npm: {
    usage: 'provenance-guard npm <npm arguments>',
    summary: 'Run npm install/ci/update/exec with the check first: npm resolves in a staging copy with scripts off, the result is checked, and only then installed (see README "npm").',
    flags: [],
  },
  npx: {
    usage: 'provenance-guard npx <npx arguments>',
    summary: "Resolve the tool's package tree in a temporary project, check it, install it there and run it.",
    flags: [],
  },
  init: {
    usage: 'provenance-guard init [--pm pnpm|yarn|bun] [--feed SRC] [--public-key FILE] [--method config-dependency|pnpmfile] [--force]',
    summary: 'Write .provenancerc (or fill an existing one) and wire the install hook into pnpm or Yarn.',
    flags: [
      ['--pm pnpm|yarn|bun', 'the package manager to wire (default: detected from the project)'],
      ['--feed SRC', 'the feed (path, https URL or npm package spec): sets feed.source; its evidence decides which rules are on'],
      ['--public-key FILE', 'the feed\'s public key (feed.pub, or the key itself): added to feed.publicKeys'],
      ['--method config-dependency|pnpmfile', 'pnpm only: how the hook is loaded (default config-dependency)'],
      ['--force', 'replace an existing .provenancerc with a fresh one (bun: also replace another scanner)'],
    ],
  },
};

/** The --help text of a command: usage, what it does, one line per flag. */
export function helpOf(command: string): string | undefined {
  const help = HELP[command];
  if (!help) return undefined;
  const flags = [...help.flags, HELP_ENTRY];
  const width = Math.max(...flags.map(([f]) => f.length));
  return [`Usage: ${help.usage}`, '', help.summary, '', 'Options:', ...flags.map(([f, m]) => `  ${f.padEnd(width)}  ${m}`)].join('\n');
}

/** Whether argv asks for help (before a `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

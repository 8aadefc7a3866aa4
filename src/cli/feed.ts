import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { tempPathFor } from '../atomic';
import { loadConfig } from '../config/load';
import { parseDuration } from '../config/duration';
import { FeedError, RecordsError, UsageError } from '../errors';
import { buildFeed } from '../feed/build';
import type { KeyObject } from 'node:crypto';
import { generateKeyPair, privateKeyFromEnv, publicKeyOf, readPrivateKey, readPublicKeyFile } from '../feed/keys';
import { gitIgnores, ignorePrivateKey } from '../feed/key-ignore';
import { newPackages, openBase, updateFeed, type VerifiedBase } from '../feed/update';
import { summarizeSourceWarnings } from '../report/source-failures';
import { mergeFeed } from '../feed/merge';
import { inShard, parseShard } from '../feed/shard';
import { verifyFeed } from '../feed/reader';
import { readFeedState, resetTrust, statePath, RESET_COMMAND } from '../feed/state';
import { configLine } from '../report/config-line';
import { escapeControl } from '../report/escape';
import { readRecordsFile } from '../feed/records';
import { resolveFeedSource } from '../feed/source';
import { readLockfile } from '../lockfile/index';
import { cacheDir, stateDir } from '../paths';
import type { SourcesConfig } from '../config/types';
import type { FeedRecord, ResolvedPackage } from '../types';
import { parseCommand, usageOf } from './args';
import type { CliContext } from './context';

async function keygen(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('feed keygen', argv, { 'out-dir': { type: 'string' } }, { min: 0, max: 0, names: '' });
  if (!values['out-dir']) throw new UsageError(`feed keygen: --out-dir DIR is required\n\n${usageOf('feed keygen')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  // A file in the way is the user's mistake, named as such (mkdir would fail with EEXIST/ENOTDIR).
  const dir = outputPath('feed keygen', 'out-dir', values['out-dir'], ctx, true);
  if (pathKind(dir) === 'other') {
    throw new UsageError(`feed keygen: --out-dir ${values['out-dir']}: is not a directory\n\n${usageOf('feed keygen')}`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  }
  // The .gitignore comes first: there is never a moment the key could be committed.
  const ignore = ignorePrivateKey(dir);
  const keys = generateKeyPair(dir);
  ctx.stderr.write(`Wrote ${keys.privateKeyPath} (private: keep it secret) and ${keys.publicKeyPath}.\n`);
  if (ignore) {
    const ignored = gitIgnores(keys.privateKeyPath);
    ctx.stderr.write(ignored === false ? `WARNING: ${ignore} lists feed.key but git does not ignore ${keys.privateKeyPath}; check your ignore rules before committing.\n` : `${ignore} keeps feed.key out of git; commit feed.pub only.\n`);
  }
  ctx.stderr.write('Add the public key to feed.publicKeys in your .provenancerc (or `provenance-guard init --public-key ' + keys.publicKeyPath + '`):\n');
  ctx.stdout.write(`${keys.publicKey}\n`);
  return 0;
}

/** The signing key from --key or --key-env, loaded (and so checked) before anything is gathered. */
function signingKey(command: string, values: { key?: string; 'key-env'?: string }, ctx: CliContext): KeyObject | undefined {
  if (values.key !== undefined && values['key-env'] !== undefined) throw new UsageError(`${command}: give --key or --key-env, not both\n\n${usageOf(command)}`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  if (values['key-env'] !== undefined) return privateKeyFromEnv(values['key-env'], ctx.env);
  return values.key !== undefined ? readPrivateKey(resolve(ctx.cwd, values.key)) : undefined;
}

function parseExpiresIn(command: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`${command}: --expires-in must be a duration such as 12h or 30d (at most 36500d), got "${value}"`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  return ms;
}

async function gatherRecords(ctx: CliContext, packages: ResolvedPackage[], configPath: string | undefined, verifySource = false): Promise<FeedRecord[]> {
  if (packages.length === 0) return [];
  const config = await loadConfig({ cwd: ctx.cwd, env: ctx.env, ...(configPath ? { configPath } : {}) });
  ctx.stderr.write(`${configLine(config)}\n`);
  const { gatherEvidence, createProgressBar } = await import('../evidence/index');
  const progress = createProgressBar(ctx.stderr);
  const result = await gatherEvidence(packages, {
    sources: config.sources,
    cacheDir: cacheDir(ctx.env),
    stateDir: stateDir(ctx.env),
    npmrc: { cwd: ctx.cwd },
    env: ctx.env,
    onProgress: progress,
  });
  for (const line of summarizeSourceWarnings(result.warnings)) ctx.stderr.write(`${line}\n`);
  if (verifySource) await addSourceMatch(ctx, result.records, packages, config.sources);
  return result.records;
}

/**
 * `--verify-source`: each record gets the `contents` verdict of its tarball — the one with the
 * record's integrity (the lockfile's when it has one). A package that cannot be verified keeps
 * no `contents` (= unknown) and is reported.
 */
async function addSourceMatch(ctx: CliContext, records: FeedRecord[], packages: ResolvedPackage[], sources: SourcesConfig): Promise<void> {
  const { verifySources } = await import('../verify/index');
  const { createProgressBar } = await import('../evidence/progress');
  const progress = createProgressBar(ctx.stderr, 100, 'verify');
  const lockIntegrity = new Map(packages.map((p) => [`${p.name}@${p.version}`, p.integrity]));
  const targets: ResolvedPackage[] = records.map((r) => {
    const integrity = lockIntegrity.get(`${r.name}@${r.version}`) ?? r.integrity;
    return { name: r.name, version: r.version, source: 'registry', ...(integrity ? { integrity } : {}) };
  });
  const outcomes = await verifySources(targets, {
    cacheDir: cacheDir(ctx.env),
    stateDir: stateDir(ctx.env),
    env: ctx.env,
    cwd: ctx.cwd,
    ...(sources.registry.url ? { registry: sources.registry.url } : {}),
    timeout: sources.timeout,
    concurrency: sources.concurrency,
    registryTtl: sources.cacheTtl,
    ...(progress ? { onProgress: progress } : {}),
  });
  outcomes.forEach((outcome, i) => {
    const record = records[i]!;
    if (!outcome.ok) {
      ctx.stderr.write(`provenance-guard: verify-source: ${escapeControl(outcome.error.message)}; its contents are unknown\n`);
      return;
    }
    record.contents = outcome.result.contents;
    if (!record.repository && outcome.result.repository) record.repository = outcome.result.repository;
  });
}

/** The packages named by --from-lockfile or --packages. */
async function packagesToGather(ctx: CliContext, values: { 'from-lockfile'?: string; packages?: string }): Promise<ResolvedPackage[]> {
  if (values['from-lockfile'] !== undefined) return readLockfile(resolve(ctx.cwd, values['from-lockfile']));
  const { parsePackageSpecs } = await import('../evidence/index');
  return parsePackageSpecs(values.packages!.split(/[\s,]+/).filter(Boolean));
}

/**
 * An output path checked before any work (gathering evidence takes minutes): its directory is
 * created as needed, so the nearest existing ancestor must be a directory; a records file must
 * not be a directory itself (a feed's --out may be one: the feed is written inside it).
 */
function outputPath(command: string, flag: string, value: string, ctx: CliContext, directoryAllowed: boolean): string {
  const path = resolve(ctx.cwd, value);
  const invalid = (why: string) => new UsageError(`${command}: --${flag} ${value}: ${why}\n\n${usageOf(command)}`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  if (!directoryAllowed && (/[/\\]$/.test(value) || isDirectory(path))) throw invalid('is a directory; name a file');
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const kind = pathKind(dir);
    if (kind === 'directory') return path;
    if (kind === 'other') throw invalid(`${dir} is not a directory`);
    if (dirname(dir) === dir) return path;
  }
}

function pathKind(path: string): 'directory' | 'other' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
}

const isDirectory = (path: string): boolean => pathKind(path) === 'directory';

async function writeRecords(records: Iterable<FeedRecord>, out: string | undefined, ctx: CliContext): Promise<void> {
  if (!out) {
    for (const record of records) ctx.stdout.write(JSON.stringify(record) + '\n');
    return;
  }
  const tmp = tempPathFor(out);
  try {
    mkdirSync(dirname(out), { recursive: true });
    const stream = createWriteStream(tmp);
    for (const record of records) if (!stream.write(JSON.stringify(record) + '\n')) await new Promise<void>((r) => stream.once('drain', () => r()));
    stream.end();
    await finished(stream);
    renameSync(tmp, out);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new RecordsError(`${out}: cannot write the records: ${(error as Error).message}`, { file: out, code: 'ERR_PG_RECORDS_WRITE', cause: error });
  }
}

const BUILD_FLAGS = {
  records: { type: 'string' },
  'from-lockfile': { type: 'string' },
  packages: { type: 'string' },
  key: { type: 'string' },
  'key-env': { type: 'string' },
  out: { type: 'string' },
  'records-out': { type: 'string' },
  serial: { type: 'string' },
  'expires-in': { type: 'string' },
  'generated-at': { type: 'string' },
  shard: { type: 'string' },
  config: { type: 'string' },
  'verify-source': { type: 'boolean' },
} as const;

function checkBuildInputs(values: { records?: string; 'from-lockfile'?: string; packages?: string; key?: string; 'key-env'?: string; out?: string; shard?: string; 'verify-source'?: boolean }): void {
  const inputs = [values.records, values['from-lockfile'], values.packages].filter((v) => v !== undefined);
  if (values.records !== undefined && values['verify-source']) {
    throw new UsageError(`feed build: --verify-source needs --from-lockfile or --packages (records given with --records are signed as they are)\n\n${usageOf('feed build')}`, { code: 'ERR_PG_USAGE_CONFLICT' });
  }
  const signing = values.key !== undefined || values['key-env'] !== undefined;
  if (values.shard !== undefined && (values.records !== undefined || signing)) {
    throw new UsageError(`feed build: --shard gathers records for --from-lockfile or --packages; sign them with \`feed merge\`, not --key\n\n${usageOf('feed build')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  }
  if (inputs.length !== 1) throw new UsageError(`feed build: give exactly one of --records, --from-lockfile or --packages\n\n${usageOf('feed build')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  if (signing !== (values.out !== undefined)) throw new UsageError(`feed build: --key (or --key-env) and --out go together\n\n${usageOf('feed build')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  if (values.records !== undefined && !signing) throw new UsageError(`feed build: --records needs --key and --out\n\n${usageOf('feed build')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
}

/** The packages of this shard (`--shard I/N`), or all of them. */
function shardOfPackages(ctx: CliContext, packages: ResolvedPackage[], shardFlag: string | undefined): ResolvedPackage[] {
  if (shardFlag === undefined) return packages;
  const shard = parseShard(shardFlag);
  const mine = inShard(packages, shard);
  ctx.stderr.write(`shard ${shard.index}/${shard.count}: ${mine.length} of ${packages.length} package${packages.length === 1 ? '' : 's'}\n`);
  return mine;
}

async function build(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('feed build', argv, BUILD_FLAGS, { min: 0, max: 0, names: '' });
  checkBuildInputs(values);
  const signing = signingOptions('feed build', values);
  const privateKey = signingKey('feed build', values, ctx);
  const out = values.out === undefined ? undefined : outputPath('feed build', 'out', values.out, ctx, true);
  const recordsOut = values['records-out'] === undefined ? undefined : outputPath('feed build', 'records-out', values['records-out'], ctx, false);

  let records: Iterable<FeedRecord> | AsyncIterable<FeedRecord>;
  if (values.records !== undefined) {
    const path = resolve(ctx.cwd, values.records);
    if (!existsSync(path)) throw new RecordsError(`${path}: records file not found`, { file: path, code: 'ERR_PG_RECORDS_NOT_FOUND' });
    records = readRecordsFile(path);
  } else {
    const packages = shardOfPackages(ctx, await packagesToGather(ctx, values), values.shard);
    const gathered = await gatherRecords(ctx, packages, values.config, values['verify-source'] === true);
    if (recordsOut !== undefined || privateKey === undefined) await writeRecords(gathered, recordsOut, ctx);
    records = gathered;
  }
  if (privateKey === undefined) return 0;
  const { path, header } = await buildFeed({
    records,
    privateKey,
    out: out!,
    ...signing,
  });
  ctx.stderr.write(`Wrote ${path}: ${header.records} record${header.records === 1 ? '' : 's'}, serial ${header.serial}, expires ${header.expiresAt}\n`);
  return 0;
}

const UPDATE_FLAGS = {
  base: { type: 'string' },
  'from-lockfile': { type: 'string' },
  packages: { type: 'string' },
  records: { type: 'string' },
  key: { type: 'string' },
  'key-env': { type: 'string' },
  out: { type: 'string' },
  'public-key': { type: 'string' },
  'expires-in': { type: 'string' },
  config: { type: 'string' },
} as const;

function checkUpdateInputs(values: { base?: string; records?: string; 'from-lockfile'?: string; packages?: string; key?: string; 'key-env'?: string; out?: string }): void {
  const usage = usageOf('feed update');
  if (values.base === undefined || values.out === undefined) throw new UsageError(`feed update: --base FEED and --out PATH are required\n\n${usage}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  const inputs = [values.records, values['from-lockfile'], values.packages].filter((v) => v !== undefined);
  if (inputs.length !== 1) throw new UsageError(`feed update: give exactly one of --from-lockfile, --packages or --records\n\n${usage}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  if (values.key === undefined && values['key-env'] === undefined) throw new UsageError(`feed update: --key FILE or --key-env VAR is required\n\n${usage}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
}

/** The records to add: the given ones, or those gathered for packages the base lacks. */
async function addedRecords(ctx: CliContext, base: VerifiedBase, values: { records?: string; 'from-lockfile'?: string; packages?: string; config?: string }): Promise<{ added: FeedRecord[]; kept: number }> {
  if (values.records !== undefined) {
    const added: FeedRecord[] = [];
    for await (const record of readRecordsFile(resolve(ctx.cwd, values.records))) added.push(record);
    return { added, kept: base.header.records };
  }
  const wanted = await packagesToGather(ctx, values);
  const fresh = newPackages(base, wanted);
  ctx.stderr.write(`provenance-guard: ${fresh.length} of ${new Set(wanted.filter((p) => p.source === 'registry').map((p) => `${p.name}@${p.version}`)).size} registry package versions are not in the feed yet; gathering evidence for those only\n`);
  return { added: await gatherRecords(ctx, fresh, values.config), kept: base.header.records };
}

async function update(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('feed update', argv, UPDATE_FLAGS, { min: 0, max: 0, names: '' });
  checkUpdateInputs(values);
  const expiresIn = parseExpiresIn('feed update', values['expires-in']);
  const privateKey = signingKey('feed update', values, ctx)!;
  const out = outputPath('feed update', 'out', values.out!, ctx, true);
  const publicKeys = values['public-key'] !== undefined ? [readPublicKeyFile(resolve(ctx.cwd, values['public-key']))] : [publicKeyOf(privateKey)];
  const basePath = await resolveFeedSource({ source: values.base!, rootDir: ctx.cwd, offline: false, cacheDir: cacheDir(ctx.env), stateDir: stateDir(ctx.env), env: ctx.env, publicKeys });
  const base = openBase(basePath, publicKeys, stateDir(ctx.env));
  try {
    const { added, kept } = await addedRecords(ctx, base, values);
    const { path, header } = await updateFeed({ base, added, privateKey, out, ...(expiresIn !== undefined ? { expiresIn } : {}) });
    ctx.stderr.write(`Wrote ${path}: ${header.records} records (${kept} from serial ${base.header.serial}, ${added.length} added or replaced), serial ${header.serial}, expires ${header.expiresAt}\n`);
    return 0;
  } finally {
    base.dispose();
  }
}

interface SigningValues {
  serial?: string | undefined;
  'expires-in'?: string | undefined;
  'generated-at'?: string | undefined;
}

/** --serial, --expires-in and --generated-at: what, besides the records, fixes a feed's bytes. */
function signingOptions(command: string, values: SigningValues): { serial?: number; expiresIn?: number; now?: Date } {
  const out: { serial?: number; expiresIn?: number; now?: Date } = {};
  if (values.serial !== undefined) {
    const serial = Number(values.serial);
    if (!/^\d+$/.test(values.serial) || !Number.isSafeInteger(serial)) throw new UsageError(`${command}: --serial must be a whole number, got "${values.serial}"`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
    out.serial = serial;
  }
  if (values['expires-in'] !== undefined) {
    const expiresIn = parseDuration(values['expires-in']);
    if (expiresIn === undefined) throw new UsageError(`${command}: --expires-in must be a duration such as 12h or 30d, got "${values['expires-in']}"`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
    out.expiresIn = expiresIn;
  }
  if (values['generated-at'] !== undefined) {
    const at = Date.parse(values['generated-at']);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(values['generated-at']) || Number.isNaN(at)) {
      throw new UsageError(`${command}: --generated-at must be an ISO date-time such as 2026-11-01T00:00:00Z, got "${values['generated-at']}"`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
    }
    out.now = new Date(at);
  }
  return out;
}

async function merge(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand(
    'feed merge',
    argv,
    {
      records: { type: 'string', multiple: true },
      key: { type: 'string' },
      'key-env': { type: 'string' },
      out: { type: 'string' },
      serial: { type: 'string' },
      'expires-in': { type: 'string' },
      'generated-at': { type: 'string' },
    },
    { min: 0, max: Number.MAX_SAFE_INTEGER, names: 'FILE.ndjson' },
  );
  // `--records a.ndjson b.ndjson c.ndjson` (the files after the first are positionals) or repeated --records.
  const files = [...(values.records ?? []), ...positionals];
  const privateKey = signingKey('feed merge', values, ctx);
  if (files.length === 0 || privateKey === undefined || values.out === undefined) {
    throw new UsageError(`feed merge: --records FILE..., --key (or --key-env) and --out are required\n\n${usageOf('feed merge')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  }
  const out = outputPath('feed merge', 'out', values.out, ctx, true);
  const { path, header } = await mergeFeed({
    recordFiles: files.map((f) => resolve(ctx.cwd, f)),
    privateKey,
    out,
    ...signingOptions('feed merge', values),
  });
  ctx.stderr.write(`Wrote ${path}: ${header.records} record${header.records === 1 ? '' : 's'} from ${files.length} file${files.length === 1 ? '' : 's'}, serial ${header.serial}, expires ${header.expiresAt}\n`);
  return 0;
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('feed verify', argv, { 'public-key': { type: 'string' } }, { min: 1, max: 1, names: 'PATH' });
  if (!values['public-key']) throw new UsageError(`feed verify: --public-key FILE is required\n\n${usageOf('feed verify')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  const publicKeys = [readPublicKeyFile(resolve(ctx.cwd, values['public-key']))];
  const given = resolve(ctx.cwd, positionals[0]!);
  if (!existsSync(given)) throw new FeedError(`${given}: no such feed file or directory`, { file: given, code: 'ERR_PG_FEED_NOT_FOUND' });
  const path = await resolveFeedSource({ source: given, rootDir: ctx.cwd, offline: true, cacheDir: cacheDir(ctx.env), stateDir: stateDir(ctx.env), env: ctx.env, publicKeys });
  const header = verifyFeed(path, publicKeys, { stateDir: stateDir(ctx.env) });
  ctx.stdout.write(`OK ${path}: signature verified (key ${header.keyId}), ${header.records} record${header.records === 1 ? '' : 's'}, serial ${header.serial}, generated ${header.generatedAt}, expires ${header.expiresAt}\n`);
  return 0;
}

function showTrust(ctx: CliContext): number {
  const dir = stateDir(ctx.env);
  const entries = Object.entries(readFeedState(dir).serials);
  ctx.stdout.write(`Feed trust state: ${statePath(dir)}\n`);
  if (entries.length === 0) ctx.stdout.write('  no feed accepted on this machine yet (feed.minSerial is then the only floor)\n');
  for (const [keyId, entry] of entries) {
    const content = entry.sha256 ? `, content sha256 ${entry.sha256.slice(0, 16)}…` : '';
    ctx.stdout.write(`  key ${escapeControl(keyId)}: highest serial accepted ${entry.serial}, at ${escapeControl(entry.acceptedAt)}${content}\n`);
  }
  ctx.stdout.write(`Older serials, and other content under an accepted serial, are refused. \`${RESET_COMMAND} --key KEYID\` (or --all) forgets them.\n`);
  return 0;
}

function describeForgotten(entry: unknown): string {
  const e = entry as { serial?: unknown; acceptedAt?: unknown } | null;
  return typeof e?.serial === 'number' ? `serial ${e.serial}${typeof e.acceptedAt === 'string' ? `, accepted at ${escapeControl(e.acceptedAt)}` : ''}` : 'an unreadable entry';
}

/** `feed trust`: shows what this machine accepted; `--reset` forgets it deliberately. */
async function trust(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('feed trust', argv, { reset: { type: 'boolean' }, key: { type: 'string' }, all: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
  if (!values.reset) {
    if (values.key !== undefined || values.all) throw new UsageError(`feed trust: --key and --all go with --reset\n\n${usageOf('feed trust')}`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
    return showTrust(ctx);
  }
  if ((values.key === undefined) === !values.all) throw new UsageError(`feed trust --reset: give --key KEYID or --all\n\n${usageOf('feed trust')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  const dir = stateDir(ctx.env);
  const path = statePath(dir);
  if (values.all) {
    const forgotten = Object.keys(resetTrust(dir, { all: true }));
    ctx.stderr.write(`Forgot the accepted feed serials of ${forgotten.length} key${forgotten.length === 1 ? '' : 's'} (${path}); the next feed accepted for each sets it again.\n`);
    return 0;
  }
  const keyId = values.key!.trim();
  const forgotten = resetTrust(dir, { keyId });
  if (!(keyId in forgotten)) {
    throw new UsageError(`feed trust --reset: no accepted serial for key ${JSON.stringify(escapeControl(keyId))} in ${path} (\`provenance-guard feed trust\` lists them)`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  }
  ctx.stderr.write(`Forgot the accepted feed serial of key ${escapeControl(keyId)} (${describeForgotten(forgotten[keyId])}) in ${path}.\n`);
  return 0;
}

export async function feedCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'keygen':
      return keygen(rest, ctx);
    case 'build':
      return build(rest, ctx);
    case 'update':
      return update(rest, ctx);
    case 'verify':
      return verify(rest, ctx);
    case 'trust':
      return trust(rest, ctx);
    case 'merge':
      return merge(rest, ctx);
    default:
      throw new UsageError(
        `feed: expected keygen, build, update, merge, verify or trust${sub ? `, got "${sub}"` : ''}\n\n${['feed keygen', 'feed build', 'feed update', 'feed merge', 'feed verify', 'feed trust'].map(usageOf).join('\n')}`,
        { code: 'ERR_PG_USAGE_UNKNOWN_COMMAND' },
      );
  }
}

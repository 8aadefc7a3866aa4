import { createWriteStream, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { tempPathFor } from '../atomic';
import { loadConfig } from '../config/load';
import { parseDuration } from '../config/duration';
import { FeedError, RecordsError, UsageError } from '../errors';
import { buildFeed } from '../feed/build';
import { generateKeyPair } from '../feed/keys';
import { verifyFeed } from '../feed/reader';
import { readFeedState, resetTrust, statePath, RESET_COMMAND } from '../feed/state';
import { configLine } from '../report/config-line';
import { escapeControl } from '../report/escape';
import { readRecordsFile } from '../feed/records';
import { resolveFeedSource } from '../feed/source';
import { readLockfile } from '../lockfile/index';
import { cacheDir } from '../paths';
import type { FeedRecord, ResolvedPackage } from '../types';
import { parseCommand, usageOf } from './args';
import type { CliContext } from './context';

async function keygen(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('feed keygen', argv, { 'out-dir': { type: 'string' } }, { min: 0, max: 0, names: '' });
  if (!values['out-dir']) throw new UsageError(`feed keygen: --out-dir DIR is required\n\n${usageOf('feed keygen')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  const keys = generateKeyPair(resolve(ctx.cwd, values['out-dir']));
  ctx.stderr.write(`Wrote ${keys.privateKeyPath} (private: keep it secret) and ${keys.publicKeyPath}.\nAdd the public key to feed.publicKeys in your .provenancerc:\n`);
  ctx.stdout.write(`${keys.publicKey}\n`);
  return 0;
}

async function gatherRecords(ctx: CliContext, packages: ResolvedPackage[], configPath: string | undefined): Promise<FeedRecord[]> {
  const config = await loadConfig({ cwd: ctx.cwd, env: ctx.env, ...(configPath ? { configPath } : {}) });
  ctx.stderr.write(`${configLine(config)}\n`);
  const { gatherEvidence, createProgressBar } = await import('../evidence/index');
  const progress = createProgressBar(ctx.stderr as NodeJS.WritableStream & { isTTY?: boolean; write(chunk: string): boolean });
  const result = await gatherEvidence(packages, {
    sources: config.sources,
    cacheDir: cacheDir(ctx.env),
    npmrc: { cwd: ctx.cwd },
    env: ctx.env,
    ...(progress ? { onProgress: progress } : {}),
  });
  for (const warning of result.warnings) ctx.stderr.write(`provenance-guard: ${escapeControl(warning)}\n`);
  return result.records;
}

async function writeRecords(records: Iterable<FeedRecord>, out: string | undefined, ctx: CliContext): Promise<void> {
  if (!out) {
    for (const record of records) ctx.stdout.write(JSON.stringify(record) + '\n');
    return;
  }
  const tmp = tempPathFor(out);
  const stream = createWriteStream(tmp);
  try {
    for (const record of records) if (!stream.write(JSON.stringify(record) + '\n')) await new Promise<void>((r) => stream.once('drain', () => r()));
    stream.end();
    await finished(stream);
    renameSync(tmp, out);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

async function build(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand(
    'feed build',
    argv,
    {
      records: { type: 'string' },
      'from-lockfile': { type: 'string' },
      packages: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      'records-out': { type: 'string' },
      serial: { type: 'string' },
      'expires-in': { type: 'string' },
      config: { type: 'string' },
    },
    { min: 0, max: 0, names: '' },
  );
  const inputs = [values.records, values['from-lockfile'], values.packages].filter((v) => v !== undefined);
  if (inputs.length !== 1) {
    throw new UsageError(`feed build: give exactly one of --records, --from-lockfile or --packages\n\n${usageOf('feed build')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  }
  if ((values.key === undefined) !== (values.out === undefined)) {
    throw new UsageError(`feed build: --key and --out go together\n\n${usageOf('feed build')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  }
  if (values.records !== undefined && values.key === undefined) {
    throw new UsageError(`feed build: --records needs --key and --out\n\n${usageOf('feed build')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  }
  let serial: number | undefined;
  if (values.serial !== undefined) {
    serial = Number(values.serial);
    if (!Number.isSafeInteger(serial) || serial < 0) throw new UsageError(`feed build: --serial must be a whole number, got "${values.serial}"`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  }
  let expiresIn: number | undefined;
  if (values['expires-in'] !== undefined) {
    expiresIn = parseDuration(values['expires-in']);
    if (expiresIn === undefined) throw new UsageError(`feed build: --expires-in must be a duration such as 12h or 30d (at most 36500d), got "${values['expires-in']}"`, { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  }

  let records: Iterable<FeedRecord> | AsyncIterable<FeedRecord>;
  if (values.records !== undefined) {
    const path = resolve(ctx.cwd, values.records);
    if (!existsSync(path)) throw new RecordsError(`${path}: records file not found`, { file: path, code: 'ERR_PG_RECORDS_NOT_FOUND' });
    records = readRecordsFile(path);
  } else {
    let packages: ResolvedPackage[];
    if (values['from-lockfile'] !== undefined) {
      packages = readLockfile(resolve(ctx.cwd, values['from-lockfile']));
    } else {
      const { parsePackageSpecs } = await import('../evidence/index');
      packages = parsePackageSpecs(values.packages!.split(/[\s,]+/).filter(Boolean));
    }
    const gathered = await gatherRecords(ctx, packages, values.config);
    if (values['records-out'] !== undefined || values.key === undefined) await writeRecords(gathered, values['records-out'] && resolve(ctx.cwd, values['records-out']), ctx);
    records = gathered;
  }
  if (values.key === undefined) return 0;
  const { path, header } = await buildFeed({
    records,
    privateKeyPath: resolve(ctx.cwd, values.key),
    out: resolve(ctx.cwd, values.out!),
    ...(serial !== undefined ? { serial } : {}),
    ...(expiresIn !== undefined ? { expiresIn } : {}),
  });
  ctx.stderr.write(`Wrote ${path}: ${header.records} record${header.records === 1 ? '' : 's'}, serial ${header.serial}, expires ${header.expiresAt}\n`);
  return 0;
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('feed verify', argv, { 'public-key': { type: 'string' } }, { min: 1, max: 1, names: 'PATH' });
  if (!values['public-key']) throw new UsageError(`feed verify: --public-key FILE is required\n\n${usageOf('feed verify')}`, { code: 'ERR_PG_USAGE_MISSING_ARGUMENT' });
  const keyFile = resolve(ctx.cwd, values['public-key']);
  if (!existsSync(keyFile)) throw new FeedError(`${keyFile}: public key file not found`, { file: keyFile, code: 'ERR_PG_FEED_KEY_NOT_FOUND' });
  const given = resolve(ctx.cwd, positionals[0]!);
  if (!existsSync(given)) throw new FeedError(`${given}: no such feed file or directory`, { file: given, code: 'ERR_PG_FEED_NOT_FOUND' });
  const publicKeys = [readFileSync(keyFile, 'utf8').trim()];
  const path = await resolveFeedSource({ source: given, rootDir: ctx.cwd, offline: true, cacheDir: cacheDir(ctx.env), env: ctx.env, publicKeys });
  const header = verifyFeed(path, publicKeys, { cacheDir: cacheDir(ctx.env) });
  ctx.stdout.write(`OK ${path}: signature verified (key ${header.keyId}), ${header.records} record${header.records === 1 ? '' : 's'}, serial ${header.serial}, generated ${header.generatedAt}, expires ${header.expiresAt}\n`);
  return 0;
}

function showTrust(ctx: CliContext): number {
  const dir = cacheDir(ctx.env);
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
  const dir = cacheDir(ctx.env);
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
    case 'verify':
      return verify(rest, ctx);
    case 'trust':
      return trust(rest, ctx);
    default:
      throw new UsageError(
        `feed: expected keygen, build, verify or trust${sub ? `, got "${sub}"` : ''}\n\n${['feed keygen', 'feed build', 'feed verify', 'feed trust'].map(usageOf).join('\n')}`,
        { code: 'ERR_PG_USAGE_UNKNOWN_COMMAND' },
      );
  }
}

import { createWriteStream, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { tempPathFor } from '../atomic';
import { loadConfig } from '../config/load';
import { parseDuration } from '../config/duration';
import { FeedError, UsageError } from '../errors';
import { buildFeed } from '../feed/build';
import { mergeFeed } from '../feed/merge';
import { inShard, parseShard } from '../feed/shard';
import { generateKeyPair } from '../feed/keys';
import { verifyFeed } from '../feed/reader';
import { readRecordsFile } from '../feed/records';
import { resolveFeedSource } from '../feed/source';
import { readLockfile } from '../lockfile/index';
import { cacheDir } from '../paths';
import type { FeedRecord, ResolvedPackage } from '../types';
import { parseCommand, usageOf } from './args';
import type { CliContext } from './context';

async function keygen(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('feed keygen', argv, { 'out-dir': { type: 'string' } }, { min: 0, max: 0, names: '' });
  if (!values['out-dir']) throw new UsageError(`feed keygen: --out-dir DIR is required\n\n${usageOf('feed keygen')}`);
  const keys = generateKeyPair(resolve(ctx.cwd, values['out-dir']));
  ctx.stderr.write(`Wrote ${keys.privateKeyPath} (private: keep it secret) and ${keys.publicKeyPath}.\nAdd the public key to feed.publicKeys in your .provenancerc:\n`);
  ctx.stdout.write(`${keys.publicKey}\n`);
  return 0;
}

async function gatherRecords(ctx: CliContext, packages: ResolvedPackage[], configPath: string | undefined): Promise<FeedRecord[]> {
  const config = await loadConfig({ cwd: ctx.cwd, env: ctx.env, ...(configPath ? { configPath } : {}) });
  const { gatherEvidence, createProgressBar } = await import('../evidence/index');
  const progress = createProgressBar(ctx.stderr as NodeJS.WritableStream & { isTTY?: boolean; write(chunk: string): boolean });
  const result = await gatherEvidence(packages, {
    sources: config.sources,
    cacheDir: cacheDir(ctx.env),
    npmrc: { cwd: ctx.cwd },
    env: ctx.env,
    ...(progress ? { onProgress: progress } : {}),
  });
  for (const warning of result.warnings) ctx.stderr.write(`provenance-guard: ${warning}\n`);
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
      'generated-at': { type: 'string' },
      shard: { type: 'string' },
      config: { type: 'string' },
    },
    { min: 0, max: 0, names: '' },
  );
  const inputs = [values.records, values['from-lockfile'], values.packages].filter((v) => v !== undefined);
  const shard = values.shard === undefined ? undefined : parseShard(values.shard);
  if (shard && (values.records !== undefined || values.key !== undefined)) {
    throw new UsageError(`feed build: --shard gathers records for --from-lockfile or --packages; sign them with \`feed merge\`, not --key\n\n${usageOf('feed build')}`);
  }
  if (inputs.length !== 1) {
    throw new UsageError(`feed build: give exactly one of --records, --from-lockfile or --packages\n\n${usageOf('feed build')}`);
  }
  if ((values.key === undefined) !== (values.out === undefined)) {
    throw new UsageError(`feed build: --key and --out go together\n\n${usageOf('feed build')}`);
  }
  if (values.records !== undefined && values.key === undefined) {
    throw new UsageError(`feed build: --records needs --key and --out\n\n${usageOf('feed build')}`);
  }
  const signing = signingOptions('feed build', values);

  let records: Iterable<FeedRecord> | AsyncIterable<FeedRecord>;
  if (values.records !== undefined) {
    const path = resolve(ctx.cwd, values.records);
    if (!existsSync(path)) throw new UsageError(`feed build: records file not found: ${path}`);
    records = readRecordsFile(path);
  } else {
    let packages: ResolvedPackage[];
    if (values['from-lockfile'] !== undefined) {
      packages = readLockfile(resolve(ctx.cwd, values['from-lockfile']));
    } else {
      const { parsePackageSpecs } = await import('../evidence/index');
      packages = parsePackageSpecs(values.packages!.split(/[\s,]+/).filter(Boolean));
    }
    if (shard) {
      const total = packages.length;
      packages = inShard(packages, shard);
      ctx.stderr.write(`shard ${shard.index}/${shard.count}: ${packages.length} of ${total} package${total === 1 ? '' : 's'}\n`);
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
    ...signing,
  });
  ctx.stderr.write(`Wrote ${path}: ${header.records} record${header.records === 1 ? '' : 's'}, serial ${header.serial}, expires ${header.expiresAt}\n`);
  return 0;
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
    if (!/^\d+$/.test(values.serial) || !Number.isSafeInteger(serial)) throw new UsageError(`${command}: --serial must be a whole number, got "${values.serial}"`);
    out.serial = serial;
  }
  if (values['expires-in'] !== undefined) {
    const expiresIn = parseDuration(values['expires-in']);
    if (expiresIn === undefined) throw new UsageError(`${command}: --expires-in must be a duration such as 12h or 30d, got "${values['expires-in']}"`);
    out.expiresIn = expiresIn;
  }
  if (values['generated-at'] !== undefined) {
    const at = Date.parse(values['generated-at']);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(values['generated-at']) || Number.isNaN(at)) {
      throw new UsageError(`${command}: --generated-at must be an ISO date-time such as 2026-11-01T00:00:00Z, got "${values['generated-at']}"`);
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
      out: { type: 'string' },
      serial: { type: 'string' },
      'expires-in': { type: 'string' },
      'generated-at': { type: 'string' },
    },
    { min: 0, max: Number.MAX_SAFE_INTEGER, names: 'FILE.ndjson' },
  );
  // `--records a.ndjson b.ndjson c.ndjson` (the files after the first are positionals) or repeated --records.
  const files = [...(values.records ?? []), ...positionals];
  if (files.length === 0 || values.key === undefined || values.out === undefined) {
    throw new UsageError(`feed merge: --records FILE..., --key and --out are required\n\n${usageOf('feed merge')}`);
  }
  const { path, header } = await mergeFeed({
    recordFiles: files.map((f) => resolve(ctx.cwd, f)),
    privateKeyPath: resolve(ctx.cwd, values.key),
    out: resolve(ctx.cwd, values.out),
    ...signingOptions('feed merge', values),
  });
  ctx.stderr.write(`Wrote ${path}: ${header.records} record${header.records === 1 ? '' : 's'} from ${files.length} file${files.length === 1 ? '' : 's'}, serial ${header.serial}, expires ${header.expiresAt}\n`);
  return 0;
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('feed verify', argv, { 'public-key': { type: 'string' } }, { min: 1, max: 1, names: 'PATH' });
  if (!values['public-key']) throw new UsageError(`feed verify: --public-key FILE is required\n\n${usageOf('feed verify')}`);
  const keyFile = resolve(ctx.cwd, values['public-key']);
  if (!existsSync(keyFile)) throw new FeedError(`${keyFile}: public key file not found`, { file: keyFile });
  const given = resolve(ctx.cwd, positionals[0]!);
  if (!existsSync(given)) throw new FeedError(`${given}: no such feed file or directory`, { file: given });
  const path = await resolveFeedSource({ source: given, rootDir: ctx.cwd, offline: true, cacheDir: cacheDir(ctx.env), env: ctx.env });
  const header = verifyFeed(path, [readFileSync(keyFile, 'utf8').trim()], { cacheDir: cacheDir(ctx.env) });
  ctx.stdout.write(`OK ${path}: signature verified (key ${header.keyId}), ${header.records} record${header.records === 1 ? '' : 's'}, serial ${header.serial}, generated ${header.generatedAt}, expires ${header.expiresAt}\n`);
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
    case 'merge':
      return merge(rest, ctx);
    default:
      throw new UsageError(`feed: expected keygen, build, merge or verify${sub ? `, got "${sub}"` : ''}\n\n${[usageOf('feed keygen'), usageOf('feed build'), usageOf('feed merge'), usageOf('feed verify')].join('\n')}`);
  }
}

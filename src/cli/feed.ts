import { createWriteStream, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { tempPathFor } from '../atomic';
import { loadConfig } from '../config/load';
import { parseDuration } from '../config/duration';
import { FeedError, UsageError } from '../errors';
import { buildFeed } from '../feed/build';
import { generateKeyPair } from '../feed/keys';
import { verifyFeed } from '../feed/reader';
import { readRecordsFile } from '../feed/records';
import { resolveFeedSource } from '../feed/source';
import { readLockfile } from '../lockfile/index';
import { cacheDir } from '../paths';
import type { SourcesConfig } from '../config/types';
import { escapeControl } from '../report/escape';
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

async function gatherRecords(ctx: CliContext, packages: ResolvedPackage[], configPath: string | undefined, verifySource: boolean): Promise<FeedRecord[]> {
  const config = await loadConfig({ cwd: ctx.cwd, env: ctx.env, ...(configPath ? { configPath } : {}) });
  const { gatherEvidence, createProgressBar } = await import('../evidence/index');
  const stderr = ctx.stderr as NodeJS.WritableStream & { isTTY?: boolean; write(chunk: string): boolean };
  const progress = createProgressBar(stderr);
  const result = await gatherEvidence(packages, {
    sources: config.sources,
    cacheDir: cacheDir(ctx.env),
    npmrc: { cwd: ctx.cwd },
    env: ctx.env,
    ...(progress ? { onProgress: progress } : {}),
  });
  for (const warning of result.warnings) ctx.stderr.write(`provenance-guard: ${warning}\n`);
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
  const progress = createProgressBar(ctx.stderr as NodeJS.WritableStream & { isTTY?: boolean; write(chunk: string): boolean }, 100, 'verify');
  const lockIntegrity = new Map(packages.map((p) => [`${p.name}@${p.version}`, p.integrity]));
  const targets: ResolvedPackage[] = records.map((r) => {
    const integrity = lockIntegrity.get(`${r.name}@${r.version}`) ?? r.integrity;
    return { name: r.name, version: r.version, source: 'registry', ...(integrity ? { integrity } : {}) };
  });
  const outcomes = await verifySources(targets, {
    cacheDir: cacheDir(ctx.env),
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
      'verify-source': { type: 'boolean' },
    },
    { min: 0, max: 0, names: '' },
  );
  const inputs = [values.records, values['from-lockfile'], values.packages].filter((v) => v !== undefined);
  if (inputs.length !== 1) {
    throw new UsageError(`feed build: give exactly one of --records, --from-lockfile or --packages\n\n${usageOf('feed build')}`);
  }
  if ((values.key === undefined) !== (values.out === undefined)) {
    throw new UsageError(`feed build: --key and --out go together\n\n${usageOf('feed build')}`);
  }
  if (values.records !== undefined && values['verify-source']) {
    throw new UsageError(`feed build: --verify-source needs --from-lockfile or --packages (records given with --records are signed as they are)\n\n${usageOf('feed build')}`);
  }
  if (values.records !== undefined && values.key === undefined) {
    throw new UsageError(`feed build: --records needs --key and --out\n\n${usageOf('feed build')}`);
  }
  let serial: number | undefined;
  if (values.serial !== undefined) {
    serial = Number(values.serial);
    if (!Number.isSafeInteger(serial) || serial < 0) throw new UsageError(`feed build: --serial must be a whole number, got "${values.serial}"`);
  }
  let expiresIn: number | undefined;
  if (values['expires-in'] !== undefined) {
    expiresIn = parseDuration(values['expires-in']);
    if (expiresIn === undefined) throw new UsageError(`feed build: --expires-in must be a duration such as 12h or 30d, got "${values['expires-in']}"`);
  }

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
    const gathered = await gatherRecords(ctx, packages, values.config, values['verify-source'] === true);
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
    default:
      throw new UsageError(`feed: expected keygen, build or verify${sub ? `, got "${sub}"` : ''}\n\n${[usageOf('feed keygen'), usageOf('feed build'), usageOf('feed verify')].join('\n')}`);
  }
}

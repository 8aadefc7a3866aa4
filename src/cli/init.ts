import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_FEED_SOURCE } from '../config/defaults';
import { UsageError } from '../errors';
import { parsePublicKey, readPublicKeyFile } from '../feed/keys';
import { writeFileAtomic } from '../atomic';
import { configuredFeed, existingConfig, fillConfig } from '../init/rc-file';
import { feedCoverage, type FeedCoverage } from '../init/feed-coverage';
import { chooseRules, renderPolicy } from '../init/policy';
import { publishedIntegrity } from '../init/config-pin';
import { CONFIG_DEPENDENCY_NAME, currentPin, isWorkingPin } from '../init/pnpm';
import { detectPackageManager, wirePackageManager } from '../init/index';
import { cacheDir, stateDir } from '../paths';
import { escapeControl } from '../report/escape';
import { VERSION } from '../version';
import { oneOf, parseCommand } from './args';
import type { CliContext } from './context';

const FLAGS = { pm: { type: 'string' }, method: { type: 'string' }, force: { type: 'boolean' }, feed: { type: 'string' }, 'public-key': { type: 'string' } } as const;

/** --public-key: a file holding the key (feed.pub), or the key itself. */
function publicKeyArg(value: string, cwd: string): string {
  const file = resolve(cwd, value);
  if (existsSync(file)) return readPublicKeyFile(file);
  const text = value.trim();
  parsePublicKey(text);
  return text;
}

/** The pnpm 10 pin's integrity, from the registry, unless a working pin is already there. */
async function pinIntegrity(ctx: CliContext, pm: string, method: string): Promise<string | undefined> {
  if (pm !== 'pnpm' || method !== 'config-dependency' || isWorkingPin(currentPin(ctx.cwd))) return undefined;
  return publishedIntegrity({ cwd: ctx.cwd, env: ctx.env, name: CONFIG_DEPENDENCY_NAME, version: VERSION });
}

/** The feed's evidence counts when it can be opened; an explicit --feed that cannot be is an error. */
async function coverageOf(ctx: CliContext, source: string, publicKeys: string[], explicit: boolean): Promise<FeedCoverage | undefined> {
  const local = !/^https?:\/\//.test(source) && !source.startsWith('@') && !/^[a-z0-9][\w.-]*@/i.test(source);
  if (publicKeys.length === 0 || (!explicit && local && !existsSync(resolve(ctx.cwd, source)))) return undefined;
  return feedCoverage({ source, rootDir: ctx.cwd, publicKeys, cacheDir: cacheDir(ctx.env), stateDir: stateDir(ctx.env), env: ctx.env });
}

async function writeNewPolicy(ctx: CliContext, path: string, feed: { source?: string; publicKey?: string }): Promise<string[]> {
  const source = feed.source ?? DEFAULT_FEED_SOURCE;
  const publicKeys = feed.publicKey ? [feed.publicKey] : [];
  const coverage = await coverageOf(ctx, source, publicKeys, feed.source !== undefined);
  const rules = chooseRules(coverage);
  writeFileAtomic(path, renderPolicy({ source, publicKeys, rules }));
  const lines = [`Wrote ${path} (mode: warn; unknown: block takes effect once you set mode: block).`];
  lines.push(coverage ? `The feed has ${coverage.records} records; rules:` : 'No feed inspected yet; rules:');
  lines.push(...rules.map((r) => `  ${r.rule}: ${r.on ? 'on' : 'off'} — ${r.why}`));
  if (publicKeys.length === 0) lines.push('Next: put the key printed by `feed keygen` in feed.publicKeys (or re-run init with --public-key FILE).');
  return lines;
}

function fillExisting(path: string, feed: { source?: string; publicKey?: string }): string[] {
  const changed = fillConfig(path, feed);
  const filled = [feed.source !== undefined ? 'feed.source' : '', feed.publicKey !== undefined ? 'feed.publicKeys' : ''].filter(Boolean).join(' and ');
  if (changed) return [`Filled ${filled} into ${path}; kept your policy as it is.`];
  return [`Kept ${path} as it is (use --force to replace it with a fresh policy).`];
}

export async function initCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('init', argv, FLAGS, { min: 0, max: 0, names: '' });
  const pm = oneOf('init', 'pm', values.pm, ['pnpm', 'yarn', 'bun'] as const, detectPackageManager(ctx.cwd) ?? 'pnpm');
  if (values.method !== undefined && pm !== 'pnpm') throw new UsageError('init: --method applies to pnpm only', { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  const method = oneOf('init', 'method', values.method, ['config-dependency', 'pnpmfile'] as const, 'config-dependency');
  const feed = { ...(values.feed !== undefined ? { source: values.feed } : {}), ...(values['public-key'] !== undefined ? { publicKey: publicKeyArg(values['public-key'], ctx.cwd) } : {}) };

  // Everything that can fail (registry, feed) runs before any file is written.
  const integrity = await pinIntegrity(ctx, pm, method);
  const existing = values.force ? undefined : existingConfig(ctx.cwd);
  if (existing) configuredFeed(existing);
  const lines = existing ? fillExisting(existing, feed) : await writeNewPolicy(ctx, join(ctx.cwd, '.provenancerc'), feed);
  lines.push(...(await wirePackageManager(pm, ctx.cwd, { method, force: values.force === true, ...(integrity ? { integrity } : {}) })));
  for (const line of lines) ctx.stderr.write(`${escapeControl(line)}\n`);
  return 0;
}

/** `provenance-guard verify NAME@VERSION…`: source match of published tarballs (SPEC "Source match"). */
import { colors } from '../report/colors';
import { loadConfig } from '../config/load';
import { UsageError } from '../errors';
import { cacheDir, stateDir } from '../paths';
import { escapeControl } from '../report/escape';
import { shouldColor } from '../report/human';
import type { SourceMatchOutcome, SourceMatchResult } from '../verify/index';
import { oneOf, parseCommand, usageOf } from './args';
import type { CliContext } from './context';

/** The JSON document `verify --format json` prints (SPEC "Source match"). */
export function verifyJson(outcomes: readonly SourceMatchOutcome[]): string {
  const packages = outcomes.map((o) =>
    o.ok
      ? {
          name: o.result.name,
          version: o.result.version,
          ...(o.result.repository ? { repository: o.result.repository } : {}),
          contents: o.result.contents,
          ...(o.result.rebuild ? { rebuild: o.result.rebuild } : {}),
        }
      : { name: o.name, version: o.version, error: { code: o.error.code, message: o.error.message } },
  );
  return JSON.stringify({ packages }, null, 2) + '\n';
}

function humanResult(r: SourceMatchResult, color: boolean): string {
  const c = colors(color);
  const v = r.contents.verdict;
  const paint = v === 'diverged' ? c.red : v === 'inconclusive' ? c.yellow : c.green;
  const repo = r.repository?.url ? `${r.repository.url}${r.repository.directory ? ` (${r.repository.directory})` : ''}` : 'no repository';
  const at = r.contents.commit ? ` at ${r.contents.commit.slice(0, 12)} (${r.contents.commitFrom ?? '?'})` : '';
  const lines = [`${c.bold(escapeControl(`${r.name}@${r.version}`))}  ${paint(c.bold(v.toUpperCase()))}  ${escapeControl(repo + at)}`];
  const f = r.contents.files;
  if (f) {
    const parts = [`${f.identical} identical`, `${f.generated} generated`];
    if (f.modified.length) parts.push(`modified: ${f.modified.join(', ')}`);
    if (f.added.length) parts.push(`added: ${f.added.join(', ')}`);
    lines.push(`  files   ${escapeControl(parts.join(', '))}`);
  }
  if (r.contents.reason) lines.push(`  reason  ${escapeControl(r.contents.reason)}`);
  if (r.rebuild) {
    const rb = r.rebuild;
    const mark = rb.verdict === 'reproducible' ? c.green(rb.verdict) : rb.verdict === 'not-reproducible' ? c.red(rb.verdict) : c.yellow(rb.verdict);
    lines.push(`  rebuild ${mark}${rb.reason ? ` — ${escapeControl(rb.reason)}` : ''}`);
  }
  return lines.join('\n');
}

export function verifyHuman(outcomes: readonly SourceMatchOutcome[], color: boolean): string {
  const blocks = outcomes.map((o) => (o.ok ? humanResult(o.result, color) : `${escapeControl(`${o.name}@${o.version}`)}  ERROR  ${escapeControl(o.error.message)}`));
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const key = o.ok ? o.result.contents.verdict : 'error';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const summary = ['match', 'built', 'diverged', 'inconclusive', 'error'].filter((k) => counts.has(k)).map((k) => `${counts.get(k)} ${k}`).join(', ');
  return `${blocks.join('\n\n')}\n\n${outcomes.length} package${outcomes.length === 1 ? '' : 's'}: ${summary}\n`;
}

/** 2 when a package could not be verified at all, 1 when one diverged (or did not rebuild), else 0. */
export function verifyExitCode(outcomes: readonly SourceMatchOutcome[]): number {
  if (outcomes.some((o) => !o.ok)) return 2;
  return outcomes.some((o) => o.ok && (o.result.contents.verdict === 'diverged' || o.result.rebuild?.verdict === 'not-reproducible')) ? 1 : 0;
}

export async function verifyCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand(
    'verify',
    argv,
    { format: { type: 'string' }, rebuild: { type: 'boolean' }, config: { type: 'string' } },
    { min: 1, max: Number.MAX_SAFE_INTEGER, names: 'NAME@VERSION' },
  );
  const format = oneOf('verify', 'format', values.format, ['human', 'json'] as const, 'human');
  const { parsePackageSpecs } = await import('../evidence/specs');
  let packages;
  try {
    packages = parsePackageSpecs(positionals);
  } catch (error) {
    throw new UsageError(`verify: ${(error as Error).message}\n\n${usageOf('verify')}`);
  }
  const config = await loadConfig({ cwd: ctx.cwd, env: ctx.env, ...(values.config ? { configPath: values.config } : {}) });
  const { verifySources } = await import('../verify/index');
  const { createProgressBar } = await import('../evidence/progress');
  const progress = createProgressBar(ctx.stderr, 100, 'verify');
  const outcomes = await verifySources(packages, {
    cacheDir: cacheDir(ctx.env),
    stateDir: stateDir(ctx.env),
    env: ctx.env,
    cwd: ctx.cwd,
    ...(config.sources.registry.url ? { registry: config.sources.registry.url } : {}),
    timeout: config.sources.timeout,
    concurrency: config.sources.concurrency,
    registryTtl: config.sources.cacheTtl,
    ...(values.rebuild ? { rebuild: true } : {}),
    ...(progress ? { onProgress: progress } : {}),
  });
  for (const o of outcomes) if (!o.ok) ctx.stderr.write(`provenance-guard: ${escapeControl(o.error.message)} [${o.error.code}]\n`);
  ctx.stdout.write(format === 'json' ? verifyJson(outcomes) : verifyHuman(outcomes, shouldColor(ctx.stdout, ctx.env)));
  return verifyExitCode(outcomes);
}

import type { PackageResult, Report, Severity } from '../types';
import { colors, type Colors } from './colors';
import { groupByCause, isNotInFeed, type CauseGroup } from './causes';
import { escapeControl } from './escape';
import { overrideSnippet } from './override-hint';

export interface HumanOptions {
  color: boolean;
  now?: Date;
  /** Every flagged package in detail (default: the first DETAILS). */
  verbose?: boolean;
}

/** Packages shown in detail by default; the rest are counted in the cause lines. */
export const DETAILS = 5;

/** Whether stdout-like output should be coloured: a TTY, and NO_COLOR unset (FORCE_COLOR wins). */
export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `name@1.0.0 (as my-alias) via app-dep > mid`, escaped for a terminal. */
export function packageLabel(pkg: PackageResult): string {
  const alias = pkg.alias !== undefined && pkg.alias !== pkg.name ? ` (as ${pkg.alias})` : '';
  const via = pkg.via && pkg.via.length > 0 ? ` via ${pkg.via.join(' > ')}` : '';
  return escapeControl(`${pkg.name}@${pkg.version}${alias}${via}`);
}

/** Blocked first, then packages the feed has never seen (new ones), then the order given. */
export function detailOrder(packages: readonly PackageResult[]): PackageResult[] {
  const rank = (p: PackageResult) => (p.verdict === 'block' ? 0 : 2) + (isNotInFeed(p) ? 0 : 1);
  return packages.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i).map(({ p }) => p);
}

function label(c: Colors, severity: Severity): string {
  return severity === 'block' ? c.red(c.bold('BLOCK')) : c.yellow('WARN ');
}

/** One line per cause: how many packages, what is wrong, the setting that changes it. */
export function causeLines(groups: readonly CauseGroup[], c: Colors): string[] {
  return groups.map((g) => {
    const hint = g.cause.hint ? ` — ${g.cause.hint}` : '';
    return `${label(c, g.severity)}  ${plural(g.packages.length, 'package')}: ${escapeControl(g.cause.title)}${c.dim(hint)}`;
  });
}

function detailLines(pkg: PackageResult, c: Colors): string[] {
  const lines = [`${label(c, pkg.verdict === 'block' ? 'block' : 'warn')}  ${packageLabel(pkg)}`];
  for (const f of pkg.findings) lines.push(`         ${c.cyan(`[${f.rule}]`)} ${escapeControl(f.message)}`);
  return lines;
}

/** The first `limit` flagged packages in detail, and the overrides that would accept the blocked ones. */
function details(flagged: readonly PackageResult[], c: Colors, options: { limit: number; now?: Date }): string[] {
  const ordered = detailOrder(flagged);
  const shown = ordered.slice(0, options.limit);
  const lines = shown.flatMap((p) => detailLines(p, c));
  if (ordered.length > shown.length) lines.push(c.dim(`… and ${plural(ordered.length - shown.length, 'more package')}: --verbose (or --format json) lists every one`));
  const snippets = shown.filter((p) => p.verdict === 'block').map((p) => overrideSnippet(p, options.now)).filter((s): s is string => s !== undefined);
  if (snippets.length > 0) {
    lines.push('', c.dim('To accept a blocked package anyway, add an override to your .provenancerc (with a real reason):'), c.dim('overrides:'));
    lines.push(...snippets.flatMap((s) => s.split('\n')).map((s) => c.dim(escapeControl(s))));
  }
  return lines;
}

/** The summary, one line per cause, then a handful of packages in detail (all with `verbose`). */
export function formatHuman(report: Report, options: HumanOptions): string {
  const c = colors(options.color);
  const { summary } = report;
  const flagged = report.packages.filter((p) => p.verdict === 'block' || p.verdict === 'warn');
  const head = `provenance-guard: ${plural(summary.packages, 'package')} checked — ${summary.block} blocked, ${summary.warn} warned, ${summary.pass} passed, ${summary.skip} skipped`;
  const lines = [summary.block > 0 ? c.red(c.bold(head)) : summary.warn > 0 ? c.yellow(head) : c.green(head)];
  if (flagged.length === 0) return lines.join('\n') + '\n';
  lines.push('', ...causeLines(groupByCause(flagged), c), '');
  lines.push(...details(flagged, c, { limit: options.verbose ? Infinity : DETAILS, ...(options.now ? { now: options.now } : {}) }));
  return lines.join('\n') + '\n';
}

/** Plain text for package-manager hooks: the causes with counts, then a handful of packages and their overrides. */
export function blockedSummary(report: Report, options: { now?: Date; severity?: 'block' | 'warn'; verbose?: boolean } = {}): string {
  const severity = options.severity ?? 'block';
  const picked: PackageResult[] = report.packages.filter((p) => p.verdict === severity);
  if (picked.length === 0) return '';
  const c = colors(false);
  const head = severity === 'block' ? `provenance-guard blocked ${plural(picked.length, 'package')}:` : `provenance-guard warns about ${plural(picked.length, 'package')}:`;
  const groups = groupByCause(picked).filter((g) => g.severity === severity);
  const limit = options.verbose ? Infinity : DETAILS;
  return [head, ...causeLines(groups, c), '', ...details(picked, c, { limit, ...(options.now ? { now: options.now } : {}) })].join('\n');
}

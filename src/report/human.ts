import { createColors } from 'picocolors';
import type { PackageResult, Report } from '../types';
import { escapeControl } from './escape';
import { overrideSnippet } from './override-hint';

export interface HumanOptions {
  color: boolean;
  now?: Date;
}

/** Whether stdout-like output should be coloured: a TTY, and NO_COLOR unset (FORCE_COLOR wins). */
export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - text.length));
}

/** One line per finding of each blocked or warned package, then the overrides that would waive them. */
export function formatHuman(report: Report, options: HumanOptions): string {
  const c = createColors(options.color);
  const { summary } = report;
  const lines: string[] = [];
  const flagged = report.packages.filter((p) => p.verdict === 'block' || p.verdict === 'warn');
  const head = `provenance-guard: ${summary.packages} package${summary.packages === 1 ? '' : 's'} checked — ${summary.block} blocked, ${summary.warn} warned, ${summary.pass} passed, ${summary.skip} skipped`;
  lines.push(summary.block > 0 ? c.red(c.bold(head)) : summary.warn > 0 ? c.yellow(head) : c.green(head));
  if (flagged.length === 0) return lines.join('\n') + '\n';

  const ids = flagged.map((p) => escapeControl(`${p.name}@${p.version}`));
  const idWidth = Math.min(48, Math.max(...ids.map((s) => s.length)));
  const ruleWidth = Math.max(...flagged.flatMap((p) => p.findings.map((f) => f.rule.length)));
  lines.push('');
  flagged.forEach((pkg, i) => {
    pkg.findings.forEach((finding, j) => {
      const label = finding.severity === 'block' ? c.red(c.bold('BLOCK')) : c.yellow('WARN ');
      const id = j === 0 ? ids[i]! : '';
      lines.push(`${label}  ${pad(id, idWidth)}  ${c.cyan(pad(finding.rule, ruleWidth))}  ${escapeControl(finding.message)}`);
    });
  });

  const snippets = flagged.map((p) => overrideSnippet(p, options.now)).filter((s): s is string => s !== undefined);
  if (snippets.length > 0) {
    lines.push('', c.dim('To accept a package anyway, add an override to your .provenancerc (with a real reason):'), c.dim('overrides:'));
    lines.push(...snippets.map((s) => c.dim(s)));
  }
  return lines.join('\n') + '\n';
}

/** Plain text for package-manager hooks: each blocked package, its rules and messages, and the override to add. */
export function blockedSummary(report: Report, options: { now?: Date; severity?: 'block' | 'warn' } = {}): string {
  const severity = options.severity ?? 'block';
  const picked: PackageResult[] = report.packages.filter((p) => p.verdict === severity);
  if (picked.length === 0) return '';
  const lines = [
    severity === 'block'
      ? `provenance-guard blocked ${picked.length} package${picked.length === 1 ? '' : 's'}:`
      : `provenance-guard warns about ${picked.length} package${picked.length === 1 ? '' : 's'}:`,
  ];
  for (const pkg of picked) {
    lines.push(`  ${escapeControl(`${pkg.name}@${pkg.version}`)}`);
    for (const f of pkg.findings) lines.push(`    - [${f.rule}] ${escapeControl(f.message)}`);
  }
  const snippets = picked.map((p) => overrideSnippet(p, options.now)).filter((s): s is string => s !== undefined);
  if (snippets.length > 0) {
    lines.push('To accept a package anyway, add to .provenancerc:', 'overrides:', ...snippets);
  }
  return lines.join('\n');
}

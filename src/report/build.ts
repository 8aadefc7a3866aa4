import { byCodeUnits } from '../code-unit-order';
import type { PackageResult, Report, Verdict } from '../types';

/** Orders results (blocked first, then by name) and counts verdicts. */
export function buildReport(results: readonly PackageResult[]): Report {
  const rank: Record<Verdict, number> = { block: 0, warn: 1, pass: 2, skip: 3 };
  const packages = results
    .map((r) => ({
      name: r.name,
      version: r.version,
      verdict: r.verdict,
      findings: r.findings.map((f) => ({ rule: f.rule, severity: f.severity, message: f.message })),
      ...(r.alias !== undefined ? { alias: r.alias } : {}),
      ...(r.via !== undefined && r.via.length > 0 ? { via: [...r.via] } : {}),
    }))
    .sort((a, b) => rank[a.verdict] - rank[b.verdict] || byCodeUnits(a.name, b.name) || byCodeUnits(a.version, b.version));
  const summary = { packages: packages.length, pass: 0, warn: 0, block: 0, skip: 0 };
  for (const p of packages) summary[p.verdict] += 1;
  return { summary, packages };
}

/** 1 when any package blocks, else 0 (SPEC exit codes). */
export function exitCodeOf(report: Report): 0 | 1 {
  return report.summary.block > 0 ? 1 : 0;
}

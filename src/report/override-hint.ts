import { escapeQuoted } from './escape';
import { isWaivableRule, type Finding, type PackageResult, type WaivableRule } from '../types';

/** The rules of these findings an override could waive, each once (integrity and feed problems cannot be). */
export function waivableRules(findings: readonly Finding[]): WaivableRule[] {
  return [...new Set(findings.map((f) => f.rule).filter(isWaivableRule))];
}

/** The expiry date suggested for a new override: 90 days out. */
export function suggestedExpiry(now: Date = new Date()): string {
  return new Date(now.getTime() + 90 * 86_400_000).toISOString().slice(0, 10);
}

/** The `overrides:` entry a user would add to waive what a package was flagged for. */
export function overrideSnippet(pkg: PackageResult, now: Date = new Date()): string | undefined {
  // An integrity finding (or a stale feed) that decides the verdict stays whatever is waived: no override can accept the package.
  if (pkg.findings.some((f) => (f.rule === 'integrity' || f.rule === 'feed') && f.severity === pkg.verdict)) return undefined;
  const rules = waivableRules(pkg.findings);
  if (rules.length === 0) return undefined;
  return [
    `  - package: "${escapeQuoted(`${pkg.name}@${pkg.version}`)}"`,
    `    rules: [${rules.join(', ')}]`,
    `    reason: "<why this is acceptable>"`,
    `    expires: ${suggestedExpiry(now)}`,
  ].join('\n');
}

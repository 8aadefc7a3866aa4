import type { PackageResult, RuleName } from '../types';

const WAIVABLE = new Set<RuleName>(['repository', 'rebuild', 'scorecard', 'source']);

/** The `overrides:` entry a user would add to waive what a package was flagged for (integrity and feed problems cannot be waived). */
export function overrideSnippet(pkg: PackageResult, now: Date = new Date()): string | undefined {
  const rules = [...new Set(pkg.findings.map((f) => f.rule).filter((r) => WAIVABLE.has(r)))];
  if (rules.length === 0) return undefined;
  const expires = new Date(now.getTime() + 90 * 86_400_000).toISOString().slice(0, 10);
  return [
    `  - package: "${pkg.name}@${pkg.version}"`,
    `    rules: [${rules.join(', ')}]`,
    `    reason: "<why this is acceptable>"`,
    `    expires: ${expires}`,
  ].join('\n');
}

/** One Yarn report line per blocked or warned package, with the override that would accept it. */
import { escapeControl, escapeQuoted } from '../../src/report/escape';
import { suggestedExpiry, waivableRules } from '../../src/report/override-hint';
import { MessageName, ReportError } from '@yarnpkg/core';
import { isWaivableRule, type PackageResult } from '../../src/types';

export function packageMessage(pkg: PackageResult, configFile: string | undefined, overridePackage?: string): string {
  const label = escapeControl(`${pkg.name}@${pkg.version}`);
  const severity = pkg.verdict === 'block' ? 'block' : 'warn';
  const relevant = pkg.findings.filter((f) => f.severity === severity);
  const findings = (relevant.length > 0 ? relevant : pkg.findings).map((f) => `${f.rule}: ${escapeControl(f.message)}`).join('; ');
  const head = `${label} ${pkg.verdict === 'block' ? 'is blocked' : 'warns'} by the provenance policy: ${findings}`;
  if (pkg.verdict !== 'block') return head;
  const waivable = waivableRules(relevant);
  const notWaivable = [...new Set(relevant.map((f) => f.rule).filter((r) => !isWaivableRule(r)))];
  // An override of the other rules would leave it blocked all the same: none is suggested.
  if (waivable.length === 0 || notWaivable.length > 0) return `${head}. No override can waive ${notWaivable.join(', ')}.`;
  const where = escapeControl(configFile ?? '.provenancerc');
  const override =
    `{ package: "${escapeQuoted(overridePackage ?? `${pkg.name}@${pkg.version}`)}", rules: [${waivable.join(', ')}], reason: "<why this package is acceptable>", expires: ${suggestedExpiry()} }`;
  return `${head}. To accept it, add to overrides in ${where}: ${override}`;
}

const POLICY_BLOCK = Symbol('provenance-guard policy block');

/** The error that stops Yarn on a blocked package (a fetch, or the gate's own dry resolution, reports it as such). */
export function policyBlock(text: string): ReportError {
  return Object.assign(new ReportError(MessageName.UNNAMED, text), { [POLICY_BLOCK]: true });
}

export function isPolicyBlock(error: unknown): error is ReportError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[POLICY_BLOCK] === true;
}

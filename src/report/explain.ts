/**
 * `explain`: the evidence and every rule decision for one package version, as text or JSON.
 * Shared by `provenance-guard explain` and `yarn provenance explain`.
 */
import { colors } from './colors';
import type { Guard } from '../guard';
import type { Evaluation } from '../policy/evaluate';
import type { ContentsEvidence, FeedRecord, ResolvedPackage } from '../types';
import { escapeControl } from './escape';
import { overrideSnippet } from './override-hint';

export async function explainPackage(guard: Guard, pkg: ResolvedPackage): Promise<Evaluation> {
  const [evaluation] = await guard.evaluate([pkg]);
  return evaluation!;
}

function repositoryText(repo: FeedRecord['repository']): string {
  if (!repo) return 'unknown';
  if (repo.status === 'none' || repo.url === undefined) return 'none: the manifest names no source repository';
  const dir = repo.directory ? ` (directory ${repo.directory})` : '';
  return `${repo.status} ${repo.url}${dir}${repo.commit ? ` at ${repo.commit}` : ''}${repo.attestedUrl ? ` (attested: ${repo.attestedUrl})` : ''}`;
}

/** The source match verdict with the files that decide it. */
function contentsText(contents: ContentsEvidence | undefined): string {
  if (!contents) return 'unknown (no source match verdict)';
  const at = contents.commit ? ` at ${contents.commit}${contents.commitFrom ? ` (${contents.commitFrom})` : ''}` : '';
  const f = contents.files;
  const files = f ? `; ${f.identical} identical, ${f.generated} generated${f.modified.length ? `, modified: ${f.modified.join(', ')}` : ''}${f.added.length ? `, added: ${f.added.join(', ')}` : ''}` : '';
  return `${contents.verdict}${at}${files}${contents.reason ? ` — ${contents.reason}` : ''}`;
}

export function formatExplanation(e: Evaluation, context: { pkg: ResolvedPackage; lockfile?: string; guard: Guard; color: boolean }): string {
  const c = colors(context.color);
  const verdictColor = e.verdict === 'block' ? c.red : e.verdict === 'warn' ? c.yellow : e.verdict === 'pass' ? c.green : c.dim;
  const lines = [`${c.bold(escapeControl(`${e.name}@${e.version}`))}  ${verdictColor(c.bold(e.verdict.toUpperCase()))}`, ''];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(12)} ${text}`);
  // Rows of lockfile, feed and config text: escaped whole (they carry no colour of ours).
  const plain = (label: string, text: string) => row(label, escapeControl(text));
  const { pkg, guard } = context;

  lines.push(c.bold('Evidence'));
  plain('source', `${pkg.source}${pkg.resolved ? ` ${pkg.resolved}` : ''}${pkg.alias ? ` (installed as ${pkg.alias})` : ''}${context.lockfile ? ` — from ${context.lockfile}` : ' — not in a lockfile'}`);
  plain('integrity', pkg.integrity ?? 'unknown');
  if (guard.feed) {
    const h = guard.feed.header;
    plain('feed', `${guard.feed.path} (serial ${h.serial}, generated ${h.generatedAt}, expires ${h.expiresAt})`);
  }
  const r = e.record;
  if (!r) {
    plain('record', e.excludedBy ? 'not looked up' : 'not in the verdict feed');
  } else {
    plain('record', `integrity ${r.integrity ?? 'not recorded'}`);
    plain('repository', repositoryText(r.repository));
    plain('rebuild', r.rebuild ? `${r.rebuild.verdict}${r.rebuild.source ? ` (${r.rebuild.source})` : ''}` : 'unknown');
    plain('contents', contentsText(r.contents));
    if (r.scorecard) {
      const checks = Object.entries(r.scorecard.checks ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
      plain('scorecard', `${r.scorecard.score}${r.scorecard.date ? ` (${r.scorecard.date})` : ''}${checks ? `; ${checks}` : ''}`);
    } else plain('scorecard', 'unknown');
  }

  lines.push('', c.bold('Rules'));
  if (e.excludedBy) plain('exclude', `skipped: matches exclude pattern "${e.excludedBy}"`);
  else if (guard.config.mode === 'off') row('mode', 'off: nothing is checked');
  for (const d of e.decisions) {
    const mark = d.outcome === 'pass' ? c.green('pass') : d.outcome === 'violation' ? c.red('violation') : d.outcome === 'missing' ? c.yellow('missing') : c.dim('off');
    row(d.rule, `${mark}: ${escapeControl(d.message)}`);
  }

  lines.push('', c.bold('Decision'));
  if (e.findings.length === 0) row('verdict', e.verdict === 'skip' ? 'skip' : 'pass: no rule objects');
  for (const f of e.findings) row(f.rule, `${f.severity === 'block' ? c.red('block') : c.yellow('warn')}: ${escapeControl(f.message)}`);
  for (const f of e.waived) row(f.rule, c.dim(`waived by an override: ${escapeControl(f.message)}`));
  for (const o of e.appliedOverrides) plain('override', `"${o.package}" until ${o.expires}: ${o.reason}`);
  const decidedBy = e.findings.filter((f) => f.severity === e.verdict).map((f) => f.rule);
  if (decidedBy.length > 0) row('decided by', [...new Set(decidedBy)].join(', '));
  const snippet = overrideSnippet(e);
  if (snippet && (e.verdict === 'block' || e.verdict === 'warn')) lines.push('', c.dim('To accept it anyway, add to .provenancerc:'), c.dim('overrides:'), c.dim(snippet));
  else if (!snippet && decidedBy.some((rule) => rule === 'integrity' || rule === 'feed')) lines.push('', c.dim(`No override can accept it: ${[...new Set(decidedBy.filter((rule) => rule === 'integrity' || rule === 'feed'))].join(', ')} cannot be waived.`));
  return lines.join('\n') + '\n';
}

/** `explain --format json`: the evaluation with the evidence behind it. */
export function formatExplanationJson(e: Evaluation, pkg: ResolvedPackage): string {
  const document = {
    name: e.name,
    version: e.version,
    verdict: e.verdict,
    findings: e.findings,
    source: pkg.source,
    integrity: pkg.integrity ?? null,
    record: e.record ?? null,
    decisions: e.decisions,
    waived: e.waived,
    overrides: { applied: e.appliedOverrides, expired: e.expiredOverrides },
    excludedBy: e.excludedBy ?? null,
  };
  return JSON.stringify(document, null, 2) + '\n';
}


/**
 * Evidence-gathering warnings folded into one line per failed source: how many lookups failed,
 * the first cause, and the setting that switches the source off.
 */
import { escapeControl } from './escape';

const SOURCES: { prefix: RegExp; name: string; setting: string }[] = [
  { prefix: /^registry:/, name: 'registry', setting: 'sources.registry.enabled: false' },
  { prefix: /^provenance:|^sigstore|trust root|TUF/i, name: 'npm provenance', setting: 'sources.provenance.enabled: false' },
  { prefix: /^depsDev:|^deps\.dev/i, name: 'deps.dev', setting: 'sources.depsDev.enabled: false' },
  { prefix: /^scorecard:/i, name: 'OpenSSF Scorecard', setting: 'sources.scorecard.enabled: false' },
  { prefix: /^ossRebuild:|^oss-rebuild:/i, name: 'OSS Rebuild', setting: 'sources.ossRebuild.enabled: false' },
];

/** One line per source that had warnings (others as they are); every warning with `verbose`. */
export function summarizeSourceWarnings(warnings: readonly string[], verbose = false): string[] {
  if (verbose) return warnings.map((w) => `provenance-guard: ${escapeControl(w)}`);
  const bySource = new Map<string, string[]>();
  const other: string[] = [];
  for (const warning of warnings) {
    const source = SOURCES.find((s) => s.prefix.test(warning));
    if (!source) other.push(warning);
    else bySource.set(source.name, [...(bySource.get(source.name) ?? []), warning]);
  }
  const lines = [...bySource].map(([name, list]) => {
    const { setting } = SOURCES.find((s) => s.name === name)!;
    const more = list.length > 1 ? ` (and ${list.length - 1} more warning${list.length === 2 ? '' : 's'}: --verbose)` : '';
    return `provenance-guard: ${name} failed: ${escapeControl(list[0]!)}${more} — its evidence is unknown; to stop asking it, set ${setting}`;
  });
  return [...lines, ...other.map((w) => `provenance-guard: ${escapeControl(w)}`)];
}

import type { Report, RuleName } from '../types';
import { VERSION } from '../version';

const RULES: Record<RuleName, string> = {
  repository: 'The package maps back to a source repository (claimed by its manifest or attested by verified build provenance).',
  rebuild: 'The published tarball was rebuilt from its source and matched.',
  scorecard: "The source repository meets the OpenSSF Scorecard thresholds.",
  contents: 'The published tarball matches its source repository at the mapped commit.',
  integrity: "The lockfile's integrity matches the verdict feed's record.",
  source: 'The package is installed from the registry, where provenance evidence exists.',
  feed: 'The verdict feed is current.',
  override: 'Overrides that waive rules have not expired.',
};

export interface SarifOptions {
  /** The lockfile the findings are about, relative to the repository root when possible. */
  lockfile?: string;
}

/** SARIF 2.1.0, one result per finding, located in the lockfile. */
export function formatSarif(report: Report, options: SarifOptions = {}): string {
  const ruleIds = Object.keys(RULES) as RuleName[];
  const results = report.packages.flatMap((pkg) =>
    pkg.findings.map((f) => ({
      ruleId: f.rule,
      ruleIndex: ruleIds.indexOf(f.rule),
      level: f.severity === 'block' ? 'error' : 'warning',
      message: { text: `${pkg.name}@${pkg.version}: ${f.message}` },
      ...(options.lockfile ? { locations: [{ physicalLocation: { artifactLocation: { uri: options.lockfile } } }] } : {}),
      partialFingerprints: { packageRule: `${pkg.name}@${pkg.version}/${f.rule}` },
      properties: { package: pkg.name, version: pkg.version, verdict: pkg.verdict },
    })),
  );
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'provenance-guard',
            version: VERSION,
            informationUri: 'https://www.npmjs.com/package/provenance-guard',
            rules: ruleIds.map((id) => ({ id, name: id, shortDescription: { text: RULES[id] } })),
          },
        },
        results,
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}

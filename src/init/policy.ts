/**
 * The policy `init` writes: quiet (warn mode) and meaningful (a package the feed has no
 * evidence for blocks once mode is block), with only the rules the feed carries evidence for.
 */
import type { FeedCoverage } from './feed-coverage';
import { ownOverridesYaml } from './own-exceptions';

/** Share of the feed's records that must carry a kind of evidence for its rule to be on. */
export const COVERAGE_THRESHOLD = 0.9;

export interface RuleChoice {
  rule: 'repository' | 'rebuild' | 'scorecard';
  on: boolean;
  /** The YAML value written under `rules:`. */
  yaml: string;
  /** Why it is on or off, written as a comment and told to the user. */
  why: string;
}

const ON: Record<RuleChoice['rule'], string> = {
  repository: '{ require: claimed, allowedHosts: [github.com, gitlab.com] }',
  rebuild: '{ require: reproducible }',
  scorecard: '{ minScore: 5, checks: { Dangerous-Workflow: 10 } }',
};
const OFF: Record<RuleChoice['rule'], string> = { repository: '{ require: off }', rebuild: '{ require: off }', scorecard: 'off' };
const WHAT: Record<RuleChoice['rule'], string> = { repository: 'a source repository', rebuild: 'a rebuild verdict', scorecard: 'an OpenSSF Scorecard' };

function choose(rule: RuleChoice['rule'], carried: number, total: number): RuleChoice {
  const on = total > 0 && carried / total >= COVERAGE_THRESHOLD;
  const share = `${carried} of ${total} feed records carry ${WHAT[rule]}`;
  return { rule, on, yaml: on ? ON[rule] : OFF[rule], why: on ? share : `left off: only ${share}` };
}

/** Rules for a feed that was inspected, or (no feed yet) the repository rule alone. */
export function chooseRules(coverage: FeedCoverage | undefined): RuleChoice[] {
  if (!coverage) {
    return [
      { rule: 'repository', on: true, yaml: ON.repository, why: 'the registry gives it for nearly every package' },
      { rule: 'rebuild', on: false, yaml: OFF.rebuild, why: 'left off: no feed was inspected (re-run init with --feed and --public-key)' },
      { rule: 'scorecard', on: false, yaml: OFF.scorecard, why: 'left off: no feed was inspected (re-run init with --feed and --public-key)' },
    ];
  }
  return (['repository', 'rebuild', 'scorecard'] as const).map((rule) => choose(rule, coverage[rule], coverage.records));
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

/** The whole `.provenancerc` for a new project. */
export function renderPolicy(options: { source: string; publicKeys: string[]; rules: RuleChoice[]; now?: Date }): string {
  const rules = options.rules.map((r) => `  ${`${r.rule}: ${r.yaml}`.padEnd(70)} # ${r.why}`);
  return [
    '# provenance-guard policy, written by `provenance-guard init` (every key: .provenancerc.example in the package)',
    'mode: warn                  # warn never fails an install; set block once the warnings are understood',
    'feed:',
    `  source: ${yamlString(options.source)}  # a path, an https URL, or an npm package spec`,
    `  publicKeys: [${options.publicKeys.map(yamlString).join(', ')}]  # printed by \`provenance-guard feed keygen\``,
    '  maxAge: 7d',
    '  onStale: warn',
    '  offline: false',
    'rules:',
    ...rules,
    'unknown: block              # no evidence (e.g. a dependency added since the feed was built): blocks under mode: block, warns under warn',
    'exclude: [pnpm-plugin-provenance-guard]   # your internal packages, and the guard\'s own pnpm hook',
    'overrides:                  # waive rules for a package, always with a reason and an expiry date',
    ...ownOverridesYaml(options.now),
    '',
  ].join('\n');
}

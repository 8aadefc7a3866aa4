/** The `.provenancerc` that `provenance-guard init` writes: warn mode, ready for a feed. */
export const RC_TEMPLATE = `# provenance-guard policy (see .provenancerc.example in the provenance-guard package for every key)
mode: warn                  # switch to block once the warnings are understood
feed:
  source: ./.provenance/feed  # a path, an https URL, or an npm package spec
  publicKeys: []              # the key printed by \`provenance-guard feed keygen\`
  maxAge: 7d
  onStale: warn
  offline: false
rules:
  repository: { require: claimed, allowedHosts: [github.com, gitlab.com] }
  rebuild: { require: off }
  scorecard: { minScore: 5, checks: { Dangerous-Workflow: 10 } }
unknown: warn
exclude: [pnpm-plugin-provenance-guard, provenance-guard]   # internal packages, and the guard itself (Bun and pnpm load it before any check)
overrides: []
`;

/**
 * provenance-guard's own production dependencies whose published manifest names no source
 * repository (so `rules.repository` flags them as `none`). `init` writes a narrow override for
 * each exact version, waiving only the repository rule, so installing the guard never blocks
 * the guard; a new version of either is checked in full again. test/own-tree.test.ts fails
 * when the guard's tree gains another such package or loses one of these.
 */
export const OWN_REPOSITORY_EXCEPTIONS: readonly { package: string; via: string }[] = [
  { package: 'minipass-pipeline@1.2.4', via: 'pacote / @npmcli/arborist (npm-registry-fetch, cacache)' },
  { package: 'promise-all-reject-late@1.0.1', via: '@npmcli/arborist' },
];

/** The `overrides:` entries for the guard's own exceptions, valid for a year from `now`. */
export function ownOverridesYaml(now: Date = new Date()): string[] {
  const expires = new Date(now.getTime() + 365 * 86_400_000).toISOString().slice(0, 10);
  return OWN_REPOSITORY_EXCEPTIONS.flatMap((e) => [
    `  - package: "${e.package}"`,
    '    rules: [repository]',
    `    reason: "dependency of provenance-guard (via ${e.via}); its manifest names no repository"`,
    `    expires: ${expires}`,
  ]);
}

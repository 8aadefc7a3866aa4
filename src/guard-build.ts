/** The guard itself: the feed opened, the policy, evaluation (see guard.ts for the pipeline). */
import { valid as validSemver } from 'semver';
import { openFeed, type Feed } from './feed/reader';
import type { Guard, GuardInputs, GuardOptions } from './guard';
import { packageKey } from './lockfile/source';
import { identityProblem, Policy, type Evaluation, type FeedState } from './policy/evaluate';
import { buildReport } from './report/build';
import { summarizeSourceWarnings } from './report/source-failures';
import type { FeedRecord, ResolvedPackage } from './types';

function uniqueKey(pkg: ResolvedPackage): string {
  return `${packageKey(pkg.name, pkg.version)}\u0000${pkg.integrity ?? ''}\u0000${pkg.source}\u0000${pkg.resolved ?? ''}`;
}

/** The alias the user wrote and the path that brought the package in, for the report. */
function withOrigin(evaluation: Evaluation, pkg: ResolvedPackage): Evaluation {
  if (pkg.alias !== undefined && pkg.alias !== pkg.name) evaluation.alias = pkg.alias;
  if (pkg.via !== undefined && pkg.via.length > 0) evaluation.via = pkg.via;
  return evaluation;
}

/** The guard over resolved inputs (createGuard in guard.ts loads this module on first use). */
export async function buildGuard(options: GuardOptions, inputs: GuardInputs, warn: (message: string) => void): Promise<Guard> {
  const env = options.env ?? process.env;
  const { config, feedPath, remote, cacheDir: cache, stateDir: state, now } = inputs;

  let feed: Feed | undefined;
  let feedState: FeedState = { stale: false };
  if (feedPath !== undefined) {
    feed = openFeed(feedPath, { publicKeys: config.feed.publicKeys, minSerial: config.feed.minSerial, stateDir: state, now, ...(remote?.pages ? { pages: remote.pages } : {}) });
    const generated = Date.parse(feed.header.generatedAt);
    feedState = { stale: Number.isFinite(generated) && now.getTime() - generated > config.feed.maxAge, generatedAt: feed.header.generatedAt };
  }
  const policy = new Policy(config, now);

  async function evaluate(packages: readonly ResolvedPackage[]): Promise<Evaluation[]> {
    const unique = new Map<string, ResolvedPackage>();
    for (const pkg of packages) if (pkg.source !== 'workspace') unique.set(uniqueKey(pkg), pkg);
    const list = [...unique.values()];
    const records = new Map<ResolvedPackage, FeedRecord | undefined>();
    const needsEvidence = (pkg: ResolvedPackage) => config.mode !== 'off' && pkg.source === 'registry' && identityProblem(pkg) === undefined && policy.excludedBy(pkg) === undefined;
    // A tarball URL claiming a name@version the feed knows must carry that record's bytes.
    const claimsRecord = (pkg: ResolvedPackage) => config.mode !== 'off' && pkg.source === 'tarball' && validSemver(pkg.version) !== null && policy.excludedBy(pkg) === undefined;
    const lookedUp = list.filter((pkg) => needsEvidence(pkg) || claimsRecord(pkg));
    if (feed && remote) await remote.prefetch(lookedUp);
    else feed?.prepare?.(lookedUp.length);
    if (feed) {
      const found = feed.lookupAll(lookedUp);
      lookedUp.forEach((pkg, i) => records.set(pkg, found[i]));
    }

    if (config.online) {
      const missing = list.filter((pkg) => needsEvidence(pkg) && records.get(pkg) === undefined);
      if (missing.length > 0) {
        // Loaded lazily: only `--online` runs pay for the network stack.
        const { gatherEvidence } = await import('./evidence/index');
        const gathered = await gatherEvidence(missing, { sources: config.sources, cacheDir: cache, stateDir: state, npmrc: { cwd: options.cwd }, env });
        // One line per failed source, with the setting that turns it off.
        for (const line of summarizeSourceWarnings(gathered.warnings)) warn(line.replace(/^provenance-guard: /, ''));
        const byId = new Map(gathered.records.map((r) => [packageKey(r.name, r.version), r]));
        for (const pkg of missing) records.set(pkg, byId.get(packageKey(pkg.name, pkg.version)));
      }
    }
    return list.map((pkg) => withOrigin(policy.evaluate(pkg, records.get(pkg), feedState), pkg));
  }

  return {
    config,
    feed,
    evaluate,
    async check(packages) {
      return buildReport(await evaluate(packages));
    },
    close() {
      feed?.close();
    },
  };
}

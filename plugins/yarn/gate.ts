/**
 * The install gate.
 *
 * Where it sits (measured on Yarn 4.18.1 with logging hooks; test/yarn.gate.test.ts keeps it true):
 * - `reduceDependency` runs on every install path but only sees descriptors (ranges),
 *   never the version that will be installed, so the policy cannot be evaluated there
 *   (it is used only for the name-level source pre-check, see precheck.ts).
 * - `wrapNetworkRequest` never runs when the cache is warm (`--immutable` on a CI cache).
 * - `validateProjectAfterInstall` runs after linking and postinstall: too late.
 * - `validateProject` runs first on every path (install, `--immutable`, `yarn add`, `up`,
 *   `remove`) and `report.reportError` there stops the install before resolution: no
 *   tarball fetched, nothing linked, no script run, yarn.lock not written. No hook sits
 *   between resolution and fetch, so the gate resolves the graph itself, through the
 *   public API, right there:
 *   - `resolveEverything({ lockfileOnly: true })` when yarn.lock already pins what the
 *     manifests ask for (`--immutable`, re-installs): no network, ~20 ms for a small tree.
 *     lockfileOnly alone is not enough: during `yarn add` it returns yarn.lock's old
 *     workspace entry and misses the new package, so resolve.ts checks coverage first.
 *   - otherwise a full dry `resolveEverything({ cache })`: registry metadata only (plus
 *     tarball-URL packages, which Yarn must download to read their manifest); the real
 *     resolution afterwards starts from its result and costs little twice.
 */
import { MessageName, type Project } from '@yarnpkg/core';
import { npmHttpUtils } from '@yarnpkg/plugin-npm';
import { structUtils } from '@yarnpkg/core';
import { join } from 'node:path';
import { createGuard, failureMode, resolveGuardInputs, type Guard, type GuardInputs, type GuardOptions } from '../../src/guard';
import type { Config } from '../../src/config/types';
import type { VerdictInputs } from '../../src/verdict-store';
import { stateDir } from '../../src/paths';
import type { Evaluation } from '../../src/policy/evaluate';
import { buildReport } from '../../src/report/build';
import { errorText, isGuardError } from '../../src/errors';
import { configLine } from '../../src/report/config-line';
import { codeCacheReady } from '../../src/code-cache-ready';
import { escapeControl } from '../../src/report/escape';
import type { PackageResult, Report, ResolvedPackage } from '../../src/types';
import { endPrecheck, startPrecheck } from './precheck';
import { lockfileGraph, resolveProject } from './resolve';
import { lockfileState } from './lockfile-state';
import { isPolicyBlock, packageMessage, policyBlock } from './messages';
import { expectedPackage, guardFetches, type FetchPolicy } from './fetch-guard';
import { guardSetup, type GuardSetup } from './settings';
import { rememberedArchive, verifiedArchives } from './verified-archives';
import { gateConfigMemo, gateVerdictInputs, INTEGRITY_IN_FEED, rememberArchives, reuseGate, storeGate, type FetchExpectations, type KnownArchives } from './verdict-reuse';

export interface ValidationReport {
  reportWarning: (name: MessageName, text: string) => void;
  reportError: (name: MessageName, text: string) => void;
}

/**
 * The yarn.lock checksum hashes Yarn's cache zip, not npm's tarball integrity. In online mode
 * the registry's `dist.integrity` is fetched through Yarn's own HTTP layer (so its registry,
 * scopes and auth settings apply); otherwise packages carry no integrity and the guard
 * compares none.
 */
export async function addRegistryIntegrity(project: Project, packages: ResolvedPackage[]): Promise<string[]> {
  const problems: string[] = [];
  const queue = packages.filter((p) => p.source === 'registry' && p.integrity === undefined);
  const worker = async () => {
    for (let pkg = queue.shift(); pkg; pkg = queue.shift()) {
      const ident = structUtils.parseIdent(pkg.name);
      try {
        const manifest = (await npmHttpUtils.get(`${npmHttpUtils.getIdentUrl(ident)}/${encodeURIComponent(pkg.version)}`, {
          configuration: project.configuration,
          ident,
          jsonResponse: true,
        })) as { dist?: { integrity?: unknown } };
        if (typeof manifest?.dist?.integrity === 'string') pkg.integrity = manifest.dist.integrity;
      } catch (error) {
        problems.push(escapeControl(`${pkg.name}@${pkg.version}: could not read its integrity from the registry: ${(error as Error).message}`));
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return problems;
}

/** Reports a guard result through Yarn: one error per blocked package, one warning per warned one. */
export function reportResult(result: Report, report: ValidationReport, configFile: string | undefined, overrideNames?: ReadonlyMap<PackageResult, string>): void {
  for (const pkg of result.packages) {
    if (pkg.verdict === 'block') report.reportError(MessageName.UNNAMED, packageMessage(pkg, configFile, overrideNames?.get(pkg)));
    else if (pkg.verdict === 'warn') report.reportWarning(MessageName.UNNAMED, packageMessage(pkg, configFile));
  }
  const { summary } = result;
  if (summary.block > 0) {
    report.reportError(
      MessageName.UNNAMED,
      `provenance-guard blocked ${summary.block} package${summary.block === 1 ? '' : 's'}: nothing was installed and no package script ran`,
    );
  }
}

/** What the fetcher must compare each registry tarball with: the feed records the gate looked up (see verdict-reuse.ts). */
function fetchExpectations(packages: readonly ResolvedPackage[], evaluations: readonly Evaluation[]): FetchExpectations {
  const expectations: FetchExpectations = new Map();
  // A registry package was looked up: without a record (or excluded) there is nothing to compare.
  for (const pkg of packages) if (pkg.source === 'registry') expectations.set(`${pkg.name}@${pkg.version}`, null);
  for (const evaluation of evaluations) {
    if (evaluation.record) expectations.set(`${evaluation.name}@${evaluation.version}`, evaluation.verdict === 'skip' ? null : (evaluation.record.integrity ?? null));
  }
  return expectations;
}

/**
 * The fetch step's policy. `remembered`: the archives a stored verdict says this machine verified
 * against these expectations; `verified` collects the ones verified in this process.
 */
export function fetchPolicy(config: Config, expectations: FetchExpectations, guard: () => Promise<Guard>, env: NodeJS.ProcessEnv, remembered: KnownArchives = new Map(), verified: KnownArchives = new Map()): FetchPolicy {
  const block = config.mode === 'block';
  /** The feed's sha512 for name@version, looked up now (a block throws: the last point before its bytes reach Yarn's cache). */
  const lookedUp = async (name: string, version: string): Promise<string | undefined> => {
    const evaluation = (await (await guard()).evaluate([{ name, version, source: 'registry', integrityCheckedOnFetch: true }]))[0];
    if (evaluation?.verdict === 'block') throw policyBlock(packageMessage(buildReport([evaluation]).packages[0]!, config.filepath));
    return evaluation?.verdict === 'skip' ? undefined : evaluation?.record?.integrity;
  };
  return {
    async expectation(name, version) {
      const id = `${name}@${version}`;
      const known = expectations.get(id);
      if (known !== undefined) {
        if (!known) return undefined;
        const archive = remembered.get(id);
        return archive === undefined ? { id, integrity: known, block } : { id, integrity: known, block, archive };
      }
      // A package the gate did not see (it should not happen) is checked now, never skipped.
      const integrity = await lookedUp(name, version);
      return integrity ? { id, integrity, block } : undefined;
    },
    async withIntegrity(expected) {
      if (expected.integrity !== INTEGRITY_IN_FEED) return expected;
      const { name, version } = expectedPackage(expected);
      const integrity = await lookedUp(name, version);
      // Without one (the record the verdict was stored with always has it), INTEGRITY_IN_FEED stays: it binds nothing.
      return integrity ? { ...expected, integrity } : expected;
    },
    archives: verifiedArchives(join(stateDir(env), 'yarn-archives')),
    configFile: config.filepath,
    verified(expected, archive) {
      verified.set(expected.id, rememberedArchive(archive));
    },
  };
}

/** The graph the install will use, or the blocked non-registry packages stopped before Yarn fetched them. */
async function resolveForGate(project: Project, guard: Guard): Promise<{ packages: ResolvedPackage[] } | { blocked: Report; names: ReadonlyMap<PackageResult, string> }> {
  const precheck = startPrecheck(project, guard);
  try {
    return { packages: await resolveProject(project, { lockfileOnly: false }) };
  } catch (error) {
    if (precheck.blocked.length === 0) throw error;
    const blocked = precheck.blocked;
    return { blocked: { summary: { packages: blocked.length, pass: 0, warn: 0, block: blocked.length, skip: 0 }, packages: blocked }, names: precheck.names };
  } finally {
    endPrecheck(project);
  }
}

/** Reports a failure to set up or run the gate: an error in block mode (fail closed), a warning in warn mode. */
async function reportFailure(error: unknown, config: Config | undefined, setup: GuardSetup, report: ValidationReport): Promise<void> {
  const { options, forcedMode } = setup;
  const message = errorText(error, isGuardError(error) ? undefined : 'could not resolve the dependency graph to check it');
  const mode = config ? config.mode : (forcedMode ?? (await failureMode({ cwd: options.cwd, ...(options.configPath ? { configPath: options.configPath } : {}), ...(options.fallbackCwds ? { fallbackCwds: options.fallbackCwds } : {}), env: options.env ?? process.env })));
  if (mode === 'off') return;
  if (mode === 'block') report.reportError(MessageName.UNNAMED, `provenance-guard: ${message}`);
  else report.reportWarning(MessageName.UNNAMED, `provenance-guard: ${message} (mode warn: installing unchecked)`);
}

/** One gate run: the guard is built only when no stored verdict answers (and closed when the process ends). */
class GateRun {
  private created: Promise<Guard> | undefined;

  constructor(readonly project: Project, readonly options: GuardOptions, readonly inputs: GuardInputs, readonly report: ValidationReport) {}

  guard(): Promise<Guard> {
    if (!this.created) {
      this.created = createGuard(this.options, this.inputs);
      this.created.then((guard) => process.once('exit', () => guard.close()), () => undefined);
    }
    return this.created;
  }

  /** Hands the fetch step what each registry tarball must hash to (fetch-guard.ts); returns where it collects the archives it verifies. */
  guardFetches(expectations: FetchExpectations, remembered?: KnownArchives): KnownArchives {
    const verified: KnownArchives = new Map();
    guardFetches(this.project.configuration, fetchPolicy(this.inputs.config, expectations, () => this.guard(), this.options.env ?? process.env, remembered, verified));
    return verified;
  }

  /** The stored verdict of this graph, reported as if checked now (warnings too); false when there is none. */
  reuse(verdict: VerdictInputs | undefined, timing?: (what: string) => void): boolean {
    const reused = verdict && reuseGate(verdict);
    if (!reused) return false;
    reportResult(reused.report, this.report, this.inputs.config.filepath);
    rememberArchives(verdict, reused, this.guardFetches(reused.expectations, reused.archives));
    timing?.(`verdict reused (${reused.report.summary.packages} packages), gate total`);
    return true;
  }

  /** Checks the graph (resolving it when yarn.lock does not cover the manifests); stores a passing result of a lockfile graph. */
  async check(graph: ResolvedPackage[] | undefined, verdict: VerdictInputs | undefined, timing?: (what: string) => void): Promise<void> {
    const guard = await this.guard();
    // A dry resolution downloads the packages whose manifest is in their tarball, the registry's own
    // tarball URL of a name@version among them: its bytes are bound to the feed there already
    // (each checked on the spot, fetchPolicy), so none reaches Yarn's cache unverified.
    if (!graph) this.guardFetches(new Map());
    const resolved = graph ? { packages: graph } : await resolveForGate(this.project, guard);
    if ('blocked' in resolved) {
      reportResult(resolved.blocked, this.report, guard.config.filepath, resolved.names);
      return;
    }
    const { packages } = resolved;
    if (guard.config.online && !guard.config.feed.offline) {
      for (const problem of await addRegistryIntegrity(this.project, packages)) this.report.reportWarning(MessageName.UNNAMED, problem);
    }
    timing?.(`graph of ${packages.length} packages`);
    const evaluations = await guard.evaluate(packages);
    const result = buildReport(evaluations);
    reportResult(result, this.report, guard.config.filepath);
    const expectations = fetchExpectations(packages, evaluations);
    // The fetch step compares each tarball with the feed (fetch-guard.ts).
    const verified = this.guardFetches(expectations);
    if (verdict) storeGate(verdict, result, expectations, verified);
    timing?.('gate total');
  }
}

export async function validateProject(project: Project, report: ValidationReport): Promise<void> {
  // Yarn's install computes its package extensions right after this hook, whatever the hook does
  // (Project.install; cached on the configuration; test/yarn.gate.test.ts keeps it true). The
  // lockfile graph needs them, so they are computed first and are not counted as the gate's time.
  const extensionsStarted = performance.now();
  await project.configuration.getPackageExtensions();
  const extensionsMs = performance.now() - extensionsStarted;
  const started = performance.now();
  // PROVENANCE_GUARD_TIMING=1: one stderr line with the gate's own cost (used by the bench).
  const cpu = process.cpuUsage();
  const cpuMs = () => {
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1000;
  };
  const timing = process.env.PROVENANCE_GUARD_TIMING === '1' ? (what: string) => process.stderr.write(`provenance-guard timing: ${what} ${(performance.now() - started).toFixed(1)} ms, cpu ${cpuMs().toFixed(1)} ms\n`) : undefined;
  if (timing) process.stderr.write(`provenance-guard timing: Yarn's package extensions ${extensionsMs.toFixed(1)} ms (its install computes them next anyway; not in the gate's time)\n`);
  const setup = guardSetup(project, project.configuration, project.cwd);
  if (setup.forcedMode === 'off') return;
  const options: GuardOptions = { ...setup.options, ...gateConfigMemo(project, setup.options.env ?? process.env), warn: (message) => report.reportWarning(MessageName.UNNAMED, `provenance-guard: ${message}`) };
  let inputs: GuardInputs | undefined;
  try {
    inputs = await resolveGuardInputs(options);
    process.stderr.write(`${configLine(inputs.config)}\n`);
    if (inputs.config.mode === 'off') return;
    const run = new GateRun(project, options, inputs, report);
    // yarn.lock pins the manifests (a warm `--immutable`): a verdict stored for this lockfile state may answer
    // (lockfile-state.ts); else, when yarn.lock covers the install, the graph needs no resolution.
    const state = await lockfileState(project);
    const verdict = state === undefined ? undefined : gateVerdictInputs(project, inputs, state);
    if (run.reuse(verdict, timing)) return codeCacheReady();
    const graph = state === undefined ? undefined : await lockfileGraph(project);
    // Only a graph read from yarn.lock is stored: its key is the lockfile state it was computed from.
    await run.check(graph, graph && verdict, timing);
    codeCacheReady();
  } catch (error) {
    if (isPolicyBlock(error)) {
      // A package the gate's dry resolution downloaded (fetchPolicy) was blocked there: nothing reached Yarn's cache.
      report.reportError(MessageName.UNNAMED, error.message);
      report.reportError(MessageName.UNNAMED, 'provenance-guard blocked 1 package: nothing was installed and no package script ran');
      return;
    }
    await reportFailure(error, inputs?.config, setup, report);
  }
}

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
import { createGuard, failureMode, type Guard } from '../../src/guard';
import { errorText, isGuardError } from '../../src/errors';
import { configLine } from '../../src/report/config-line';
import { escapeControl } from '../../src/report/escape';
import type { PackageResult, Report, ResolvedPackage } from '../../src/types';
import { endPrecheck, startPrecheck } from './precheck';
import { resolveProject } from './resolve';
import { packageMessage } from './messages';
import { guardSetup } from './settings';

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


export async function validateProject(project: Project, report: ValidationReport): Promise<void> {
  const started = performance.now();
  // PROVENANCE_GUARD_TIMING=1: one stderr line with the gate's own cost (used by the bench).
  const timing = process.env.PROVENANCE_GUARD_TIMING === '1' ? (what: string) => process.stderr.write(`provenance-guard timing: ${what} ${(performance.now() - started).toFixed(1)} ms\n`) : undefined;
  const { options, forcedMode } = guardSetup(project, project.configuration, project.cwd);
  if (forcedMode === 'off') return;
  let guard: Guard | undefined;
  try {
    guard = await createGuard({ ...options, warn: (message) => report.reportWarning(MessageName.UNNAMED, `provenance-guard: ${message}`) });
    process.stderr.write(`${configLine(guard.config)}\n`);
    if (guard.config.mode === 'off') return;
    const precheck = startPrecheck(project, guard);
    let packages: ResolvedPackage[];
    try {
      packages = await resolveProject(project, { lockfileOnly: false });
    } catch (error) {
      if (precheck.blocked.length === 0) throw error;
      // A non-registry dependency the policy blocks by name alone: stopped before Yarn fetched it.
      const blocked = precheck.blocked;
      reportResult({ summary: { packages: blocked.length, pass: 0, warn: 0, block: blocked.length, skip: 0 }, packages: blocked }, report, guard.config.filepath, precheck.names);
      return;
    } finally {
      endPrecheck(project);
    }
    if (guard.config.online && !guard.config.feed.offline) {
      for (const problem of await addRegistryIntegrity(project, packages)) report.reportWarning(MessageName.UNNAMED, problem);
    }
    timing?.(`graph of ${packages.length} packages`);
    const result = await guard.check(packages);
    reportResult(result, report, guard.config.filepath);
    timing?.('gate total');
  } catch (error) {
    const message = errorText(error, isGuardError(error) ? undefined : 'could not resolve the dependency graph to check it');
    const mode = guard ? guard.config.mode : (forcedMode ?? (await failureMode({ cwd: options.cwd, ...(options.configPath ? { configPath: options.configPath } : {}), env: options.env ?? process.env })));
    if (mode === 'off') return;
    // Fail closed: in block mode nothing installs unchecked.
    if (mode === 'block') report.reportError(MessageName.UNNAMED, `provenance-guard: ${message}`);
    else report.reportWarning(MessageName.UNNAMED, `provenance-guard: ${message} (mode warn: installing unchecked)`);
  } finally {
    guard?.close();
  }
}

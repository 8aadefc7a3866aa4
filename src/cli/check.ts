import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createGuard, resolveGuardInputs } from '../guard';
import { LockfileError } from '../errors';
import { isObject } from '../json';
import { lockfileKindOf, readLockfile } from '../lockfile/index';
import type { Report, ResolvedPackage } from '../types';
import { storeVerdict } from '../verdict-store';
import { exitCodeOf } from '../report/build';
import { attachDependencyPaths } from '../report/dependency-paths';
import { answerFromStore, checkConfigMemo, guardOptions, lockfileRegistries, locateLockfiles, parseCheckArgs, render, storedCheck, writePrintedJson } from './check-reuse';
import type { CliContext } from './context';

/** Dependencies the project's package.json declares (an empty lockfile beside them is a decoy). */
function declaresDependencies(dir: string): boolean {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    return false;
  }
  if (!isObject(manifest)) return false;
  return ['dependencies', 'devDependencies', 'optionalDependencies'].some((field) => {
    const deps = manifest[field];
    return isObject(deps) && Object.keys(deps).length > 0;
  });
}

/**
 * The union of every lockfile's packages (SPEC CLI: a decoy lockfile never hides another).
 * A lockfile that cannot be read, or that lists nothing while package.json declares
 * dependencies, is an error naming it.
 */
export function readProjectLockfiles(lockfiles: readonly string[], env: NodeJS.ProcessEnv, registries = lockfileRegistries(lockfiles, env)): ResolvedPackage[] {
  const packages: ResolvedPackage[] = [];
  for (const [i, lockfile] of lockfiles.entries()) {
    const found = readLockfile(lockfile, undefined, { env, registries: registries[i]! });
    if (found.length === 0 && declaresDependencies(dirname(lockfile))) {
      throw new LockfileError(`${lockfile}: lists no packages while package.json declares dependencies (an empty lockfile is not checked as a pass)`, {
        file: lockfile,
        code: 'ERR_PG_LOCKFILE_EMPTY',
      });
    }
    packages.push(...found);
  }
  return packages;
}

/**
 * yarn.lock records Yarn's archive checksum, never the tarball's sha512, so `check` cannot bind a
 * Yarn package to its feed record: each is an integrity finding ("cannot be bound"), and the line
 * says where the binding is made instead.
 */
function noteYarnIntegrity(report: Report, lockfiles: readonly string[], ctx: CliContext): void {
  if (!lockfiles.some((lockfile) => lockfileKindOf(lockfile) === 'yarn')) return;
  const unbound = report.packages.filter((pkg) => pkg.findings.some((finding) => finding.rule === 'integrity')).length;
  if (unbound === 0) return;
  ctx.stderr.write(`provenance-guard: yarn.lock records no npm integrity (Yarn verifies its own archive checksum), so ${unbound === 1 ? '1 package' : `${unbound} packages`} cannot be bound to the feed here; in a Yarn project run \`yarn provenance check\`: the plugin compares each tarball Yarn downloads with the feed's sha512\n`);
}

export async function checkCommand(argv: string[], ctx: CliContext): Promise<number> {
  const args = parseCheckArgs(argv);
  const lockfiles = locateLockfiles(ctx.cwd, args.values.lockfile);
  const registries = lockfileRegistries(lockfiles, ctx.env);
  const options = guardOptions(ctx, args.values, checkConfigMemo(lockfiles, ctx.env));
  const inputs = await resolveGuardInputs(options).catch((error: unknown) => {
    // A lockfile problem is reported before a config or feed one, as when nothing is reused.
    readProjectLockfiles(lockfiles, ctx.env, registries);
    throw error;
  });
  // A repeat of a passing check (same lockfiles, config and feed) reuses its report; live
  // evidence (--online) changes on its own, so those runs are never reused.
  const { verdict, code } = answerFromStore(args, lockfiles, registries, inputs, ctx);
  if (code !== undefined) return code;
  const packages = readProjectLockfiles(lockfiles, ctx.env, registries);
  if (args.format === 'human') for (const lockfile of lockfiles) attachDependencyPaths(packages, lockfile);
  const guard = await createGuard(options, inputs);
  try {
    const report = await guard.check(packages);
    const stored = verdict && storedCheck(report, args.format);
    if (verdict && stored) storeVerdict(verdict, stored.report, undefined, stored.printed);
    // JSON formatted once: the document stored is the one printed.
    if (stored?.printed !== undefined) writePrintedJson(stored.printed, guard.config, ctx);
    else render(report, args, lockfiles, guard.config, ctx);
    noteYarnIntegrity(report, lockfiles, ctx);
    return exitCodeOf(report);
  } finally {
    guard.close();
  }
}

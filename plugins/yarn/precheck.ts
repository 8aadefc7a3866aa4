/**
 * Non-registry dependencies that yarn.lock does not pin yet (git, tarball URL, file:) are
 * fetched by Yarn *during resolution* to read their manifest, and a git package is packed
 * there, which runs its `prepack`/`prepare` scripts (measured on 4.18.1). The gate's dry
 * resolution would therefore run code before the policy is consulted. `reduceDependency`
 * sees each descriptor before it is resolved, so source-rule blocks are decided there,
 * by name (the version is not known yet). When an `exclude` or `overrides` pattern names
 * the package with a version range, the decision needs the version: the descriptor goes on
 * and the package is checked after resolution like any other.
 */
import { MessageName, ReportError, structUtils, type Descriptor, type Project } from '@yarnpkg/core';
import type { Guard } from '../../src/guard';
import type { PackageResult } from '../../src/types';
import { yarnLocatorPackage } from '../../src/lockfile/yarn';
import { classifyReference, configuredRegistries } from './locators';
import { packageMessage } from './messages';

interface ActiveCheck {
  guard: Guard;
  blocked: PackageResult[];
  /** The override pattern to suggest for each blocked result (its name: the version is not known). */
  names: Map<PackageResult, string>;
}

const active = new WeakMap<Project, ActiveCheck>();

export function startPrecheck(project: Project, guard: Guard): ActiveCheck {
  const check: ActiveCheck = { guard, blocked: [], names: new Map() };
  active.set(project, check);
  return check;
}

export function endPrecheck(project: Project): void {
  active.delete(project);
}

export async function reduceDependency(dependency: Descriptor, project: Project): Promise<Descriptor> {
  const check = active.get(project);
  if (!check) return dependency;
  const range = dependency.range;
  const kind = classifyReference(range, project.cwd);
  if (kind.source === 'registry' || kind.source === 'workspace' || kind.source === 'skip') return dependency;
  // The configured registry's own tarball URL of a name@version is that registry package (yarnLocatorPackage
  // decides, as for yarn.lock): checked with its name and version after resolution, its bytes bound when fetched.
  const named = { name: structUtils.stringifyIdent(dependency), reference: range };
  if (kind.source === 'tarball' && yarnLocatorPackage(named, '0.0.0', project.cwd, configuredRegistries(project.configuration)).kind.source === 'registry') return dependency;
  // Pinned by yarn.lock: resolving it fetches nothing; it is checked with its version later.
  if (project.storedResolutions.has(dependency.descriptorHash)) return dependency;
  const { config } = check.guard;
  const name = structUtils.stringifyIdent(dependency);
  // Checked before Yarn resolves it, whatever an exclude or override with a version range says:
  // resolving a git or folder dependency packs it, which runs its prepack script. Such exceptions
  // apply to these sources only when given without a range.
  const report = await check.guard.check([{ name, version: '0.0.0', source: kind.source, resolved: kind.resolved ?? range }]);
  const pkg = report.packages[0];
  if (pkg?.verdict !== 'block') return dependency;
  const result: PackageResult = { ...pkg, version: range };
  check.blocked.push(result);
  check.names.set(result, name);
  throw new ReportError(MessageName.UNNAMED, packageMessage(result, config.filepath, name));
}

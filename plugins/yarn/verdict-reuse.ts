/**
 * Verdict reuse for the install gate (src/verdict-store.ts holds the store and its trust model).
 * On a warm `yarn install --immutable` yarn.lock covers the manifests and the gate reads the
 * graph straight from it (resolve.ts lockfileGraph, no resolution); when the lockfile state that
 * graph is computed from, the config, the feed and the registries are unchanged, the last
 * passing result is reused instead of computing the graph, opening the feed and evaluating
 * every package.
 *
 * Why reusing is as safe as recomputing:
 * - The key hashes the lockfile state (lockfile-state.ts: yarn.lock as Yarn parsed it, what a
 *   command changed in memory since, the package extensions, Yarn's version and plugins), which
 *   decides the lockfile graph; a state in which the manifests are not pinned by yarn.lock (a
 *   `yarn add`/`up` that changed a manifest but not yet yarn.lock, `yarn set resolution`) has no
 *   key, and the gate resolves and checks as before. With it: the Yarn registries, the resolved
 *   config (mode, exclude, overrides…), the feed's signed preamble (its index hash pins every
 *   record), the guard version and the UTC day. The verdicts and the fetch expectations below
 *   are a function of exactly these.
 * - The fetch step still runs per package (fetch-guard.ts): the downloaded bytes are compared
 *   with the feed's sha512, and an archive found in Yarn's cache is trusted only when the
 *   guard's own record (verified-archives.ts, in the cache directory) says it was built from a
 *   verified tarball. What reuse replaces is only where the expected sha512 comes from: the
 *   feed lookup the stored verdict made, kept beside it under the same HMAC, instead of a new
 *   lookup of the same record. A restored pull-request cache is re-verified exactly as before.
 * - Only a result with nothing blocked is stored; a store written by anyone without the user's
 *   secret (a pull request, another machine) is ignored and everything is checked again.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Project } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import type { GuardInputs } from '../../src/guard';
import type { Report } from '../../src/types';
import { configuredRegistries } from './locators';
import type { ConfigMemo } from '../../src/config/memo';
import { installVerdictFile, rememberedConfig, reprintedPart, reuseStoredVerdict, storeInstallVerdict, type VerdictInputs } from '../../src/verdict-store';

/** name@version → the integrity the fetched tarball must have (null: nothing to compare, e.g. not in the feed). */
export type FetchExpectations = Map<string, string | null>;

/** Beside the install: node_modules/.provenance-guard, or .yarn/provenance-guard under Plug'n'Play. */
function verdictFile(projectDir: string): string {
  if (existsSync(join(projectDir, 'node_modules')) || !existsSync(join(projectDir, '.pnp.cjs'))) return installVerdictFile(projectDir, 'yarn');
  return join(projectDir, '.yarn', 'provenance-guard', 'yarn-verdict.json');
}

/** What the gate's stored verdict remembers of the config (an unchanged file is not parsed again). */
export function gateConfigMemo(project: Project, env: NodeJS.ProcessEnv): { configMemo?: ConfigMemo } {
  return rememberedConfig(verdictFile(npath.fromPortablePath(project.cwd)), env);
}

/** The store's inputs for this lockfile state (lockfile-state.ts); undefined when it must always be checked (live evidence changes on its own). */
export function gateVerdictInputs(project: Project, inputs: GuardInputs, lockfileState: string): VerdictInputs | undefined {
  if (inputs.config.online) return undefined;
  const dir = npath.fromPortablePath(project.cwd);
  const registries = configuredRegistries(project.configuration);
  return {
    file: verdictFile(dir),
    scope: 'yarn',
    lockfilePath: join(dir, 'yarn.lock'),
    lockfile: lockfileState,
    config: inputs.config,
    feedPath: inputs.feedPath,
    cacheDir: inputs.cacheDir,
    now: inputs.now,
    extra: JSON.stringify({ dir, registries }),
  };
}

function isExpectations(value: unknown): value is [string, string | null][] {
  return Array.isArray(value) && value.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && (typeof e[1] === 'string' || e[1] === null));
}

/** The stored passing result of this graph and the fetch expectations made with it, or undefined. */
export function reuseGate(verdict: VerdictInputs): { report: Report; expectations: FetchExpectations } | undefined {
  const reused = reuseStoredVerdict(verdict);
  if (!reused || !isExpectations(reused.attachment)) return undefined;
  return { report: reused.report, expectations: new Map(reused.attachment) };
}

export function storeGate(verdict: VerdictInputs, report: Report, expectations: FetchExpectations): void {
  storeInstallVerdict(verdict, reprintedPart(report), [...expectations]);
}

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
 *   guard's own record (verified-archives.ts, in the state directory) says it was built from a
 *   verified tarball. What reuse replaces is where the expected sha512 comes from (the feed
 *   lookup the stored verdict made, kept beside it under the same HMAC, instead of a new lookup
 *   of the same record) and, for an archive the fetch step verified when the verdict was stored,
 *   where that fact comes from: the verdict names the archive's sha512 in place of the
 *   expectation, and only an archive with exactly that hash (Yarn's, when Yarn hashed the file;
 *   else the guard's own) is trusted without the record. Any other archive, or none, needs the
 *   expected sha512, which is then looked up in the feed the key pins (INTEGRITY_IN_FEED). A
 *   restored pull-request cache is re-verified exactly as before. The verdict is stored when Yarn
 *   exits, after its fetch step.
 * - Only a result with nothing blocked is stored; a store written by anyone without the user's
 *   secret (a pull request, another machine) is ignored and everything is checked again.
 */
import { join } from 'node:path';
import type { Project } from '@yarnpkg/core';
import { npath } from '@yarnpkg/fslib';
import type { GuardInputs } from '../../src/guard';
import type { Report } from '../../src/types';
import { configuredRegistries } from './locators';
import { REMEMBERED_LENGTH } from './verified-archives';
import type { ConfigMemo } from '../../src/config/memo';
import { stateDir as defaultStateDir } from '../../src/paths';
import { forgetVerdict, rememberedConfig, reprintedPart, reuseStoredVerdict, stateVerdictFile, storeVerdict, type VerdictInputs } from '../../src/verdict-store';

/** name@version → the integrity the fetched tarball must have (null: nothing to compare, e.g. not in the feed). */
export type FetchExpectations = Map<string, string | null>;

/**
 * Stands for the sha512 of a package whose archive a stored verdict remembers: the verdict does not
 * carry it (half of its bytes, read and authenticated on every install), and the fetch step looks
 * it up in the feed only when it needs it: the archive Yarn hands over is not the remembered one
 * (fetch-guard.ts, FetchPolicy.withIntegrity). The verdict's key pins the feed it was stored under,
 * so the record found is the one it was stored with. Not an integrity: compared with a tarball's,
 * it binds nothing, and the fetch fails closed.
 */
export const INTEGRITY_IN_FEED = 'in-feed';

/** name@version → the archive of Yarn's cache this machine verified against its expectation (verified-archives.ts rememberedArchive). */
export type KnownArchives = Map<string, string>;

/**
 * The expectations as stored: `count` entries in three lists joined by newlines, the i-th line of
 * each belonging together ('' for no integrity, no archive). Three strings parse faster than
 * 1,000 small arrays (in a fresh process, with the maps built: 1.8 against 11–13 ms).
 */
interface StoredExpectations {
  count: number;
  ids: string;
  integrities: string;
  archives: string;
}

/**
 * In the state directory, one per project (src/verdict-store.ts stateVerdictFile), as the pnpm
 * hook's: it describes yarn.lock's graph under this config and feed, not what node_modules holds,
 * so an install after `rm -rf node_modules` reuses it too.
 */
function verdictFile(projectDir: string, stateDir: string): string {
  return stateVerdictFile(stateDir, 'yarn', projectDir);
}

/** What the gate's stored verdict remembers of the config (an unchanged file is not parsed again). */
export function gateConfigMemo(project: Project, env: NodeJS.ProcessEnv): { configMemo?: ConfigMemo } {
  return rememberedConfig(verdictFile(npath.fromPortablePath(project.cwd), defaultStateDir(env)), env);
}

/** The store's inputs for this lockfile state (lockfile-state.ts); undefined when it must always be checked (live evidence changes on its own). */
export function gateVerdictInputs(project: Project, inputs: GuardInputs, lockfileState: string): VerdictInputs | undefined {
  if (inputs.config.online) return undefined;
  const dir = npath.fromPortablePath(project.cwd);
  const registries = configuredRegistries(project.configuration);
  return {
    file: verdictFile(dir, inputs.stateDir),
    scope: 'yarn',
    lockfilePath: join(dir, 'yarn.lock'),
    lockfile: lockfileState,
    config: inputs.config,
    feedPath: inputs.feedPath,
    stateDir: inputs.stateDir,
    now: inputs.now,
    extra: JSON.stringify({ dir, registries }),
  };
}

function isStored(value: unknown): value is StoredExpectations {
  const stored = value as StoredExpectations | null;
  return typeof stored === 'object' && stored !== null && Number.isSafeInteger(stored.count) && stored.count >= 0
    && typeof stored.ids === 'string' && typeof stored.integrities === 'string' && typeof stored.archives === 'string';
}

/** The lines of a stored list, when there are exactly `count`. */
function lines(text: string, count: number): string[] | undefined {
  if (count === 0) return text === '' ? [] : undefined;
  const list = text.split('\n');
  return list.length === count ? list : undefined;
}

/** The stored passing result of this graph, the fetch expectations made with it and the archives verified for them, or undefined. */
export function reuseGate(verdict: VerdictInputs): { report: Report; expectations: FetchExpectations; archives: KnownArchives; key: string } | undefined {
  const reused = reuseStoredVerdict(verdict);
  if (!reused || !isStored(reused.attachment)) return undefined;
  const { count } = reused.attachment;
  const ids = lines(reused.attachment.ids, count);
  const integrities = lines(reused.attachment.integrities, count);
  const remembered = lines(reused.attachment.archives, count);
  if (!ids || !integrities || !remembered) return undefined;
  const expectations: FetchExpectations = new Map();
  const archives: KnownArchives = new Map();
  for (let i = 0; i < count; i++) {
    const id = ids[i]!;
    const integrity = integrities[i]!;
    const archive = remembered[i]!;
    if (id === '' || (archive !== '' && archive.length !== REMEMBERED_LENGTH)) return undefined;
    expectations.set(id, integrity !== '' ? integrity : archive !== '' ? INTEGRITY_IN_FEED : null);
    if (archive !== '') archives.set(id, archive);
  }
  return { report: reused.report, expectations, archives, key: reused.key };
}

/**
 * The stored form of these expectations and archives: a package's sha512 only when no archive is
 * remembered for it (INTEGRITY_IN_FEED); undefined when one cannot be a line, or when a sha512 not
 * carried has no archive to stand beside (nothing is stored then).
 */
export function storedExpectations(expectations: FetchExpectations, archives: KnownArchives): StoredExpectations | undefined {
  const ids: string[] = [];
  const integrities: string[] = [];
  const remembered: string[] = [];
  for (const [id, integrity] of expectations) {
    if (id === '' || id.includes('\n') || integrity === '' || integrity?.includes('\n')) return undefined;
    const archive = (integrity !== null && archives.get(id)) || '';
    // Read back without an archive, an empty line is "nothing to compare".
    if (integrity === INTEGRITY_IN_FEED && archive === '') return undefined;
    ids.push(id);
    integrities.push(archive === '' ? (integrity ?? '') : '');
    remembered.push(archive);
  }
  return { count: ids.length, ids: ids.join('\n'), integrities: integrities.join('\n'), archives: remembered.join('\n') };
}

/** Stores the gate's result with its attachment; a graph whose expectations cannot be stored removes the stored one. */
function store(verdict: VerdictInputs, report: Report, expectations: FetchExpectations, archives: KnownArchives, sameKey?: string): void {
  const stored = storedExpectations(expectations, archives);
  if (stored) storeVerdict(verdict, report, stored, undefined, sameKey);
  else forgetVerdict(verdict.file);
}

/**
 * Stores a passing result when Yarn exits, with the archives its fetch step verified by then (the
 * next install trusts exactly those in Yarn's cache without looking up the machine's records); a
 * block removes the stored one now.
 */
export function storeGate(verdict: VerdictInputs, report: Report, expectations: FetchExpectations, verified: KnownArchives): void {
  if (report.summary.block > 0) {
    forgetVerdict(verdict.file);
    return;
  }
  process.once('exit', () => store(verdict, reprintedPart(report), expectations, verified));
}

/**
 * A reused verdict whose fetch step verified archives it did not remember (stored before they
 * were fetched, or since replaced in Yarn's cache): stored again when Yarn exits, with them, under
 * the key it was reused by.
 */
export function rememberArchives(verdict: VerdictInputs, reused: NonNullable<ReturnType<typeof reuseGate>>, verified: KnownArchives): void {
  process.once('exit', () => {
    let learned = false;
    for (const [id, archive] of verified) if (reused.archives.get(id) !== archive && reused.expectations.get(id)) learned = true;
    if (!learned) return;
    store(verdict, reused.report, reused.expectations, new Map([...reused.archives, ...verified]), reused.key);
  });
}

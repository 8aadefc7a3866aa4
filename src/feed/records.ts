import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse as parseSemver } from 'semver';
import { RecordsError } from '../errors';
import { isObject } from '../json';
import { packageNameProblem } from '../package-name';
import { parseSri } from '../policy/integrity';
import { nestedDeeperThan, TOO_DEEP } from '../nesting';
import type { FeedRecord } from '../types';

/** Where a record came from ("FILE:LINE"), attached by readRecordsFile for build errors. */
export const RECORD_ORIGIN: unique symbol = Symbol.for('provenance-guard.recordOrigin');

const REPOSITORY_STATUSES = new Set(['claimed', 'attested', 'mismatch', 'none']);
const CONTENTS_VERDICTS = new Set(['match', 'built', 'diverged', 'inconclusive']);
const REBUILD_VERDICTS = new Set(['reproducible', 'not-reproducible', 'unknown']);

export { packageNameProblem } from '../package-name';

export function integrityProblem(integrity: unknown): string | undefined {
  if (typeof integrity !== 'string') return 'integrity must be a string';
  if (integrity.trim() === '') return 'integrity is empty';
  if (parseSri(integrity)) return undefined;
  return `integrity ${JSON.stringify(integrity.length > 120 ? integrity.slice(0, 120) + '…' : integrity)} is not a valid SRI string (sha1/sha256/sha384/sha512)`;
}

function scoreProblem(value: unknown, min: number, what: string): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > 10) {
    return `${what} must be a number from ${min} to 10, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

function stringListProblem(value: unknown, what: string): string | undefined {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) return `${what} must be an array of strings`;
  return undefined;
}

/** `contents` as `verify` prints it (SPEC "Source match"). */
export function contentsProblem(contents: unknown): string | undefined {
  if (!isObject(contents)) return 'contents must be an object';
  if (typeof contents.verdict !== 'string' || !CONTENTS_VERDICTS.has(contents.verdict)) {
    return `contents.verdict must be match, built, diverged or inconclusive, got ${JSON.stringify(contents.verdict)}`;
  }
  if (contents.commit !== undefined && (typeof contents.commit !== 'string' || !/^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(contents.commit))) {
    return `contents.commit must be a full hex commit id, got ${JSON.stringify(contents.commit)}`;
  }
  if (contents.commitFrom !== undefined && typeof contents.commitFrom !== 'string') return 'contents.commitFrom must be a string';
  if (contents.reason !== undefined && typeof contents.reason !== 'string') return 'contents.reason must be a string';
  if (contents.files !== undefined) {
    const files = contents.files;
    if (!isObject(files)) return 'contents.files must be an object';
    for (const key of ['identical', 'generated'] as const) {
      if (!Number.isSafeInteger(files[key]) || (files[key] as number) < 0) return `contents.files.${key} must be a whole number`;
    }
    return stringListProblem(files.modified, 'contents.files.modified') ?? stringListProblem(files.added, 'contents.files.added');
  }
  return undefined;
}

/** The first problem with a record, or undefined when it is valid. Unknown fields are allowed. */
export function validateRecord(value: unknown): string | undefined {
  if (!isObject(value)) return 'record must be a JSON object';
  const nameProblem = packageNameProblem(value.name);
  if (nameProblem) return nameProblem;
  const version = value.version;
  if (typeof version !== 'string') return 'version must be a string';
  const parsed = parseSemver(version);
  if (parsed === null) return `version ${JSON.stringify(version)} is not a valid semver version`;
  // semver drops build metadata from `.version`; keep it in the normalized form.
  const valid = parsed.build.length > 0 ? `${parsed.version}+${parsed.build.join('.')}` : parsed.version;
  if (valid !== version) return `version ${JSON.stringify(version)} is not normalized (write ${JSON.stringify(valid)})`;
  if (value.integrity !== undefined) {
    const problem = integrityProblem(value.integrity);
    if (problem) return problem;
  }
  if (value.repository !== undefined) {
    const repo = value.repository;
    if (!isObject(repo)) return 'repository must be an object';
    if (typeof repo.status !== 'string' || !REPOSITORY_STATUSES.has(repo.status)) {
      return `repository.status must be claimed, attested, mismatch or none, got ${JSON.stringify(repo.status)}`;
    }
    if (repo.status === 'none') {
      if (repo.url !== undefined) return 'repository.url must be absent when repository.status is none';
    } else if (typeof repo.url !== 'string' || repo.url === '') return 'repository.url must be a non-empty string';
    if (repo.commit !== undefined && (typeof repo.commit !== 'string' || !/^[0-9a-f]{7,64}$/i.test(repo.commit))) {
      return `repository.commit must be a hex commit id, got ${JSON.stringify(repo.commit)}`;
    }
    if (repo.attestedUrl !== undefined && typeof repo.attestedUrl !== 'string') return 'repository.attestedUrl must be a string';
    if (repo.directory !== undefined && typeof repo.directory !== 'string') return 'repository.directory must be a string';
  }
  if (value.rebuild !== undefined) {
    const rebuild = value.rebuild;
    if (!isObject(rebuild)) return 'rebuild must be an object';
    if (typeof rebuild.verdict !== 'string' || !REBUILD_VERDICTS.has(rebuild.verdict)) {
      return `rebuild.verdict must be reproducible, not-reproducible or unknown, got ${JSON.stringify(rebuild.verdict)}`;
    }
    if (rebuild.source !== undefined && typeof rebuild.source !== 'string') return 'rebuild.source must be a string';
  }
  if (value.contents !== undefined) {
    const problem = contentsProblem(value.contents);
    if (problem) return problem;
  }
  if (value.scorecard !== undefined) {
    const scorecard = value.scorecard;
    if (!isObject(scorecard)) return 'scorecard must be an object';
    const problem = scoreProblem(scorecard.score, 0, 'scorecard.score');
    if (problem) return problem;
    if (scorecard.date !== undefined && typeof scorecard.date !== 'string') return 'scorecard.date must be a string';
    if (scorecard.checks !== undefined) {
      if (!isObject(scorecard.checks)) return 'scorecard.checks must be an object';
      for (const [check, score] of Object.entries(scorecard.checks)) {
        const checkProblem = scoreProblem(score, -1, `scorecard.checks.${check}`);
        if (checkProblem) return checkProblem;
      }
    }
  }
  return undefined;
}

/** Streams and validates an NDJSON records file; blank lines are skipped. */
export async function* readRecordsFile(path: string): AsyncIterable<FeedRecord> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (error) {
    throw new RecordsError(`${path}: cannot read records file: ${(error as Error).message}`, { file: path, cause: error, code: 'ERR_PG_RECORDS_NOT_FOUND' });
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (let line of lines) {
      lineNumber++;
      if (lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new RecordsError(`${path}:${lineNumber}: invalid JSON: ${(error as Error).message}`, { file: path, code: 'ERR_PG_RECORDS_PARSE' });
      }
      const problem = nestedDeeperThan(value) ? `record ${TOO_DEEP}` : validateRecord(value);
      if (problem) throw new RecordsError(`${path}:${lineNumber}: ${problem}`, { file: path, code: 'ERR_PG_RECORDS_INVALID' });
      Object.defineProperty(value, RECORD_ORIGIN, { value: `${path}:${lineNumber}`, enumerable: false });
      yield value as FeedRecord;
    }
  } catch (error) {
    // A read that fails after the open (a folder: EISDIR) names the file, like a failed open.
    if (error instanceof RecordsError) throw error;
    throw new RecordsError(`${path}: cannot read records file: ${(error as Error).message}`, { file: path, cause: error, code: 'ERR_PG_RECORDS_NOT_FOUND' });
  } finally {
    lines.close();
    stream.destroy();
  }
}

export function recordOrigin(record: FeedRecord): string | undefined {
  return (record as { [RECORD_ORIGIN]?: string })[RECORD_ORIGIN];
}

/**
 * Verdict reuse: a check whose lockfile, resolved config and feed are unchanged repeats its
 * last passing report instead of parsing the lockfile, opening the feed and evaluating again.
 *
 * Trust: a stored verdict lets an install through, so it must be as hard to forge as the
 * install it describes. It lives beside that install (node_modules/.provenance-guard/: `check`'s)
 * or in the user's state directory (stateVerdictFile: the pnpm hook's, the Yarn plugin's and the
 * Bun scanner's), and carries an HMAC under a per-user secret from the state directory
 * (machine-secret.ts): a verdict file committed in a pull request or copied from another machine
 * is ignored. Only a report with nothing blocked is ever stored; any
 * other outcome deletes the stored verdict.
 *
 * Invalidation: the key hashes the guard version, the lockfile path and bytes, the resolved
 * config (so PROVENANCE_GUARD_MODE / _OFFLINE and every policy setting), the feed file's signed
 * preamble (serial, dates, index hash, signature) and the UTC day (override expiry is by day).
 * A verdict also ends when the feed expires or turns stale, and is refused when the feed's
 * serial is below the one accepted on this machine (rollback). It is stored only under the feed
 * the process evaluated with (feed/opened.ts): the key reads the feed file's preamble when it is
 * stored, which may come after the file was replaced.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic';
import { configMemoOf, isConfigMemo, type ConfigMemo } from './config/memo';
import type { Config } from './config/types';
import { evaluatedWith } from './feed/opened';
import { machineSecret } from './machine-secret';
import { readPreamble, type Preamble } from './feed/preamble';
import { acceptedFeed } from './feed/state';
import { stateDir as defaultStateDir } from './paths';
import type { Report } from './types';
import { VERSION } from './version';

const STORE_VERSION = 2;
const DAY = 24 * 60 * 60 * 1000;

export interface VerdictInputs {
  /** The file the verdict is kept in (see verdictFileFor). */
  file: string;
  /** Who checks: 'check', 'pnpm', 'yarn'; a verdict of one is never reused by another. */
  scope: string;
  lockfilePath: string;
  /** The lockfile bytes as checked, or their SHA-256 (several files: their parts, in order). */
  lockfile: string | Uint8Array | readonly Uint8Array[];
  config: Config;
  /** The resolved feed file; undefined under `mode: off`. */
  feedPath: string | undefined;
  /** The state directory (paths.ts stateDir): holds the HMAC secret and the accepted feed serials. */
  stateDir: string;
  now: Date;
  /** Anything else the verdict depends on (e.g. the adapter's selection of importers). */
  extra?: string;
}

/**
 * The stored file: the MAC (hex) and a newline; the head (JSON, one line) and a newline; the body
 * (JSON: the report and the attachment); optionally a newline and the output as printed (raw
 * bytes, `printedBytes` long: written out again as they are). The MAC covers everything after
 * it as stored, so a reuse checks it without re-serialising the report, and reads the body only
 * after the head matched.
 */
interface StoredHead {
  version: number;
  key: string;
  storedAt: string;
  validUntil: string;
  /** The config file as validated for this verdict (config/memo.ts), when it was YAML or JSON. */
  config?: ConfigMemo;
  /** The length of the printed output at the end of the file, when there is one. */
  printedBytes?: number;
}

interface StoredBody {
  report: Report;
  /** What the adapter needs besides the report to stand in for its work (covered by the MAC). */
  attachment?: unknown;
}

/** A reused verdict: the stored report, what the adapter attached to it, and the output stored as printed. */
export interface ReusedVerdict {
  report: Report;
  attachment: unknown;
  printed?: Buffer;
  /** The key it was stored under (storeVerdict's `sameKey`). */
  key: string;
}

/** node_modules/.provenance-guard/<scope>-verdict.json of the project, whether node_modules exists yet or not. */
function installVerdictFile(projectDir: string, scope: string): string {
  return join(projectDir, 'node_modules', '.provenance-guard', `${scope}-verdict.json`);
}

/** Where stateVerdictFile keeps verdicts, in the state directory. */
const STATE_VERDICTS = 'verdicts';

/**
 * `verdicts/<scope>-<id>.json` in the state directory, one per project directory (id: the first
 * 128 bits of the SHA-256 of its absolute path). For the install hooks: their verdict describes
 * the lockfile under a config and feed, not what node_modules holds, so an install after
 * `rm -rf node_modules` reuses it; and pnpm 12 ends its hook process without an exit event,
 * before the install it checked has created node_modules, where it could never be stored.
 */
export function stateVerdictFile(stateDir: string, scope: string, projectDir: string): string {
  return join(stateDir, STATE_VERDICTS, `${scope}-${createHash('sha256').update(resolve(projectDir)).digest('hex').slice(0, 32)}.json`);
}

/**
 * Removes the state directory's verdicts not written for two days: a verdict's key holds the UTC
 * day it was stored on, so none of them can be reused. Best effort; storeVerdict runs it after
 * storing one there.
 */
export function pruneStateVerdicts(stateDir: string, now: Date): void {
  const dir = join(stateDir, STATE_VERDICTS);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const file = join(dir, name);
    try {
      if (now.getTime() - statSync(file).mtimeMs > 2 * DAY) rmSync(file, { force: true });
    } catch {
      // removed meanwhile, or not ours to remove
    }
  }
}

/** installVerdictFile, when node_modules exists. */
export function verdictFileFor(projectDir: string, scope: string): string | undefined {
  try {
    if (!statSync(join(projectDir, 'node_modules')).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return installVerdictFile(projectDir, scope);
}

interface Probe {
  key: string;
  validUntil: number;
  feedSerial?: { keyId: string; serial: number };
  /** The feed file's preamble the key names. */
  feed?: Preamble;
}

function probe(inputs: VerdictInputs): Probe {
  const { config, now } = inputs;
  const hash = createHash('sha256');
  const part = (text: string | Uint8Array) => hash.update(String(typeof text === 'string' ? Buffer.byteLength(text) : text.length)).update(':').update(text);
  part(`pg-verdict/${STORE_VERSION}/${VERSION}/${inputs.scope}`);
  part(inputs.lockfilePath);
  if (Array.isArray(inputs.lockfile)) {
    part(String(inputs.lockfile.length));
    for (const chunk of inputs.lockfile as readonly Uint8Array[]) part(chunk);
  } else {
    part(inputs.lockfile as string | Uint8Array);
  }
  part(JSON.stringify(config));
  part(now.toISOString().slice(0, 10));
  part(inputs.extra ?? '');
  let validUntil = Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00Z`) + DAY;
  let feedSerial: Probe['feedSerial'];
  let feed: Preamble | undefined;
  if (inputs.feedPath !== undefined) {
    const preamble = readPreamble(inputs.feedPath);
    part(inputs.feedPath);
    part(preamble.signed);
    part(preamble.signature);
    const { header } = preamble;
    validUntil = Math.min(validUntil, Date.parse(header.expiresAt));
    const staleAt = Date.parse(header.generatedAt) + config.feed.maxAge;
    if (staleAt > now.getTime()) validUntil = Math.min(validUntil, staleAt);
    feedSerial = { keyId: header.keyId, serial: header.serial };
    feed = preamble;
  } else {
    part('no feed');
  }
  return { key: hash.digest('hex'), validUntil, ...(feedSerial ? { feedSerial } : {}), ...(feed ? { feed } : {}) };
}

function macOf(key: Buffer, signed: Uint8Array): Buffer {
  return createHmac('sha256', key).update(signed).digest();
}

function isHead(value: unknown): value is StoredHead {
  const head = value as StoredHead | null;
  return typeof head === 'object' && head !== null && head.version === STORE_VERSION && typeof head.key === 'string' && typeof head.storedAt === 'string' && typeof head.validUntil === 'string'
    && (head.printedBytes === undefined || (Number.isSafeInteger(head.printedBytes) && head.printedBytes >= 0));
}

/** The stored file's parts, when it has the shape of a verdict of this version. */
function readStored(file: string): { mac: Buffer; signed: Buffer; head: StoredHead; body: Buffer; printed?: Buffer } | undefined {
  try {
    const raw = readFileSync(file);
    const macEnd = raw.indexOf(0x0a);
    const headEnd = raw.indexOf(0x0a, macEnd + 1);
    if (macEnd !== 64 || headEnd < 0) return undefined;
    const head: unknown = JSON.parse(raw.toString('utf8', macEnd + 1, headEnd));
    if (!isHead(head)) return undefined;
    const mac = Buffer.from(raw.toString('latin1', 0, macEnd), 'hex');
    if (head.printedBytes === undefined) return { mac, signed: raw.subarray(macEnd + 1), head, body: raw.subarray(headEnd + 1) };
    const bodyEnd = raw.length - head.printedBytes - 1;
    if (bodyEnd <= headEnd || raw[bodyEnd] !== 0x0a) return undefined;
    return { mac, signed: raw.subarray(macEnd + 1), head, body: raw.subarray(headEnd + 1, bodyEnd), printed: raw.subarray(bodyEnd + 1) };
  } catch {
    // missing, unreadable or not ours: nothing to reuse
    return undefined;
  }
}

/** The stored file's parts when its MAC verifies under this user's secret. */
function readAuthentic(file: string, stateDir: string): ReturnType<typeof readStored> {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return undefined;
  }
  // A run reads its verdict file twice (config memo, then the verdict): once is enough while it is unchanged.
  const key = machineSecret(stateDir, false);
  const version = `${file}\u0000${key?.toString('hex')}\u0000${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
  if (lastAuthentic?.version === version) return lastAuthentic.stored;
  const stored = readStored(file);
  const authentic = stored && key && verifies(key, stored) ? stored : undefined;
  lastAuthentic = { version, stored: authentic };
  return authentic;
}

let lastAuthentic: { version: string; stored: ReturnType<typeof readStored> } | undefined;

function verifies(key: Buffer, stored: NonNullable<ReturnType<typeof readStored>>): boolean {
  const expected = macOf(key, stored.signed);
  return stored.mac.length === expected.length && timingSafeEqual(stored.mac, expected);
}

/**
 * The config a stored verdict remembers (config/memo.ts), from an authentic verdict file only;
 * loadConfig uses it when the config file is unchanged. undefined when there is none.
 */
export function storedConfigMemo(file: string | undefined, stateDir: string): ConfigMemo | undefined {
  const memo = file === undefined ? undefined : readAuthentic(file, stateDir)?.head.config;
  return isConfigMemo(memo) ? memo : undefined;
}

/** storedConfigMemo of the verdict file `file` as GuardOptions' field (empty when there is none), for `check` and every adapter. */
export function rememberedConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): { configMemo?: ConfigMemo } {
  const memo = storedConfigMemo(file, defaultStateDir(env));
  return memo ? { configMemo: memo } : {};
}

/**
 * The stored passing report for exactly these inputs, or undefined. Never throws for a missing,
 * foreign, stale or malformed verdict; errors of the inputs themselves (an unreadable feed) do.
 */
export function reuseVerdict(inputs: VerdictInputs): Report | undefined {
  return reuseStoredVerdict(inputs)?.report;
}

/** Like reuseVerdict, with the attachment storeVerdict was given. */
export function reuseStoredVerdict(inputs: VerdictInputs): ReusedVerdict | undefined {
  const stored = readAuthentic(inputs.file, inputs.stateDir);
  if (!stored) return undefined;
  const { head } = stored;
  const now = inputs.now.getTime();
  const current = probe(inputs);
  if (head.key !== current.key) return undefined;
  if (!(now < Date.parse(head.validUntil) && now >= Date.parse(head.storedAt) - 60_000)) return undefined;
  if (current.feedSerial) {
    const accepted = acceptedFeed(inputs.stateDir, current.feedSerial.keyId)?.serial;
    if (accepted !== undefined && current.feedSerial.serial < accepted) return undefined;
  }
  let body: StoredBody;
  try {
    body = JSON.parse(stored.body.toString('utf8')) as StoredBody;
  } catch {
    return undefined;
  }
  if (body?.report?.summary?.block !== 0) return undefined;
  // The config file was edited without changing the config (a comment): remember the new bytes.
  const memo = configMemoOf(inputs.config);
  if (memo && (memo.file !== head.config?.file || memo.sha256 !== head.config?.sha256)) storeVerdict(inputs, body.report, body.attachment, stored.printed);
  return { report: body.report, attachment: body.attachment, ...(stored.printed ? { printed: stored.printed } : {}), key: head.key };
}

/**
 * Stores a report with nothing blocked (and the output as printed, if given); anything else removes
 * the stored verdict. Best effort. `sameKey`: store only while the inputs still have this key (a
 * reused verdict stored again with more attached: not under a feed that replaced its own).
 */
export function storeVerdict(inputs: VerdictInputs, report: Report, attachment?: unknown, printed?: Uint8Array | string, sameKey?: string): void {
  try {
    if (report.summary.block !== 0) {
      forgetVerdict(inputs.file);
      return;
    }
    const key = machineSecret(inputs.stateDir, true);
    if (!key || !existsSync(dirname(dirname(inputs.file)))) return;
    const current = probe(inputs);
    if (sameKey !== undefined && current.key !== sameKey) return;
    // The feed file was replaced after this process evaluated with it: this report is not that feed's verdict.
    if (inputs.feedPath !== undefined && current.feed && !evaluatedWith(inputs.feedPath, current.feed)) {
      forgetVerdict(inputs.file);
      return;
    }
    const memo = configMemoOf(inputs.config);
    const output = printed === undefined ? undefined : Buffer.from(printed);
    const head: StoredHead = { version: STORE_VERSION, key: current.key, storedAt: inputs.now.toISOString(), validUntil: new Date(current.validUntil).toISOString(), ...(memo ? { config: memo } : {}), ...(output ? { printedBytes: output.length } : {}) };
    const body: StoredBody = { report, ...(attachment !== undefined ? { attachment } : {}) };
    const signed = Buffer.concat([Buffer.from(`${JSON.stringify(head)}\n${JSON.stringify(body)}`), ...(output ? [Buffer.from('\n'), output] : [])]);
    writeFileAtomic(inputs.file, Buffer.concat([Buffer.from(`${macOf(key, signed).toString('hex')}\n`), signed]));
    if (dirname(inputs.file) === join(inputs.stateDir, STATE_VERDICTS)) pruneStateVerdicts(inputs.stateDir, inputs.now);
  } catch {
    // Only an optimisation: the next run checks everything again.
    forgetVerdict(inputs.file);
  }
}

/**
 * What an install hook reprints from a reused report: the summary, and the packages that warn or
 * block (a pass prints nothing). Storing only these keeps a 1,000-package verdict small to read.
 */
export function reprintedPart(report: Report): Report {
  return { ...report, packages: report.packages.filter((pkg) => pkg.verdict !== 'pass') };
}

export function forgetVerdict(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // nothing stored, or not ours to remove
  }
}

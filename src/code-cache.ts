/**
 * V8's code cache for the Yarn plugin, the bundle every Yarn command loads, for the executable
 * (dist/cli.cjs), which answers a repeat `check`, and for the pnpmfile's hooks.
 *
 * Every yarn command loads the plugin, runs its factory and, on an install, its gate: V8 compiles
 * each function the first time it is called. Node 20 has no compile cache of its own (22 has), so
 * the build wraps the bundle (scripts/code-cache-wrap.mjs): the wrapper carries the bundle's text
 * in a comment, which V8 skips without parsing, and runs it through `runModulePayload`, which hands
 * V8 the code it compiled in an earlier run: ~8 ms less of each install, ~9 ms less of a repeat
 * check (docs/performance-history.md). The pnpmfile carries only its hooks' implementation that way
 * (wrapLazyPayload): loading it compiles a few small functions, and the first hook call compiles
 * or takes from the cache the rest. The full CLI is not wrapped: measured, a first check compiles
 * what it runs once (scripts/build.mjs).
 *
 * Trust: V8 checks a cache's version and flags, not its code, so a forged cache is code that runs.
 * It lives only in the state directory (never the cache directory a CI restores), beside the
 * machine secret, under an HMAC of that secret over the bundle it was made from: its SHA-256 (from
 * the build, in the wrapper) and the identity of the wrapper file (device, inode, size, times; a
 * file replaced or edited is another file). Anything else is a miss: the bundle compiles as usual,
 * and a new cache is written when the process exits (then it holds every function the run
 * compiled; the pnpmfile's as soon as it may be, writeOnReady). `PROVENANCE_GUARD_CODE_CACHE=0`
 * turns it off; `PROVENANCE_GUARD_TIMING=1` says whether each bundle found its cache.
 *
 * No cache is made where the state directory has no secret yet (a fresh CI machine, which would
 * pay for writing one and never read it), and a run that finds one does not rewrite it, so the
 * run that made it decides which functions it holds: for the Yarn plugin, only a run whose gate
 * ran makes one, for the executable only a run that answered from a stored verdict, for the
 * pnpmfile only an install whose preResolution reused its stored verdict (`untilReady`,
 * code-cache-ready.ts).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script, constants as vmConstants } from 'node:vm';
import { writeFileAtomic } from './atomic';
import { readCacheFile } from './cache-file';
import { CODE_CACHE_READY } from './code-cache-ready';
import { machineSecret } from './machine-secret';
import { stateDir } from './paths';
import { onBun } from './runtime';

export type CodeCacheStatus = 'hit' | 'miss' | 'off';

/** Where a bundle's text is run from: the wrapper module and what it knows of its payload. */
export interface PayloadSite {
  /** What stands for each `*` `/` of the text inside the comment (none when the build found none). */
  endMark?: string;
  /** Make a cache only in a run where the bundle called codeCacheReady (code-cache-ready.ts); else in any run. */
  untilReady?: boolean;
  /**
   * With untilReady: write the cache during the ready call instead of when the process exits:
   * pnpm 12 kills its hook processes, which never see 'exit', often as soon as the last hook
   * returned. Once per bundle and machine, that call takes the ~10 ms of writing it.
   */
  writeOnReady?: boolean;
  /** Names the cache file: one per bundle, replaced when the bundle changes. */
  name: string;
  /** SHA-256 (hex) of the payload text, computed by the build. */
  sha256: string;
  /** The wrapper file (stack traces name it; its identity is part of the key). */
  filename: string;
  /** Where the comment's text starts in the wrapper file (read as a string), and its length: for Bun. */
  payloadAt?: number;
  payloadLength?: number;
  /** The wrapper's own `require`, which the payload uses as its own. */
  require: NodeJS.Require;
  env?: NodeJS.ProcessEnv;
}

interface ModuleLike {
  exports: unknown;
}

const PURPOSE = 'provenance-guard code cache v1\n';

interface CacheSlot {
  /** The bundle's name (PayloadSite.name). */
  name: string;
  file: string;
  secret: Buffer;
  /** Everything the cached code was made from, as one line. */
  header: string;
}

/**
 * The text in the comment that is `carrier`'s whole body: the bundle as a CommonJS module function
 * (the build wraps it), compiled as it is. Function.prototype.toString and slice give a view of the
 * wrapper's source, not a copy; only END_MARKs, where the build left any, make one. Bun transpiles
 * every file it loads and drops its comments, so there the text is read back from the wrapper
 * file, where the build says it lies (the executable can be run by Bun).
 */
function payloadText(carrier: () => void, site: PayloadSite): string {
  let text: string;
  if (onBun() && site.payloadAt !== undefined && site.payloadLength !== undefined) {
    text = readFileSync(site.filename, 'utf8').slice(site.payloadAt, site.payloadAt + site.payloadLength);
  } else {
    const source = Function.prototype.toString.call(carrier);
    text = source.slice(source.indexOf('/*') + 2, source.lastIndexOf('*/'));
  }
  return site.endMark ? text.replaceAll(site.endMark, '*/') : text;
}

/**
 * Runs the CommonJS module whose source is carried by `carrier` (payloadText) as the module
 * `target`, with the compiled code of an earlier run when there is an authentic one. Returns
 * whether there was.
 */
export function runModulePayload(target: ModuleLike, carrier: () => void, site: PayloadSite): CodeCacheStatus {
  const env = site.env ?? process.env;
  const text = payloadText(carrier, site);
  const slot = cacheSlot(site, env);
  const cachedData = slot && readCache(slot);
  const script = new Script(text, {
    filename: site.filename,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const status: CodeCacheStatus = !slot ? 'off' : cachedData && !script.cachedDataRejected ? 'hit' : 'miss';
  if (slot && status === 'miss') {
    const write = () => writeCache(slot, script);
    if (site.untilReady !== true) {
      process.once('exit', write);
    } else {
      let ready = false;
      (globalThis as Record<symbol, unknown>)[CODE_CACHE_READY] = () => {
        if (ready) return;
        ready = true;
        if (site.writeOnReady) write();
        else process.once('exit', write);
      };
    }
  }
  if (env.PROVENANCE_GUARD_TIMING === '1') {
    // To the descriptor: reading process.stderr builds a stream (~4 ms for a pipe) that a pnpm 12 hook process may not need.
    try {
      writeSync(2, `provenance-guard timing: code cache ${site.name} ${status}\n`);
    } catch {
      // a timing line is not worth failing for
    }
  }
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: ModuleLike, filename: string, dirname: string) => void;
  run.call(target.exports, target.exports, site.require, target, site.filename, dirname(site.filename));
  return status;
}

function cacheSlot(site: PayloadSite, env: NodeJS.ProcessEnv): CacheSlot | undefined {
  // Bun is not V8: its compiled code is another format, never read or made here.
  if (env.PROVENANCE_GUARD_CODE_CACHE === '0' || onBun() || !/^[a-z0-9-]+$/.test(site.name)) return undefined;
  try {
    const dir = stateDir(env);
    const secret = machineSecret(dir, false);
    if (!secret) return undefined;
    const s = statSync(site.filename, { bigint: true });
    const identity = [s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(':');
    const header = JSON.stringify({ name: site.name, sha256: site.sha256, file: site.filename, identity, node: process.version, v8: process.versions.v8, arch: process.arch });
    // A file for each place the bundle lives (two projects' Yarn plugins, or executables, would
    // otherwise replace each other's cache at every switch); a new build in that place replaces it.
    const place = createHash('sha256').update(`${site.filename}\u0000${s.dev}:${s.ino}`).digest('hex').slice(0, 16);
    return { name: site.name, file: join(dir, 'code-cache', `${site.name}-${place}.v8`), secret, header };
  } catch {
    return undefined;
  }
}

function macOf(slot: CacheSlot, data: Uint8Array): Buffer {
  return createHmac('sha256', slot.secret).update(PURPOSE).update(slot.header).update('\n').update(data).digest();
}

/** A cache is a few hundred kB; anything far larger is not one. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

/** The stored code when it is this machine's, for exactly this bundle; else undefined. */
function readCache(slot: CacheSlot): Buffer | undefined {
  // Only a regular file of a plausible size: a FIFO in its place must not hang the install.
  const stored = readCacheFile(slot.file, MAX_CACHE_BYTES);
  if (!stored) return undefined;
  // The file: 32 bytes of MAC, the header line, the code.
  const headerEnd = stored.indexOf(0x0a, 32);
  if (headerEnd < 0 || stored.toString('utf8', 32, headerEnd) !== slot.header) return undefined;
  const data = stored.subarray(headerEnd + 1);
  if (!timingSafeEqual(stored.subarray(0, 32), macOf(slot, data))) return undefined;
  return data;
}

function writeCache(slot: CacheSlot, script: Script): void {
  try {
    const data = script.createCachedData();
    writeFileAtomic(slot.file, Buffer.concat([macOf(slot, data), Buffer.from(`${slot.header}\n`), data]), 0o600);
    pruneCaches(slot);
  } catch {
    // A state directory that is not writable: the next run compiles again.
  }
}

/** Caches of one bundle name kept at most (a few hundred kB each): the most recently written. */
const KEPT_PER_NAME = 4;

/** Removes the oldest caches of the slot's bundle beyond KEPT_PER_NAME, and the file of the name alone that earlier builds wrote. */
function pruneCaches({ name, file: kept }: CacheSlot): void {
  const dir = dirname(kept);
  const placed = new RegExp(`^${name}-[0-9a-f]{16}\\.v8$`);
  rmSync(join(dir, `${name}.v8`), { force: true });
  const others = readdirSync(dir).filter((entry) => placed.test(entry) && join(dir, entry) !== kept)
    .map((entry) => ({ path: join(dir, entry), mtime: lstatSync(join(dir, entry)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of others.slice(KEPT_PER_NAME - 1)) rmSync(old.path, { force: true });
}

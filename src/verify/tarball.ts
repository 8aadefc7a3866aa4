/**
 * The published tarball, downloaded through the user's npm configuration (pacote) and checked
 * against its integrity before a byte of it is read, then listed in memory: path → content,
 * with npm's own rule that the first path component (`package/`) is dropped.
 *
 * npm, pnpm and Yarn do not extract every entry alike: npm on Linux keeps a backslash in a name
 * (Windows and pnpm split on it), node-tar keeps `package/` after a leading `/`, pnpm resolves
 * `..` and takes a name without `/` or a hard link's body as a file, Yarn creates symbolic
 * links and normalises `./package/x` to `x`, and a case- or Unicode-insensitive file system
 * keeps one of two names that differ only so. Such an entry is never compared as if it were
 * where we read it: it is listed in `anomalies`, and the comparison is diverged.
 */
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';

export type TarballFiles = Map<string, Buffer> & {
  /** Entries an installer may write elsewhere than (or in place of) where they are listed, described. */
  anomalies?: string[];
};

/** Entry types npm extracts as files. */
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
/** Entry types every installer ignores or only creates as a directory. */
const IGNORED_TYPES = new Set(['Directory', 'GNUDumpDir']);

/** A file path every installer (npm on any OS, pnpm, Yarn) writes at the same place; undefined otherwise. */
export function tarballPath(raw: string): string | undefined {
  const parts = raw.split('/');
  if (parts.length < 2) return undefined;
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) return undefined;
  return parts.slice(1).join('/');
}

/** The name a case- and Unicode-insensitive file system (macOS, Windows) gives `path`. */
function foldedPath(path: string): string {
  return path
    .normalize('NFC')
    .toLowerCase()
    .split('/')
    .map((p) => p.replace(/[. ]+$/, ''))
    .join('/');
}

/** Files whose names collide once folded and whose contents differ: one file on disk, which one is the archive's order. */
function foldCollisions(files: ReadonlyMap<string, Buffer>): string[] {
  const byFolded = new Map<string, string[]>();
  for (const path of files.keys()) {
    const key = foldedPath(path);
    const group = byFolded.get(key);
    if (group) group.push(path);
    else byFolded.set(key, [path]);
  }
  const out: string[] = [];
  for (const paths of byFolded.values()) {
    if (paths.length < 2 || paths.every((p) => files.get(p)!.equals(files.get(paths[0]!)!))) continue;
    for (const p of paths) out.push(`${p} (same file as ${p === paths[0] ? paths[1] : paths[0]} on a case-insensitive file system)`);
  }
  return out;
}

const BLOCK = 512;
/** Anomalies kept (one is enough for the verdict; the rest only name more entries). */
const MAX_ANOMALIES = 1000;

function note(anomalies: string[], text: string): void {
  if (anomalies.length < MAX_ANOMALIES) anomalies.push(text);
}
const USTAR = Buffer.from('ustar\x0000', 'latin1');

/** The parser's state (node-tar keeps it under a private symbol): 'begin' or 'header' before a header block. */
function parserState(parser: Parser): unknown {
  const key = Object.getOwnPropertySymbols(parser).find((k) => k.description === 'state');
  if (!key) throw new Error('cannot follow the tar parser (node-tar changed)');
  return (parser as unknown as Record<symbol, unknown>)[key];
}

/**
 * What in a header block node-tar reads otherwise than pnpm: a prefix field outside ustar
 * (node-tar ignores it, pnpm prepends it), a size that is not plain octal text (node-tar reads
 * GNU base-256 and stops at a NUL, pnpm does neither: it then takes a body for headers or
 * headers for a body).
 */
function headerProblem(block: Buffer): string | undefined {
  if (block.every((b) => b === 0)) return undefined;
  const name = JSON.stringify(block.subarray(0, 100).toString('utf8').replace(/\0.*$/s, ''));
  // pnpm ends the archive at a header whose first byte is 0; node-tar takes a PAX path for it and reads on.
  if (block[0] === 0) return '(a header with an empty name, where pnpm stops reading)';
  // node-tar cuts the field at its first NUL; pnpm skips leading NULs and cuts at a space.
  if (!/^ *[0-7]*[ \0]*$/.test(block.subarray(124, 136).toString('latin1'))) return `${name} (a header whose size is not octal text)`;
  if (!block.subarray(257, 265).equals(USTAR) && block.subarray(345, 500).some((b) => b !== 0)) return `${name} (a prefix field pnpm reads and npm ignores)`;
  return undefined;
}

/**
 * Whether a PAX body reads the same record by record (pnpm: by each record's length) as line by
 * line (node-tar: split at newlines, a line whose length is wrong ignored, values cut at a NUL):
 * every record exact, no newline or NUL inside one, a size in decimal digits.
 */
function strictPax(body: Buffer): boolean {
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(32, at);
    const digits = space > at ? body.subarray(at, space).toString('latin1') : '';
    if (!/^[1-9]\d*$/.test(digits)) return false;
    const end = at + Number(digits);
    if (end > body.length || end <= space + 1 || body[end - 1] !== 10) return false;
    const record = body.subarray(space + 1, end - 1);
    if (record.includes(10) || record.includes(0) || !record.includes(61)) return false;
    // node-tar takes Number(size) ('12abc' is NaN), pnpm parseInt (12).
    const [key, ...value] = record.toString('utf8').split('=');
    if (key === 'size' && !/^\d+$/.test(value.join('='))) return false;
    at = end;
  }
  return true;
}

/** Checks every header block node-tar reads, and the PAX bodies after them, in stream order. */
class HeaderChecker {
  private lastWasMeta = false;
  private pax?: { size: number; blocks: Buffer[]; read: number };

  constructor(private readonly anomalies: string[]) {}

  block(block: Buffer, isHeader: boolean): void {
    if (!isHeader) {
      if (!this.pax) return;
      this.pax.blocks.push(block);
      this.pax.read += block.length;
      if (this.pax.read >= this.pax.size) {
        if (!strictPax(Buffer.concat(this.pax.blocks).subarray(0, this.pax.size))) note(this.anomalies, '(a PAX header npm and pnpm read differently)');
        this.pax = undefined;
      }
      return;
    }
    this.pax = undefined;
    const problem = headerProblem(block);
    if (problem) note(this.anomalies, problem);
    if (block.every((b) => b === 0)) return;
    const type = String.fromCharCode(block[156]!);
    const meta = 'xgLK'.includes(type);
    // pnpm lets each header (a PAX one too) use up a pending long name or PAX path; node-tar merges them.
    if (meta && this.lastWasMeta) note(this.anomalies, '(extended headers one after the other, which npm and pnpm combine differently)');
    this.lastWasMeta = meta;
    if ((type === 'x' || type === 'g') && !problem) {
      const size = parseInt(block.subarray(124, 136).toString('latin1').replace(/\0/g, ' ').trim().split(' ')[0] || '0', 8);
      if (size > 0) this.pax = { size, blocks: [], read: 0 };
    }
  }
}

/**
 * The regular files of a gzipped npm tarball (at most `maxEntries` entries, `maxBytes` of
 * content). The tar stream is handed to node-tar one 512-byte block at a time, so that every
 * block it reads as a header (PAX and long-name headers included) is checked as pnpm would read
 * it (headerProblem); a header node-tar skips and an entry after an empty block, where pnpm
 * stops reading, are anomalies too.
 */
export function listTarball(data: Buffer, maxBytes = 512 * 1024 * 1024, maxEntries = 100_000): Promise<TarballFiles> {
  return new Promise((resolve, reject) => {
    const files: TarballFiles = new Map();
    const anomalies: string[] = [];
    const limits = { total: 0, entries: 0, maxBytes, maxEntries };
    let afterNullBlock = false;
    let failed = false;
    const parser: Parser = new Parser({
      strict: false,
      onwarn: (code: string, message: string) => {
        note(anomalies, `(an entry node-tar skips: ${code} ${message})`);
      },
      onReadEntry: (entry: ReadEntry) => readEntry(entry, { parser, files, anomalies, limits, afterNullBlock }),
    });
    parser.on('nullBlock', () => {
      afterNullBlock = true;
    });
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    parser.on('error', fail);
    parser.on('abort', fail);
    parser.on('end', () => {
      if (failed) return;
      for (const twin of foldCollisions(files)) note(anomalies, twin);
      if (anomalies.length > 0) files.anomalies = anomalies;
      resolve(files);
    });
    const headers = new HeaderChecker(anomalies);
    const write = (block: Buffer): boolean => {
      const state = parserState(parser);
      headers.block(block, state === 'begin' || state === 'header');
      parser.write(block);
      return !failed;
    };
    // Headers, PAX bodies and padding around the content: the whole stream is bounded too.
    inBlocks(data, maxBytes + maxEntries * 4 * BLOCK, write, (rest) => parser.end(rest), fail);
  });
}

interface EntryContext {
  parser: Parser;
  files: TarballFiles;
  anomalies: string[];
  limits: { total: number; entries: number; maxBytes: number; maxEntries: number };
  afterNullBlock: boolean;
}

/** One entry: its content kept under its path, or an anomaly noted. */
function readEntry(entry: ReadEntry, { parser, files, anomalies, limits, afterNullBlock }: EntryContext): void {
  if (++limits.entries > limits.maxEntries) {
    parser.abort(new Error(`the tarball has more than ${limits.maxEntries} entries`));
    return void entry.resume();
  }
  const name = JSON.stringify(entry.path);
  if (afterNullBlock) note(anomalies, `${name} (after an empty block, where pnpm stops reading)`);
  if (IGNORED_TYPES.has(entry.type)) return void entry.resume();
  const path = FILE_TYPES.has(entry.type) ? tarballPath(entry.path) : undefined;
  if (!path) {
    note(anomalies, FILE_TYPES.has(entry.type) ? `${name} (a path installers resolve differently)` : `${name} (a ${entry.type} entry)`);
    return void entry.resume();
  }
  const chunks: Buffer[] = [];
  entry.on('data', (chunk: Buffer) => {
    limits.total += chunk.length;
    if (limits.total > limits.maxBytes) parser.abort(new Error(`the tarball unpacks to more than ${limits.maxBytes} bytes`));
    chunks.push(chunk);
  });
  entry.on('end', () => files.set(path, Buffer.concat(chunks)));
}

/** `data` (gunzipped when it is gzip, at most `maxRead` bytes) handed to `write` 512 bytes at a time until it returns false, the rest to `end`. */
function inBlocks(data: Buffer, maxRead: number, write: (block: Buffer) => boolean, end: (rest: Buffer) => void, fail: (error: Error) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  let read = 0;
  const feed = (chunk: Buffer): boolean => {
    read += chunk.length;
    if (read > maxRead) {
      fail(new Error(`the tarball unpacks to more than ${maxRead} bytes`));
      return false;
    }
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    let going = true;
    for (; going && at + BLOCK <= pending.length; at += BLOCK) going = write(pending.subarray(at, at + BLOCK));
    pending = pending.subarray(at);
    return going;
  };
  if (data[0] !== 0x1f || data[1] !== 0x8b) {
    feed(data);
    return end(pending);
  }
  const gunzip = createGunzip();
  gunzip.on('data', (chunk: Buffer) => {
    if (!feed(chunk)) gunzip.destroy();
  });
  gunzip.on('error', fail);
  gunzip.on('end', () => end(pending));
  gunzip.end(data);
}

type Pacote = typeof import('pacote');

export interface TarballFetchOptions {
  registry: string;
  npmOptions: Record<string, unknown>;
  timeout: number;
  pacoteCache?: string;
}

/** The tarball bytes of name@version, verified by pacote against `integrity`. */
export async function fetchTarball(name: string, version: string, integrity: string, options: TarballFetchOptions): Promise<Buffer> {
  const pacote = require('pacote') as Pacote;
  return pacote.tarball(`${name}@${version}`, {
    ...options.npmOptions,
    registry: options.registry,
    integrity,
    timeout: options.timeout,
    ...(options.pacoteCache ? { cache: options.pacoteCache } : {}),
  } as Parameters<Pacote['tarball']>[1]);
}

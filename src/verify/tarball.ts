/**
 * The published tarball, downloaded through the user's npm configuration (pacote) and checked
 * against its integrity before a byte of it is read, then listed in memory: path → content,
 * with npm's own rule that the first path component (`package/`) is dropped.
 */
import { Parser, type ReadEntry } from 'tar';

export type TarballFiles = Map<string, Buffer>;

/** Entry types npm extracts as files. */
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** Normalises a tar path the way npm extracts it; undefined for anything unsafe or not a file path. */
export function tarballPath(raw: string): string | undefined {
  // node-tar drops leading slashes before npm strips the first component (`package/`).
  const parts = raw.replace(/\\/g, '/').replace(/^\/+/, '').split('/').slice(1).filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..')) return undefined;
  return parts.join('/');
}

/** The regular files of a gzipped npm tarball. */
export function listTarball(data: Buffer, maxBytes = 512 * 1024 * 1024): Promise<TarballFiles> {
  return new Promise((resolve, reject) => {
    const files: TarballFiles = new Map();
    let total = 0;
    const parser = new Parser({
      strict: false,
      onReadEntry: (entry: ReadEntry) => {
        const path = FILE_TYPES.has(entry.type) ? tarballPath(entry.path) : undefined;
        if (!path) return entry.resume();
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > maxBytes) parser.abort(new Error(`the tarball unpacks to more than ${maxBytes} bytes`));
          chunks.push(chunk);
        });
        entry.on('end', () => files.set(path, Buffer.concat(chunks)));
      },
    });
    parser.on('error', reject);
    parser.on('abort', reject);
    parser.on('end', () => resolve(files));
    parser.end(data);
  });
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

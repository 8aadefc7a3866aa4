/** Hand-made tar archives: entries no well-behaved packer writes (raw paths, links, PAX headers, other types). */
import { gzipSync } from 'node:zlib';

export interface RawEntry {
  /** The header's name field, written as is (backslashes, leading `/`, `..` included). */
  path?: string;
  data?: string | Buffer;
  /** Tar type flag: '0' file (default), '1' hard link (with a body when `data` is given), '2' symbolic link, '5' directory, '7' contiguous file. */
  type?: string;
  link?: string;
  /** A PAX extended header ('x') before the entry. */
  pax?: Record<string, string>;
  /** The ustar prefix field (offset 345). */
  prefix?: string;
  /** The magic and version (offset 257, 8 bytes); default ustar's 'ustar\0' '00'. */
  magic?: string;
  badChecksum?: boolean;
  /** The size in GNU base-256 (binary) form, which node-tar reads and an octal-only parser does not. */
  base256Size?: boolean;
  /** A PAX header with this body, as is. */
  paxRaw?: string;
  /** A second PAX header between the first and the entry. */
  pax2?: Record<string, string>;
  /** The PAX header's size in base-256. */
  paxBase256?: boolean;
  /** A block of zeros instead of an entry. */
  empty?: boolean;
}

function octal(n: number, length: number): string {
  return n.toString(8).padStart(length - 1, '0') + '\0';
}

function header(name: string, size: number, type: string, link: string, extra: Pick<RawEntry, 'prefix' | 'magic' | 'badChecksum' | 'base256Size'> = {}): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  if (extra.base256Size) {
    h.fill(0, 124, 136);
    h[124] = 0x80;
    h.writeUInt32BE(size, 132);
  }
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(link, 157, 100, 'utf8');
  h.write(extra.magic ?? 'ustar\u000000', 257, 8, 'latin1');
  if (extra.prefix) h.write(extra.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(extra.badChecksum ? sum + 1 : sum, 7) + ' ', 148);
  return h;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest ? Buffer.concat([data, Buffer.alloc(512 - rest)]) : data;
}

function paxBody(fields: Record<string, string>): Buffer {
  const records = Object.entries(fields).map(([key, value]) => {
    const body = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(body);
    let record = `${length}${body}`;
    while (Buffer.byteLength(record) !== length) {
      length = Buffer.byteLength(record);
      record = `${length}${body}`;
    }
    return record;
  });
  return Buffer.from(records.join(''));
}

/** A gzipped tar of `entries`, in order. */
export function rawTarball(entries: readonly RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.empty) {
      parts.push(Buffer.alloc(512));
      continue;
    }
    if (entry.pax) {
      const body = paxBody(entry.pax);
      parts.push(header('PaxHeader', body.length, 'x', '', { base256Size: entry.paxBase256 }), padded(body));
    }
    if (entry.paxRaw !== undefined) {
      const body = Buffer.from(entry.paxRaw);
      parts.push(header('PaxHeader', body.length, 'x', ''), padded(body));
    }
    if (entry.pax2) {
      const body = paxBody(entry.pax2);
      parts.push(header('PaxHeader', body.length, 'x', ''), padded(body));
    }
    const type = entry.type ?? '0';
    const data = Buffer.from(entry.data ?? '');
    const hasData = type === '0' || type === '7' || (type === '1' && entry.data !== undefined);
    parts.push(header(entry.path ?? '', hasData ? data.length : 0, type, entry.link ?? '', entry));
    if (hasData) parts.push(padded(data));
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

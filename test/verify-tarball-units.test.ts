/**
 * listTarball in process, against the mutants `stryker run --mutate src/verify/tarball.ts` left
 * alive (docs/mutation.md): a hostile first header, PAX records read one way by node-tar and
 * another by pnpm, names one case-insensitive file system keeps as one file, the size limits,
 * and an uncompressed tar. A tarball an installer reads as it is listed has no anomalies.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { listTarball } from '../src/verify/tarball';
import { rawTarball, type RawEntry } from './helpers/raw-tar';

const manifest = JSON.stringify({ name: 'p', version: '1.0.0' });
const withManifest = (entries: RawEntry[]) => rawTarball([{ path: 'package/package.json', data: manifest }, ...entries]);
const PAX_ANOMALY = '(a PAX header npm and pnpm read differently)';

describe('a tarball as installers read it', () => {
  test('has no anomalies, a PAX header on its first entry included', async () => {
    const tarball = await listTarball(rawTarball([{ path: 'package/package.json', data: manifest, pax: { path: 'package/package.json', mtime: '0' } }, { path: 'package/index.js', data: 'x' }]));
    expect(tarball.anomalies).toBeUndefined();
    expect([...tarball.keys()]).toEqual(['package.json', 'index.js']);
  });

  test('uncompressed, it lists the same files', async () => {
    const tarball = await listTarball(gunzipSync(withManifest([{ path: 'package/index.js', data: 'x' }])));
    expect(tarball.anomalies).toBeUndefined();
    expect(tarball.get('index.js')?.toString()).toBe('x');
  });
});

describe('the first header is checked like every other', () => {
  test('a size in base-256 on the first entry', async () => {
    const tarball = await listTarball(rawTarball([{ path: 'package/package.json', data: manifest, base256Size: true }]));
    expect(tarball.anomalies?.join()).toContain('not octal');
  });

  test('a prefix field outside ustar on the first entry; none without a prefix', async () => {
    const gnu = await listTarball(rawTarball([{ path: 'package/package.json', data: manifest, magic: 'ustar  \0', prefix: 'p' }]));
    expect(gnu.anomalies?.join()).toContain('prefix field');
    expect((await listTarball(rawTarball([{ path: 'package/package.json', data: manifest, magic: 'ustar  \0' }]))).anomalies).toBeUndefined();
  });
});

describe('PAX records pnpm reads by their length and node-tar by lines', () => {
  test.each([
    ['a length with a leading zero', '011 a=bcde\n'],
    ['a length that is not the record\'s', '20 comment=x\n'],
    ['a length shorter than its own digits', '2 a=b\n'],
    ['a record without `=`', '11 comment\n'],
    ['a record with a NUL', '13 comment=\u0000x\n'],
    ['a record not ended by a newline', '12 comment=xy'],
    ['a last record not ended by a newline, its length exact', '12 comment=x'],
    ['a length past the end of the body', '30 comment=x'],
    ['no length at all', ' comment=x\n'],
    ['a size with a sign', '11 size=+1\n'],
  ])('%s is an anomaly', async (_, body) => {
    const tarball = await listTarball(withManifest([{ path: 'package/a.js', data: 'a', paxRaw: body }]));
    expect(tarball.anomalies).toContain(PAX_ANOMALY);
  });

  test('exact records are not, two in one header included, and a body longer than a block', async () => {
    for (const body of ['13 comment=x\n14 comment=xy\n', '9 size=1\n', `${'x'.repeat(600).length + 13} comment=${'x'.repeat(600)}\n`]) {
      const tarball = await listTarball(withManifest([{ path: 'package/a.js', data: 'a', paxRaw: body }]));
      expect(tarball.anomalies).toBeUndefined();
    }
    const twelve = await listTarball(withManifest([{ path: 'package/a.js', data: 'x'.repeat(12), paxRaw: '11 size=12\n' }]));
    expect(twelve.anomalies).toBeUndefined();
    expect(twelve.get('a.js')?.length).toBe(12);
  });

  test('a body that fills its blocks exactly is checked too', async () => {
    const body = `511 comment=${'x'.repeat(499)}\n`;
    expect(body.length).toBe(512);
    expect((await listTarball(withManifest([{ path: 'package/a.js', data: 'a', paxRaw: body }]))).anomalies).toContain(PAX_ANOMALY);
  });
});

test('a header in the last block of an archive without its end blocks is checked', async () => {
  const tar = gunzipSync(withManifest([{ path: 'package/a.js', data: '', base256Size: true }]));
  const cut = tar.subarray(0, tar.length - 1024);
  expect(cut.length % 512).toBe(0);
  expect((await listTarball(cut)).anomalies?.join()).toContain('not octal');
});

describe('names one file on a case-insensitive file system', () => {
  test('with different contents: both named; with the same contents: nothing', async () => {
    const twins = await listTarball(withManifest([{ path: 'package/README.md', data: 'a' }, { path: 'package/readme.md', data: 'b' }]));
    expect(twins.anomalies).toEqual(['README.md (same file as readme.md on a case-insensitive file system)', 'readme.md (same file as README.md on a case-insensitive file system)']);
    expect((await listTarball(withManifest([{ path: 'package/README.md', data: 'a' }, { path: 'package/readme.md', data: 'a' }]))).anomalies).toBeUndefined();
  });

  test('trailing dots and spaces, and Unicode forms', async () => {
    const dots = await listTarball(withManifest([{ path: 'package/index.js', data: 'a' }, { path: 'package/index.js. .', data: 'b' }]));
    expect(dots.anomalies).toHaveLength(2);
    const forms = await listTarball(withManifest([{ path: 'package/caf\u00e9.js', data: 'a' }, { path: 'package/cafe\u0301.js', data: 'b' }]));
    expect(forms.anomalies).toHaveLength(2);
  });
});

describe('limits', () => {
  test('content over maxBytes is refused; exactly maxBytes is read', async () => {
    const data = withManifest([{ path: 'package/a.js', data: 'x'.repeat(100) }]);
    const max = manifest.length + 100;
    await expect(listTarball(data, max - 1)).rejects.toThrow(`the tarball unpacks to more than ${max - 1} bytes`);
    expect((await listTarball(data, max)).get('a.js')?.length).toBe(100);
  });

  test('more entries than maxEntries are refused', async () => {
    const data = withManifest([{ path: 'package/a.js', data: 'a' }, { path: 'package/b.js', data: 'b' }]);
    await expect(listTarball(data, 1024, 2)).rejects.toThrow('the tarball has more than 2 entries');
    expect((await listTarball(data, 1024, 3)).size).toBe(3);
  });
});

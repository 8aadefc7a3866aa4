/** bun.lock (Bun's text lockfile, JSONC) → ResolvedPackage[], and its place among the lockfiles `check` reads. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { detectLockfile, readLockfile } from '../src/lockfile/index';
import { packagesFromBunLock, parseBunLockText, stripJsonc } from '../src/lockfile/bun';
import { LockfileError } from '../src/errors';
import { bunRegistriesFor } from '../src/lockfile/registries';
import { BUN_BIN } from './helpers/bun';

const SRI = 'sha512-' + Buffer.alloc(64, 7).toString('base64');
const LOCK = `{
  // Bun writes trailing commas; comments are allowed too
  "lockfileVersion": 1,
  "workspaces": {
    "": { "name": "app", "dependencies": { "a": "^1.0.0", "innocent": "npm:@s/real@2.0.0" } },
    "packages/w": { "name": "w" },
  },
  "packages": {
    "a": ["a@1.2.3", "", { "dependencies": { "b": "^1" } }, "${SRI}"],
    "b": ["b@1.0.0", "https://registry.npmjs.org/b/-/b-1.0.0.tgz", {}, "${SRI}"],
    "evil": ["evil@1.0.0", "https://evil.example/x.tgz", {}, "${SRI}"],
    "innocent": ["@s/real@2.0.0", "", {}, "${SRI}"],
    "a/b": ["b@2.0.0", "", {}, "${SRI}"],
    "@s/nested/@t/dep": ["@t/dep@3.0.0", "", {}, "${SRI}"],
    "g": ["g@github:o/g#abc123", {}, "o-g-abc123"],
    "gh": ["gh@git+https://example.com/gh.git#def", { "version": "0.4.0" }, "def"],
    "tb": ["tb@https://example.com/tb-1.0.0.tgz", {}, "${SRI}"],
    "loc": ["loc@file:../loc", {}],
    "w": ["w@workspace:packages/w"],
    "l": ["l@link:../outside"],
  },
}
`;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('bun.lock', () => {
  test('every kind of entry, under the real name', () => {
    const pkgs = packagesFromBunLock(parseBunLockText(LOCK, 'bun.lock'), '/p', 'bun.lock');
    const by = (name: string, version?: string) => pkgs.find((p) => p.name === name && (version === undefined || p.version === version));
    expect(by('a')).toEqual({ name: 'a', version: '1.2.3', source: 'registry', integrity: SRI });
    expect(by('b', '1.0.0')).toEqual({ name: 'b', version: '1.0.0', source: 'registry', integrity: SRI });
    expect(by('b', '2.0.0')?.source).toBe('registry');
    expect(by('evil')).toMatchObject({ source: 'tarball', resolved: 'https://evil.example/x.tgz' });
    expect(by('@s/real')).toEqual({ name: '@s/real', version: '2.0.0', source: 'registry', integrity: SRI, alias: 'innocent' });
    expect(by('@t/dep')?.alias).toBeUndefined();
    expect(by('g')).toMatchObject({ source: 'git', resolved: 'github:o/g#abc123' });
    expect(by('gh')).toMatchObject({ source: 'git', version: '0.4.0' });
    expect(by('tb')).toMatchObject({ source: 'tarball', resolved: 'https://example.com/tb-1.0.0.tgz' });
    expect(by('tb')?.integrity).toBeUndefined();
    expect(by('loc')).toMatchObject({ source: 'file', resolved: '../loc' });
    expect(by('w')?.source).toBe('workspace');
    expect(by('l')?.source).toBe('link');
  });

  test('JSONC: comments and trailing commas outside strings only', () => {
    expect(JSON.parse(stripJsonc('{ "a": "x // y, }", /* c */ "b": [1, 2,], }'))).toEqual({ a: 'x // y, }', b: [1, 2] });
    expect(JSON.parse(stripJsonc('{ "a": "q\\"//,]" , }'))).toEqual({ a: 'q"//,]' });
  });

  test('malformed: a LockfileError naming the file and the line', () => {
    let error: unknown;
    try {
      parseBunLockText('{\n  "lockfileVersion": 1,\n  "packages": { "a": [ }\n}', 'bun.lock');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LockfileError);
    expect((error as LockfileError).code).toBe('ERR_PG_LOCKFILE_PARSE');
    expect((error as Error).message).toMatch(/bun\.lock: invalid JSONC at line 3/);
    expect(() => packagesFromBunLock({ lockfileVersion: 9, packages: {} }, '/p', 'bun.lock')).toThrow(LockfileError);
    expect(() => packagesFromBunLock({ lockfileVersion: 1, packages: { a: 'a@1.0.0' } }, '/p', 'bun.lock')).toThrow(LockfileError);
    expect(() => packagesFromBunLock({ lockfileVersion: 1, packages: { a: ['nameonly'] } }, '/p', 'bun.lock')).toThrow(LockfileError);
  });

  test('detected and read by name, like the other lockfiles', () => {
    dir = mkdtempSync(join(tmpdir(), 'pg-bunlock-'));
    writeFileSync(join(dir, 'bun.lock'), LOCK);
    expect(detectLockfile(dir)).toEqual({ path: join(dir, 'bun.lock'), kind: 'bun' });
    expect(readLockfile(join(dir, 'bun.lock')).length).toBe(12);
  });
});

describe('registry identity of bun.lock entries', () => {
  const MIRROR_LOCK = `{
  "lockfileVersion": 1,
  "workspaces": { "": { "name": "app", "dependencies": { "m": "^1.0.0" } } },
  "packages": {
    "m": ["m@1.0.0", "http://127.0.0.1:4873/m/-/m-1.0.0.tgz", {}, "${SRI}"],
  },
}
`;

  test("a tarball from bunfig.toml's registry is the registry; the same URL without that setting is a tarball source", async () => {
    dir = mkdtempSync(join(tmpdir(), 'pg-bun-registry-'));
    writeFileSync(join(dir, 'bun.lock'), MIRROR_LOCK);
    expect(readLockfile(join(dir, 'bun.lock'), undefined, { env: { HOME: dir } })[0]).toMatchObject({ name: 'm', source: 'tarball' });
    writeFileSync(join(dir, 'bunfig.toml'), '[install]\nregistry = "http://127.0.0.1:4873/"\n');
    expect(readLockfile(join(dir, 'bun.lock'), undefined, { env: { HOME: dir } })[0]).toMatchObject({ name: 'm', source: 'registry', integrity: SRI });
    // The Bun scanner takes the integrity Bun verifies against from bun.lock, without asking the registry.
    const { lockedIntegrities } = await import('../plugins/bun/packages');
    expect(lockedIntegrities(dir, bunRegistriesFor(dir, { HOME: dir })).get('m@1.0.0')).toEqual([{ tarball: 'http://127.0.0.1:4873/m/-/m-1.0.0.tgz', integrity: SRI }]);
  });
});

describe("Bun's registries and credentials (one module for check and the scanner)", () => {
  test('real Bun parses bunfig.toml: its registry and scopes over .npmrc, its token first, else .npmrc credentials', () => {
    dir = mkdtempSync(join(tmpdir(), 'pg-bun-config-'));
    writeFileSync(join(dir, 'package.json'), '{"name":"app"}');
    writeFileSync(join(dir, 'bunfig.toml'), '[install]\nregistry = { url = "http://127.0.0.1:4873", token = "bunfig-token" }\n\n[install.scopes]\nacme = "http://127.0.0.1:4874/acme/"\n');
    writeFileSync(join(dir, '.npmrc'), 'registry=http://127.0.0.1:9999/\n@npm-only:registry=http://127.0.0.1:4875/\n//127.0.0.1:4874/acme/:_authToken=npmrc-token\n');
    const script = `const { bunRegistryConfig } = require(${JSON.stringify(join(__dirname, '../src/lockfile/registries.ts'))});
const c = bunRegistryConfig(${JSON.stringify(dir)}, { HOME: ${JSON.stringify(dir)} });
console.log(JSON.stringify({ registries: c.registries, auth: ['http://127.0.0.1:4873/', 'http://127.0.0.1:4874/acme/', 'http://127.0.0.1:4876/'].map((u) => c.authorization(u) ?? null) }));`;
    const out = JSON.parse(execFileSync(BUN_BIN, ['-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } }));
    expect(out.registries).toEqual({ default: 'http://127.0.0.1:4873/', scopes: { '@npm-only': 'http://127.0.0.1:4875/', '@acme': 'http://127.0.0.1:4874/acme/' } });
    expect(out.auth).toEqual(['Bearer bunfig-token', 'Bearer npmrc-token', null]);
  });
});

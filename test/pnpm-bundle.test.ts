/** The built pnpm bundle and the config dependency package laid out next to it. */
import { execFileSync, spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildFeed } from '../src/feed/build';
import { generateKeyPair } from '../src/feed/keys';
import { ensurePnpmBundle, PNPM_BUNDLE, PNPM_CONFIG_DEPENDENCY_DIR } from './helpers/pm';

beforeAll(async () => {
  await ensurePnpmBundle();
}, 60_000);

test('the bundle requires nothing but node builtins', () => {
  const text = readFileSync(PNPM_BUNDLE, 'utf8');
  const required = [...text.matchAll(/\w*require\("([^"]+)"\)/g)].map((m) => m[1]!);
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  expect(required.filter((m) => !builtins.has(m))).toEqual([]);
  expect(text).not.toMatch(/require\("(pacote|sigstore|@sigstore\/[^"]+|typescript)"\)/);
});

test('the bundle loads outside any node_modules and exports the hooks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-bundle-'));
  const out = execFileSync(process.execPath, ['-e', `const m = require(${JSON.stringify(PNPM_BUNDLE)}); console.log(Object.keys(m.hooks).sort().join(','))`], { cwd: dir, encoding: 'utf8' });
  expect(out.trim()).toBe('afterAllResolved,preResolution,readPackage,updateConfig');
});

test('the config dependency is publishable: the bundle as pnpmfile.cjs, no dependencies or scripts, our version', () => {
  const manifest = JSON.parse(readFileSync(join(PNPM_CONFIG_DEPENDENCY_DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
  const root = JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string };
  expect(manifest.name).toBe('pnpm-plugin-provenance-guard');
  expect(manifest.version).toBe(root.version);
  expect(manifest).not.toHaveProperty('dependencies');
  expect(manifest).not.toHaveProperty('scripts');
  expect(readFileSync(join(PNPM_CONFIG_DEPENDENCY_DIR, 'pnpmfile.cjs'))).toEqual(readFileSync(PNPM_BUNDLE));
});

test('online evidence without pacote in the project: a clear message, the package stays unknown and blocks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pg-bundle-online-'));
  const keys = generateKeyPair(join(dir, 'keys'));
  const feed = (await buildFeed({ records: [{ name: 'other', version: '1.0.0' }], privateKeyPath: keys.privateKeyPath, out: join(dir, 'x.feed') })).path;
  writeFileSync(join(dir, '.provenancerc'), [
    'mode: block', 'online: true', `feed: { source: ${JSON.stringify(feed)}, publicKeys: [${JSON.stringify(keys.publicKey)}], maxAge: 30d }`,
    'sources:', '  registry: { enabled: true, url: "http://127.0.0.1:9" }', '  provenance: { enabled: false }', '  depsDev: { enabled: false }',
    '  scorecard: { enabled: false }', '  ossRebuild: { enabled: false }', 'unknown: block', ''].join('\n'));
  const script = `
    const { hooks } = require(${JSON.stringify(PNPM_BUNDLE)});
    (async () => {
      await hooks.readPackage({ name: 'x', version: '1.0.0', dependencies: { 'not-in-feed': '1.0.0' } });
      const lock = { lockfileVersion: '9.0', importers: { '.': { specifiers: {}, dependencies: { 'not-in-feed': '1.0.0' } } },
        packages: { 'not-in-feed@1.0.0': { resolution: { integrity: 'sha512-' + 'A'.repeat(86) + '==' } } } };
      await hooks.preResolution({ wantedLockfile: lock, lockfileDir: process.cwd() });
    })().then(() => console.log('PASSED'), (e) => console.log('BLOCKED ' + e.code));`;
  const run = spawnSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, PROVENANCE_GUARD_CACHE_DIR: join(dir, 'cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, 'cache', 'state') }, timeout: 30_000 });
  expect(run.stdout.trim()).toBe('BLOCKED ERR_PNPM_PROVENANCE_BLOCKED');
  expect(run.stderr).toContain('"pacote" is needed for live evidence');
});

describe('pnpm 12 hook process (node -e): readPackage before preResolution answers at once', () => {
  // The hooks' implementation (~900 kB, from its code cache) loads after the answer, while pnpm
  // reads its lockfile; the next hook call waits for the manifests to be noted. Whether it ran: the
  // line the code cache writes for it under PROVENANCE_GUARD_TIMING (src/code-cache.ts).
  const run = (body: string, config: object = { mode: 'off' }) => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-bundle-defer-'));
    writeFileSync(join(dir, '.provenancerc.json'), JSON.stringify(config));
    const script = `const { hooks } = require(${JSON.stringify(PNPM_BUNDLE)}); const fs = require('node:fs'); const write = fs.writeSync; let ran = false; fs.writeSync = (fd, text, ...rest) => { if (fd === 2 && /code cache pnpmfile/.test(String(text))) ran = true; return write(fd, text, ...rest); }; const loaded = () => ran; (async () => { ${body} })().catch((error) => { console.log('failed: ' + error.message); });`;
    return spawnSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH, HOME: dir, PROVENANCE_GUARD_STATE_DIR: join(dir, 'state'), PROVENANCE_GUARD_CACHE_DIR: join(dir, 'cache'), PROVENANCE_GUARD_TIMING: '1' } });
  };

  test('the manifest comes back unchanged before the implementation has loaded; it loads in the background', () => {
    const out = run(`const manifest = { name: 'root', version: '1.0.0', dependencies: { a: '1.0.0' } };
      const answer = await hooks.readPackage(manifest, {});
      console.log(answer === manifest, loaded());
      for (let i = 0; i < 200 && !loaded(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      console.log(loaded());
      await hooks.preResolution({ lockfileDir: process.cwd() });
      console.log('preResolution');`);
    expect(out.stdout, out.stderr).toBe('true false\ntrue\npreResolution\n');
  });

  test('a manifest that cannot be noted fails the next hook call with its error', () => {
    const out = run(`const manifest = { version: '1.0.0', get name() { throw new Error('unreadable manifest'); } };
      await hooks.readPackage(manifest, {});
      console.log('answered');
      await hooks.preResolution({ lockfileDir: process.cwd() });
      console.log('preResolution');`);
    expect(out.stdout, out.stderr).toBe('answered\nfailed: unreadable manifest\n');
  });

  test('after preResolution, readPackage is the implementation\'s: a dependency is checked, not waved through', () => {
    // mode block and a feed that is not there: every check fails closed.
    const out = run(`await hooks.preResolution({ lockfileDir: process.cwd() }).catch(() => console.log('preResolution refused'));
      await hooks.readPackage({ name: 'dep', version: '1.0.0', dist: { tarball: 'https://registry.npmjs.org/dep/-/dep-1.0.0.tgz' } }, {})
        .then(() => console.log('dep answered'), (error) => console.log('dep refused: ' + error.code));`, { mode: 'block', feed: { path: 'missing.feed' } });
    expect(out.stdout, out.stderr).toBe('preResolution refused\ndep refused: ERR_PNPM_PROVENANCE_GUARD\n');
  });
});

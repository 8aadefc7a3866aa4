/**
 * src/code-cache.ts through the wrapper the build makes (scripts/code-cache-wrap.mjs), run by real
 * Node processes: V8 itself accepts or refuses the cached code. A cache is a forgery target (V8
 * runs the code in it without checking it against the source), so each test here is a way one
 * could be used for the wrong bundle.
 */
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
// @ts-expect-error: a build script (JavaScript, no types)
import { wrapLazyPayload, wrapWithCodeCache } from '../scripts/code-cache-wrap.mjs';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-code-cache-');

interface Setup {
  dir: string;
  state: string;
  wrapper: string;
  readonly cacheFile: string;
}

/** A wrapper of `payload` (a CommonJS module) and a state directory with a machine secret. */
async function setup(payload: string, name = 'probe', secret = true, options: { untilReady?: boolean } = {}): Promise<Setup> {
  const dir = tempDir();
  const state = join(dir, 'state');
  mkdirSync(state, { recursive: true, mode: 0o700 });
  if (secret) writeFileSync(join(state, 'machine.key'), randomBytes(32), { mode: 0o600 });
  const wrapper = join(dir, `${name}.cjs`);
  writeFileSync(wrapper, payload);
  await wrapWithCodeCache(wrapper, name, options);
  return {
    dir, state, wrapper,
    // Named after the place the bundle lives: the one file of this name, once made.
    get cacheFile() {
      return cacheFiles(state, name)[0] ?? join(state, 'code-cache', `${name}-none.v8`);
    },
  };
}

/** The cache files of bundle `name` in a state directory. */
function cacheFiles(state: string, name: string): string[] {
  const dir = join(state, 'code-cache');
  return existsSync(dir) ? readdirSync(dir).filter((f) => new RegExp(`^${name}-[0-9a-f]{16}\\.v8$`).test(f)).map((f) => join(dir, f)) : [];
}

function run(s: Setup, env: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []): { out: string; status: string | undefined } {
  const r = spawnSync(process.execPath, [...nodeFlags, s.wrapper], {
    timeout: 20_000,
    cwd: s.dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: s.dir, PROVENANCE_GUARD_STATE_DIR: s.state, PROVENANCE_GUARD_TIMING: '1', ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return { out: r.stdout, status: /code cache \S+ (hit|miss|off)/.exec(r.stderr)?.[1] };
}

/** A state directory in `dir` with a machine secret (caches are made and read only where there is one). */
function stateWithSecret(dir: string): string {
  const state = join(dir, 'state');
  mkdirSync(state, { recursive: true, mode: 0o700 });
  writeFileSync(join(state, 'machine.key'), randomBytes(32), { mode: 0o600 });
  return state;
}

// Two payloads of the same length: V8 checks a cache against its source's length only.
const PAYLOAD_A = 'module.exports = 1; function say() { return "AAAA"; } console.log(say());\n';
const PAYLOAD_B = 'module.exports = 1; function say() { return "BBBB"; } console.log(say());\n';

describe('code cache of the guard bundles', () => {
  test('the second run compiles from the first run\'s code, which is kept 0600 in the state directory', async () => {
    const s = await setup(PAYLOAD_A);
    expect(run(s)).toEqual({ out: 'AAAA\n', status: 'miss' });
    expect(statSync(s.cacheFile).mode & 0o777).toBe(0o600);
    expect(run(s)).toEqual({ out: 'AAAA\n', status: 'hit' });
    expect(run(s)).toEqual({ out: 'AAAA\n', status: 'hit' });
  });

  test('without a machine secret (a fresh CI state directory) nothing is cached, nor made', async () => {
    const s = await setup(PAYLOAD_A, 'probe', false);
    expect(run(s)).toEqual({ out: 'AAAA\n', status: 'off' });
    expect(existsSync(join(s.state, 'code-cache'))).toBe(false);
    expect(existsSync(join(s.state, 'machine.key'))).toBe(false);
  });

  test('PROVENANCE_GUARD_CODE_CACHE=0 turns it off', async () => {
    const s = await setup(PAYLOAD_A);
    expect(run(s, { PROVENANCE_GUARD_CODE_CACHE: '0' })).toEqual({ out: 'AAAA\n', status: 'off' });
    expect(existsSync(s.cacheFile)).toBe(false);
  });

  test('another bundle at the same path never runs the code cached for the first', async () => {
    const s = await setup(PAYLOAD_A);
    run(s);
    expect(run(s).status).toBe('hit');
    writeFileSync(s.wrapper, PAYLOAD_B);
    await wrapWithCodeCache(s.wrapper, 'probe');
    expect(run(s)).toEqual({ out: 'BBBB\n', status: 'miss' });
    expect(run(s)).toEqual({ out: 'BBBB\n', status: 'hit' });
  });

  test('a wrapper edited by hand (its build hash unchanged) is another file: its cache is not used', async () => {
    const s = await setup(PAYLOAD_A);
    run(s);
    expect(run(s).status).toBe('hit');
    writeFileSync(s.wrapper, readFileSync(s.wrapper, 'utf8').replace('"AAAA"', '"BBBB"'));
    expect(run(s)).toEqual({ out: 'BBBB\n', status: 'miss' });
  });

  test('a cache not made under this machine\'s secret is refused, even one that names this bundle, and is replaced', async () => {
    const a = await setup(PAYLOAD_A);
    run(a);
    const b = await setup(PAYLOAD_B);
    run(b);
    // B's own file (its header, so the name, hash and identity are right) with A's code in it,
    // signed under another key: what someone without this machine's secret could write.
    const stored = readFileSync(b.cacheFile);
    const headerEnd = stored.indexOf(0x0a, 32);
    const header = stored.subarray(32, headerEnd);
    const aStored = readFileSync(a.cacheFile);
    const foreignCode = aStored.subarray(aStored.indexOf(0x0a, 32) + 1);
    const otherKey = randomBytes(32);
    const mac = createHmac('sha256', otherKey).update('provenance-guard code cache v1\n').update(header).update('\n').update(foreignCode).digest();
    writeFileSync(b.cacheFile, Buffer.concat([mac, header, Buffer.from('\n'), foreignCode]));
    expect(run(b)).toEqual({ out: 'BBBB\n', status: 'miss' });
    expect(run(b)).toEqual({ out: 'BBBB\n', status: 'hit' });
    // And a flipped byte in its own code is refused too.
    const own = readFileSync(b.cacheFile);
    own[own.length - 1] ^= 0xff;
    writeFileSync(b.cacheFile, own);
    expect(run(b)).toEqual({ out: 'BBBB\n', status: 'miss' });
  });

  test('code V8 refuses (made under other V8 flags) is a miss, and is made again under the flags of the run', async () => {
    const s = await setup(PAYLOAD_A);
    run(s);
    const flags = ['--no-flush-bytecode'];
    expect(run(s, {}, flags)).toEqual({ out: 'AAAA\n', status: 'miss' });
    expect(run(s, {}, flags)).toEqual({ out: 'AAAA\n', status: 'hit' });
  });

  test('a bundle holding */ runs as it was built (the comment that carries it escapes them)', async () => {
    const payload = 'const s = "x*/y"; const r = /a*/g; /* a comment */ console.log(JSON.stringify([s, r.source, "*<pg>/"]));\n';
    const s = await setup(payload);
    const expected = `${JSON.stringify(['x*/y', 'a*', '*<pg>/'])}\n`;
    expect(run(s).out).toBe(expected);
    expect(run(s)).toEqual({ out: expected, status: 'hit' });
  });

  test('a bundle that waits until it is ready (the Yarn plugin: its gate ran) is cached only by a run that got there', async () => {
    const payload = 'console.log("run"); if (process.env.READY) globalThis[Symbol.for("provenance-guard.code-cache.ready")]();\n';
    const s = await setup(payload, 'probe', true, { untilReady: true });
    expect(run(s)).toEqual({ out: 'run\n', status: 'miss' });
    expect(existsSync(s.cacheFile)).toBe(false);
    expect(run(s, { READY: '1' })).toEqual({ out: 'run\n', status: 'miss' });
    expect(run(s)).toEqual({ out: 'run\n', status: 'hit' });
  });

  test('the wrapper says where its comment lies in the file: the bundle, as Bun reads it back (Bun drops comments)', async () => {
    const payload = 'module.exports = 1; const s = "héllo */ wörld"; console.log(s);\n';
    const s = await setup(payload, 'offsets');
    const file = readFileSync(s.wrapper, 'utf8');
    const at = Number(/payloadAt: (\d+)/.exec(file)?.[1]);
    const length = Number(/payloadLength: (\d+)/.exec(file)?.[1]);
    expect(file.slice(at, at + length).replaceAll('*<pg-comment-end>/', '*/')).toBe(`(function (exports, require, module, __filename, __dirname) {${payload}\n})`);
    expect(run(s).out).toBe('héllo */ wörld\n');
  });

  test('copies of a bundle in several places keep a cache each (no miss at every switch), at most four: the oldest go', async () => {
    const dir = tempDir();
    const state = stateWithSecret(dir);
    mkdirSync(join(state, 'code-cache'), { mode: 0o700 });
    // What earlier builds wrote: one file for the name alone.
    writeFileSync(join(state, 'code-cache', 'probe.v8'), 'old');
    const places = await Promise.all([0, 1, 2, 3, 4].map(async (i) => {
      mkdirSync(join(dir, `p${i}`));
      const wrapper = join(dir, `p${i}`, 'probe.cjs');
      writeFileSync(wrapper, PAYLOAD_A);
      await wrapWithCodeCache(wrapper, 'probe');
      return { dir: join(dir, `p${i}`), state, wrapper, cacheFile: '' };
    }));
    expect(run(places[0]!).status).toBe('miss');
    expect(run(places[1]!).status).toBe('miss');
    expect([run(places[0]!).status, run(places[1]!).status, run(places[0]!).status]).toEqual(['hit', 'hit', 'hit']);
    expect(existsSync(join(state, 'code-cache', 'probe.v8'))).toBe(false);
    for (const place of places.slice(2)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(run(place).status).toBe('miss');
    }
    expect(cacheFiles(state, 'probe')).toHaveLength(4);
    // places[0] was written first: its cache went; the others are kept.
    expect(run(places[0]!).status).toBe('miss');
    expect(run(places[4]!).status).toBe('hit');
  });

  test('a FIFO in place of the cache does not hang the run: it is no cache', async () => {
    const s = await setup(PAYLOAD_A);
    run(s);
    const file = s.cacheFile;
    rmSync(file);
    expect(spawnSync('mkfifo', [file]).status).toBe(0);
    expect(run(s)).toEqual({ out: 'AAAA\n', status: 'miss' });
  });

  test('a state directory it cannot write in costs a compile each run, nothing else', async () => {
    const s = await setup(PAYLOAD_A);
    writeFileSync(join(s.state, 'code-cache'), 'not a directory');
    expect(run(s)).toEqual({ out: 'AAAA\n', status: 'miss' });
    expect(run(s)).toEqual({ out: 'AAAA\n', status: 'miss' });
  });

  test('a lazy payload (the pnpmfile\'s hooks) is neither compiled nor run when its file loads; its first use runs it, cached as soon as it is ready', async () => {
    const dir = tempDir();
    const state = stateWithSecret(dir);
    const wrapper = join(dir, 'lazy.cjs');
    const payloadText = 'console.log("payload ran"); module.exports = { answer: () => 42 }; if (process.env.READY) globalThis[Symbol.for("provenance-guard.code-cache.ready")]();\n';
    await wrapLazyPayload(wrapper, { outerText: 'let got; module.exports = { use: () => (got ??= __pgProbe()).answer() };\n', payloadText, name: 'lazy', globalName: '__pgProbe', untilReady: true, writeOnReady: true });
    // pnpm 12 kills its hook processes: no 'exit' event, so a cache written at exit would never be.
    const script = `const m = require(${JSON.stringify(wrapper)}); console.log("loaded"); if (process.env.USE) console.log(m.use()); setTimeout(() => process.kill(process.pid, "SIGKILL"), 300);`;
    const load = (env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, ['-e', script], { timeout: 20_000, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, PROVENANCE_GUARD_STATE_DIR: state, PROVENANCE_GUARD_TIMING: '1', ...env } });
    const unused = load({ READY: '1' });
    expect(unused.stdout).toBe('loaded\n');
    expect(unused.stderr).not.toMatch(/code cache/);
    const used = load({ USE: '1' });
    expect(used.stdout).toBe('loaded\npayload ran\n42\n');
    expect(used.stderr).toMatch(/code cache lazy miss/);
    expect(cacheFiles(state, 'lazy')).toEqual([]);
    expect(load({ USE: '1', READY: '1' }).stderr).toMatch(/code cache lazy miss/);
    expect(cacheFiles(state, 'lazy')).toHaveLength(1);
    const cached = load({ USE: '1' });
    expect(cached.stdout).toBe('loaded\npayload ran\n42\n');
    expect(cached.stderr).toMatch(/code cache lazy hit/);
  });

  test('the built pnpmfile loads only its hooks\' entry points; the first hook call runs the rest, from its cache once a reused verdict made one', () => {
    const dir = tempDir();
    const state = stateWithSecret(dir);
    const pnpmfile = join(__dirname, '..', 'plugins/pnpm/dist/pnpmfile.cjs');
    const script = `const { hooks } = require(${JSON.stringify(pnpmfile)}); console.log(Object.keys(hooks).join()); `
      + `(async () => { await hooks.updateConfig({}); console.log("updateConfig"); if (process.env.HOOK) { await hooks.readPackage({ name: "root", version: "1.0.0" }, {}); await hooks.afterAllResolved({}); console.log("readPackage"); } `
      + `if (process.env.READY) globalThis[Symbol.for('provenance-guard.code-cache.ready')](); })();`;
    const load = (env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, ['-e', script], { cwd: dir, timeout: 20_000, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, PROVENANCE_GUARD_STATE_DIR: state, PROVENANCE_GUARD_CACHE_DIR: join(dir, 'cache'), PROVENANCE_GUARD_TIMING: '1', ...env } });
    // An install's updateConfig (pnpm 12 runs it in a process of its own) needs none of it. Run
    // with -e, this is a pnpm 12 hook process: readPackage notes a project in the background
    // (pnpmfile.ts), and the next hook call, afterAllResolved, waits for it.
    const listed = load();
    expect(listed.stdout, listed.stderr).toBe('updateConfig,readPackage,preResolution,afterAllResolved\nupdateConfig\n');
    expect(listed.stderr).not.toMatch(/code cache/);
    const hooked = load({ HOOK: '1' });
    expect(hooked.stdout, hooked.stderr).toBe('updateConfig,readPackage,preResolution,afterAllResolved\nupdateConfig\nreadPackage\n');
    expect(hooked.stderr).toMatch(/code cache pnpmfile miss/);
    expect(cacheFiles(state, 'pnpmfile')).toEqual([]);
    expect(load({ HOOK: '1', READY: '1' }).stderr).toMatch(/code cache pnpmfile miss/);
    expect(load({ HOOK: '1' }).stderr).toMatch(/code cache pnpmfile hit/);
  });

  test('the built bundles carry no `*/` to escape: the loader compiles a view of the wrapper\'s source, not a copy of it', () => {
    for (const bundle of ['dist/cli.cjs', 'plugins/yarn/dist/plugin-provenance.cjs', 'plugins/pnpm/dist/pnpmfile.cjs']) {
      const text = readFileSync(join(__dirname, '..', bundle), 'utf8');
      expect(text, bundle).toMatch(/payloadAt: \d+/);
      expect(text, bundle).not.toContain('endMark:');
    }
  });

  test('the built Yarn plugin is wrapped: required as Yarn requires it, it exports the plugin, from its cache the second time', () => {
    const dir = tempDir();
    const state = stateWithSecret(dir);
    const plugin = join(__dirname, '..', 'plugins/yarn/dist/plugin-provenance.cjs');
    // As Yarn loads it; READY stands for its gate having run (gate.ts calls codeCacheReady()).
    const script = `const p = require(${JSON.stringify(plugin)}); console.log(p.name, typeof p.factory); if (process.env.READY) globalThis[Symbol.for('provenance-guard.code-cache.ready')]()`;
    const load = (ready = false) => spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, PROVENANCE_GUARD_STATE_DIR: state, PROVENANCE_GUARD_TIMING: '1', ...(ready ? { READY: '1' } : {}) } });
    const first = load();
    expect(first.stdout, first.stderr).toBe('@yarnpkg/plugin-provenance function\n');
    expect(first.stderr).toMatch(/code cache yarn-plugin miss/);
    expect(cacheFiles(state, 'yarn-plugin')).toEqual([]);
    expect(load(true).stderr).toMatch(/code cache yarn-plugin miss/);
    const second = load();
    expect(second.stdout, second.stderr).toBe('@yarnpkg/plugin-provenance function\n');
    expect(second.stderr).toMatch(/code cache yarn-plugin hit/);
  });
});

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import { rejected } from './helpers/errors';
import { tempDirs } from './helpers/temp';
import { loadConfig } from '../src/config/load';
import { validateConfig } from '../src/config/validate';
import { ConfigError } from '../src/errors';

const tempDir = tempDirs('pg-config-');

function project(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

function loadError(dir: string, options: { configPath?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ConfigError> {
  return rejected(ConfigError, loadConfig({ cwd: dir, env: options.env ?? {}, ...(options.configPath ? { configPath: options.configPath } : {}) }));
}

describe('lookup', () => {
  test('finds .provenancerc (YAML) from a subdirectory upward, up to the project root', async () => {
    const dir = project({ 'package.json': '{"name":"x"}', '.provenancerc': 'mode: block\nfeed: { publicKeys: [abc] }\n', 'packages/a/index.js': '' });
    const config = await loadConfig({ cwd: join(dir, 'packages/a'), env: {} });
    expect(config.mode).toBe('block');
    expect(config.feed.publicKeys).toEqual(['abc']);
    expect(config.filepath).toBe(join(dir, '.provenancerc'));
    expect(config.rootDir).toBe(dir);
  });

  test('reads package.json#provenance', async () => {
    const dir = project({ 'package.json': JSON.stringify({ name: 'x', provenance: { mode: 'off', unknown: 'allow' } }) });
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.mode).toBe('off');
    expect(config.unknown).toBe('allow');
  });

  test.each([
    ['.provenancerc', '{"mode": "block"}'],
    ['.provenancerc.json', '{"mode": "block"}'],
    ['.provenancerc.yaml', 'mode: block'],
    ['.provenancerc.yml', 'mode: block'],
    ['.provenancerc.cjs', "module.exports = { mode: 'block' };"],
    ['.provenancerc.mjs', "export default { mode: 'block' };"],
    ['provenance.config.js', "module.exports = { mode: 'block' };"],
  ])('reads %s', async (file, content) => {
    const dir = project({ [file]: content });
    expect((await loadConfig({ cwd: dir, env: {} })).mode).toBe('block');
  });

  test('defaults when there is no config', async () => {
    const dir = project({ 'package.json': '{"name":"x"}' });
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.filepath).toBeUndefined();
    expect(config.mode).toBe('warn');
    expect(config.unknown).toBe('warn');
    expect(config.rules.repository.require).toBe('claimed');
    expect(config.feed.maxAge).toBe(7 * 86_400_000);
  });

  test('an explicit --config path that does not exist is an error naming it', async () => {
    const dir = project({});
    const error = await loadError(dir, { configPath: 'missing.yaml' });
    expect(error.message).toContain(join(dir, 'missing.yaml'));
    expect(error.exitCode).toBe(2);
  });

  test('.provenancerc.example documents a valid config with every key', async () => {
    const example = readFileSync(join(__dirname, '..', '.provenancerc.example'), 'utf8');
    const dir = project({ '.provenancerc': example });
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.mode).toBe('warn');
    for (const key of ['mode', 'feed:', 'source:', 'publicKeys:', 'maxAge:', 'onStale:', 'offline:', 'rules:', 'repository:', 'allowedHosts', 'rebuild:', 'scorecard:', 'contents:', 'unknown:', 'exclude:', 'overrides:', 'sources:', 'online:']) {
      expect(example).toContain(key);
    }
  });
});

describe('full SPEC example', () => {
  test('parses every key of the SPEC example', async () => {
    const dir = project({
      '.provenancerc': `mode: warn
feed:
  source: ./.provenance/feed
  publicKeys: ["k1"]
  maxAge: 7d
  onStale: warn
  offline: false
rules:
  repository: { require: claimed, allowedHosts: [github.com, gitlab.com] }
  rebuild:    { require: reproducible }
  scorecard:  { minScore: 5, checks: { Dangerous-Workflow: 10 } }
  contents:   { require: built }
unknown: warn
exclude: ["@acme/*"]
overrides:
  - package: "left-pad@^1.3.0"
    rules: [scorecard]
    reason: "vendored copy reviewed by security"
    expires: 2027-03-31
`,
    });
    const c = await loadConfig({ cwd: dir, env: {} });
    expect(c.rules).toEqual({
      repository: { require: 'claimed', allowedHosts: ['github.com', 'gitlab.com'] },
      rebuild: { require: 'reproducible' },
      scorecard: { minScore: 5, checks: { 'Dangerous-Workflow': 10 } },
      contents: { require: 'built' },
    });
    expect(c.exclude).toEqual(['@acme/*']);
    expect(c.overrides).toEqual([{ package: 'left-pad@^1.3.0', rules: ['scorecard'], reason: 'vendored copy reviewed by security', expires: '2027-03-31' }]);
  });
});

describe('invalid config names the file, the key and the problem', () => {
  test.each([
    ['mode: strict', 'mode', 'block | warn | off'],
    ['modee: block', 'modee', 'unknown key'],
    ['rules: { contents: { require: rebuilt } }', 'rules.contents.require', 'match | built | off'],
    ['rules: { contents: { required: match } }', 'rules.contents.required', 'unknown key'],
    ['feed: { maxAge: soon }', 'feed.maxAge', 'duration'],
    ['feed: { onStale: maybe }', 'feed.onStale', 'allow | warn | block'],
    ['feed: { publicKeys: abc }', 'feed.publicKeys', 'list'],
    ['feed: { offline: "yes" }', 'feed.offline', 'true or false'],
    ['rules: { repository: { require: signed } }', 'rules.repository.require', 'claimed | attested | off'],
    ['rules: { rebuild: { require: maybe } }', 'rules.rebuild.require', 'reproducible | off'],
    ['rules: { scorecard: { minScore: 11 } }', 'rules.scorecard.minScore', 'from 0 to 10'],
    ['rules: { scorecard: { checks: { Maintained: high } } }', 'rules.scorecard.checks.Maintained', 'from 0 to 10'],
    ['unknown: ignore', 'unknown', 'allow | warn | block'],
    ['exclude: ["Not A Name!"]', 'exclude[0]', 'not a package pattern'],
    ['exclude: ["left-pad@not-a-range"]', 'exclude[0]', 'not a semver range'],
    ['overrides: [{ package: left-pad, rules: [scorecard], expires: 2027-01-01 }]', 'overrides[0].reason', 'required'],
    ['overrides: [{ package: left-pad, rules: [scorecard], reason: ok }]', 'overrides[0].expires', 'required'],
    ['overrides: [{ package: left-pad, rules: [scorecard], reason: ok, expires: 2027-13-45 }]', 'overrides[0].expires', 'YYYY-MM-DD'],
    ['overrides: [{ package: left-pad, rules: [integrity], reason: ok, expires: 2027-01-01 }]', 'overrides[0].rules[0]', 'cannot be waived'],
    ['overrides: [{ package: left-pad, rules: [], reason: ok, expires: 2027-01-01 }]', 'overrides[0].rules', 'required'],
    ['sources: { depsDev: { url: "ftp://x" } }', 'sources.depsDev.url', 'http(s) URL'],
    ['sources: { concurrency: 0 }', 'sources.concurrency', 'whole number'],
  ])('%s → %s', async (content, key, problem) => {
    const dir = project({ '.provenancerc': content + '\n' });
    const error = await loadError(dir);
    expect(error.message).toContain(join(dir, '.provenancerc'));
    expect(error.message).toContain(`${key}:`);
    expect(error.message).toContain(problem);
    expect(error.file).toBe(join(dir, '.provenancerc'));
  });

  test('several problems are reported together', async () => {
    const dir = project({ '.provenancerc': 'mode: x\nunknown: y\n' });
    const error = await loadError(dir);
    expect(error.message).toContain('mode:');
    expect(error.message).toContain('unknown:');
  });

  test('malformed YAML names the file and the line', async () => {
    const dir = project({ '.provenancerc': 'mode: block\nrules: [unclosed\n' });
    const error = await loadError(dir);
    expect(error.message).toContain(join(dir, '.provenancerc'));
    expect(error.message).toMatch(/invalid YAML.*line \d+/);
  });

  test('malformed JSON names the file', async () => {
    const dir = project({ '.provenancerc.json': '{"mode": "block",' });
    const error = await loadError(dir);
    expect(error.message).toContain('.provenancerc.json');
    expect(error.message).toContain('invalid JSON');
  });

  test('one problem is one line: the file, the key and the problem', async () => {
    const dir = project({ '.provenancerc': 'mode: loud\n' });
    const error = await loadError(dir);
    expect([error.code, error.file, error.message]).toEqual(['ERR_PG_CONFIG_INVALID', join(dir, '.provenancerc'), `${join(dir, '.provenancerc')}: mode: expected one of block | warn | off, got "loud"`]);
    const two = project({ '.provenancerc': 'mode: loud\nunknown: y\n' });
    expect((await loadError(two)).message).toBe(`${join(two, '.provenancerc')}: invalid config:\n  - mode: expected one of block | warn | off, got "loud"\n  - unknown: expected one of allow | warn | block, got "y"`);
  });

  test('malformed YAML and JSON: ERR_PG_CONFIG_INVALID with the file (failureMode reads its mode)', async () => {
    for (const [name, content, problem] of [
      ['.provenancerc', 'mode: warn\nrules: [\n', 'invalid YAML'],
      ['.provenancerc.json', '{"mode": "warn",', 'invalid JSON'],
    ] as const) {
      const dir = project({ [name]: content });
      const error = await loadError(dir);
      expect([error.code, error.file]).toEqual(['ERR_PG_CONFIG_INVALID', join(dir, name)]);
      expect(error.message.startsWith(`${join(dir, name)}: ${problem}: `)).toBe(true);
    }
  });

  test('a JavaScript config that throws or does not load: ERR_PG_CONFIG_INVALID, the file and the first line', async () => {
    const dir = project({ '.provenancerc.cjs': "throw new TypeError('no policy\\nat line two');\n" });
    const error = await loadError(dir);
    expect([error.code, error.file, error.message]).toEqual(['ERR_PG_CONFIG_INVALID', join(dir, '.provenancerc.cjs'), `${join(dir, '.provenancerc.cjs')}: could not be loaded: no policy`]);
  });

  test('an empty JavaScript config, or one that exports nothing, is empty', async () => {
    for (const [name, content] of [['.provenancerc.cjs', '  \n'], ['.provenancerc.cjs', 'module.exports = null;\n'], ['.provenancerc.mjs', 'export const mode = "off";\n']]) {
      const dir = project({ [name!]: content! });
      expect((await loadError(dir)).code).toBe('ERR_PG_CONFIG_EMPTY');
    }
  });

  test('an explicit --config in no config format is an error naming it', async () => {
    const dir = project({ 'policy.toml': 'mode = "off"\n' });
    const error = await loadError(dir, { configPath: 'policy.toml' });
    expect([error.code, error.file, error.message]).toEqual(['ERR_PG_CONFIG_INVALID', join(dir, 'policy.toml'), `${join(dir, 'policy.toml')}: not a config format (expected .provenancerc, .json, .yaml, .yml, .js, .cjs or .mjs)`]);
    // Any name in a known format is read as that format; an explicit file named package.json as package.json#provenance.
    const other = project({ 'ci-policy': 'mode: off\n', 'sub/package.json': '{"provenance":{"mode":"off"}}', 'my-package.json': '{"mode":"off"}' });
    expect((await loadConfig({ cwd: other, configPath: 'ci-policy', env: {} })).mode).toBe('off');
    expect((await loadConfig({ cwd: other, configPath: 'sub/package.json', env: {} })).mode).toBe('off');
    expect((await loadConfig({ cwd: other, configPath: 'my-package.json', env: {} })).mode).toBe('off');
    // TypeScript, as cosmiconfig loads it (given with --config only: the search looks for no .ts).
    const ts = project({ 'policy.ts': "const mode: string = 'off';\nexport default { mode };\n", '.provenancerc.ts': "export default { mode: 'off' };\n" });
    expect((await loadConfig({ cwd: ts, configPath: 'policy.ts', env: {} })).mode).toBe('off');
    expect((await loadConfig({ cwd: ts, env: {} })).filepath).toBeUndefined();
  });

  test.skipIf(process.platform !== 'linux')('a config file that cannot be read: ERR_PG_CONFIG_INVALID naming it', async () => {
    const error = await loadError(project({}), { configPath: '/proc/self/mem' }); // a file whose first byte is unreadable
    expect([error.code, error.file, error.message]).toEqual(['ERR_PG_CONFIG_INVALID', '/proc/self/mem', '/proc/self/mem: could not be loaded: EIO: i/o error, read']);
  });

  // process.chdir works in a forked test process (vitest.config.mts), not in the worker threads Stryker's runner uses.
  test.skipIf(!isMainThread)('package.json#provenance is that key and no other: a cosmiconfig meta config in the working directory cannot name another', async () => {
    // Before: loaded through a cosmiconfig explorer, which took `packageProp` from .config/config.json in
    // process.cwd(): package.json#provenance said block, the guard ran package.json#provenanceDev (off).
    const dir = project({
      'package.json': JSON.stringify({ name: 'app', provenance: { mode: 'block', feed: { publicKeys: ['k'] } }, provenanceDev: { mode: 'off' } }),
      '.config/config.json': JSON.stringify({ cosmiconfig: { packageProp: 'provenanceDev' } }),
    });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect((await loadConfig({ cwd: dir, env: {} })).mode).toBe('block');
      expect((await loadConfig({ cwd: dir, configPath: 'package.json', env: {} })).mode).toBe('block');
    } finally {
      process.chdir(cwd);
    }
  });

  test('$import is no key of this config: an error, never another file merged in', async () => {
    // Before: cosmiconfig merged the named file into package.json#provenance and JavaScript configs,
    // under keys validation never saw (a YAML or JSON config refused the same key).
    const base = { 'shared.yml': 'exclude: ["*"]\n' };
    for (const [name, content] of [
      ['package.json', JSON.stringify({ name: 'app', provenance: { $import: './shared.yml', mode: 'block' } })],
      ['.provenancerc.cjs', "module.exports = { $import: './shared.yml', mode: 'block' };\n"],
      ['.provenancerc', '$import: ./shared.yml\nmode: block\n'],
    ]) {
      const dir = project({ ...base, [name!]: content! });
      const error = await loadError(dir);
      expect(error.code).toBe('ERR_PG_CONFIG_INVALID');
      expect(error.message).toContain('$import: unknown key');
    }
  });

  test('package.json#provenance problems name package.json#provenance', async () => {
    const dir = project({ 'package.json': JSON.stringify({ provenance: { mode: 'loud' } }) });
    const error = await loadError(dir);
    expect(error.message).toContain('package.json#provenance');
    expect(error.message).toContain('mode:');
  });
});

describe('environment', () => {
  test('PROVENANCE_GUARD_MODE and PROVENANCE_GUARD_OFFLINE override the file', async () => {
    const dir = project({ '.provenancerc': 'mode: warn\nfeed: { offline: false }\n' });
    const config = await loadConfig({ cwd: dir, env: { PROVENANCE_GUARD_MODE: 'block', PROVENANCE_GUARD_OFFLINE: '1' } });
    expect(config.mode).toBe('block');
    expect(config.feed.offline).toBe(true);
  });

  test('an invalid PROVENANCE_GUARD_MODE is an error naming the variable', async () => {
    const dir = project({});
    const error = await loadError(dir, { env: { PROVENANCE_GUARD_MODE: 'loud' } });
    expect([error.code, error.message]).toEqual(['ERR_PG_CONFIG_ENV', 'PROVENANCE_GUARD_MODE: expected one of block | warn | off, got "loud"']);
  });

  test('every value of the variables, and an empty one leaves the file alone', async () => {
    const dir = project({ '.provenancerc': 'mode: block\nfeed: { offline: true }\n' });
    const load = (env: NodeJS.ProcessEnv) => loadConfig({ cwd: dir, env });
    for (const mode of ['block', 'warn', 'off'] as const) expect((await load({ PROVENANCE_GUARD_MODE: mode })).mode).toBe(mode);
    expect((await load({ PROVENANCE_GUARD_MODE: '' })).mode).toBe('block');
    for (const value of ['0', 'false', 'No', 'FALSE']) expect((await load({ PROVENANCE_GUARD_OFFLINE: value })).feed.offline).toBe(false);
    expect((await load({ PROVENANCE_GUARD_OFFLINE: '' })).feed.offline).toBe(true);
    const online = project({ '.provenancerc': 'mode: block\n' });
    for (const value of ['1', 'true', 'YES']) expect((await loadConfig({ cwd: online, env: { PROVENANCE_GUARD_OFFLINE: value } })).feed.offline).toBe(true);
    for (const value of ['2', 'x1', '1x', 'nope', '0x', 'x0', 'on']) {
      const error = await loadError(online, { env: { PROVENANCE_GUARD_OFFLINE: value } });
      expect([error.code, error.message]).toEqual(['ERR_PG_CONFIG_ENV', `PROVENANCE_GUARD_OFFLINE: expected 1 or 0, got ${JSON.stringify(value)}`]);
    }
  });
});

test('validateConfig accepts `off` shorthands and keeps defaults elsewhere', () => {
  const { config, problems } = validateConfig({ rules: { repository: 'off', scorecard: 'off', rebuild: 'off' } }, '/x');
  expect(problems).toEqual([]);
  expect(config.rules.repository.require).toBe('off');
  expect(config.rules.scorecard).toBeNull();
  expect(config.rules.rebuild.require).toBe('off');
  expect(config.feed.onStale).toBe('warn');
});

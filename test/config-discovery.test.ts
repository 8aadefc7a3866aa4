/**
 * Config discovery is bounded and loud: the search stops at the project or workspace root,
 * never reads $XDG_CONFIG_HOME or the home directory, refuses two configs in one directory and
 * an empty one, and every run says which file governs it.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { loadConfig } from '../src/config/load';
import { findConfig, projectDirectories } from '../src/config/discover';
import { AmbiguousConfigError, ConfigError } from '../src/errors';
import { runCli } from './helpers/cli';
import { rejected } from './helpers/errors';
import { cliProject, SHA, type TestProject } from './helpers/cli-project';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-discover-');
let cli: TestProject | undefined;
afterEach(() => {
  cli?.cleanup();
  cli = undefined;
});

function tree(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return (await rejected(ConfigError, promise)).code;
}

test("a parent directory's config above the project root does not govern the project", async () => {
  const dir = tree({ '.provenancerc': 'mode: off\n', 'app/package.json': '{"name":"app"}' });
  const config = await loadConfig({ cwd: join(dir, 'app'), env: {} });
  expect(config.filepath).toBeUndefined();
  expect(config.mode).toBe('warn'); // the default, not the parent's off
});

test('the search crosses no repository root, and a directory without package.json searches only itself', async () => {
  const dir = tree({ '.provenancerc': 'mode: off\n', 'repo/.git/HEAD': '', 'repo/sub/x': '' });
  expect(projectDirectories(join(dir, 'repo', 'sub'))).toEqual([join(dir, 'repo', 'sub')]);
  const bare = tree({ '.provenancerc': 'mode: off\n', 'work/x': '' });
  expect((await loadConfig({ cwd: join(bare, 'work'), env: {} })).filepath).toBeUndefined();
});

test('a workspace member is governed by the workspace root config (pnpm and Yarn workspaces)', async () => {
  const pnpm = tree({ 'pnpm-workspace.yaml': 'packages: [pkgs/*]\n', '.provenancerc': 'mode: warn\n', 'pkgs/a/package.json': '{"name":"a"}' });
  expect((await loadConfig({ cwd: join(pnpm, 'pkgs', 'a'), env: {} })).filepath).toBe(join(pnpm, '.provenancerc'));
  const yarn = tree({ 'package.json': '{"name":"root","workspaces":["pkgs/*"]}', '.provenancerc.yml': 'mode: warn\n', 'pkgs/a/package.json': '{"name":"a"}' });
  expect((await loadConfig({ cwd: join(yarn, 'pkgs', 'a'), env: {} })).filepath).toBe(join(yarn, '.provenancerc.yml'));
  // Nothing above the workspace root.
  const outer = tree({ '.provenancerc': 'mode: off\n', 'ws/pnpm-workspace.yaml': 'packages: []\n' });
  expect((await loadConfig({ cwd: join(outer, 'ws'), env: {} })).filepath).toBeUndefined();
});

test('$XDG_CONFIG_HOME and the home directory are never read', async () => {
  const home = tree({ '.provenancerc': 'mode: off\n', '.config/provenance/config.yaml': 'mode: off\n', '.config/provenancerc': 'mode: off\n' });
  const project = tree({ 'package.json': '{"name":"app"}' });
  const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
  process.env.HOME = home;
  process.env.XDG_CONFIG_HOME = join(home, '.config');
  try {
    const config = await loadConfig({ cwd: project, env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config') } });
    expect(config.filepath).toBeUndefined();
    expect(config.mode).toBe('warn'); // the default, not the parent's off
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
});

test('two configs in one directory are an error naming both', async () => {
  const dir = tree({ 'package.json': '{"name":"app"}', '.provenancerc': 'mode: warn\n', '.provenancerc.json': '{"mode":"off"}' });
  const error = await rejected(AmbiguousConfigError, loadConfig({ cwd: dir, env: {} }));
  expect(error.code).toBe('ERR_PG_CONFIG_AMBIGUOUS');
  expect(error.files).toEqual([join(dir, '.provenancerc'), join(dir, '.provenancerc.json')]);
  expect(error.message).toBe(`${join(dir, '.provenancerc')} and ${join(dir, '.provenancerc.json')}: more than one provenance config in ${dir}; keep one`);
  // No one file is "the" file of this error (guard.ts failureMode reads every one's mode).
  expect(error.file).toBeUndefined();
});

test('findConfig reports the directories it searched, nearest first, found or not', () => {
  const ws = tree({ 'pnpm-workspace.yaml': 'packages: [pkgs/*]\n', '.provenancerc': 'mode: warn\n', 'pkgs/a/package.json': '{"name":"a"}' });
  expect(findConfig(join(ws, 'pkgs', 'a'))).toEqual({ filepath: join(ws, '.provenancerc'), searched: [join(ws, 'pkgs', 'a'), join(ws, 'pkgs'), ws] });
  const none = tree({ 'pnpm-workspace.yaml': 'packages: [pkgs/*]\n', 'pkgs/a/package.json': '{"name":"a"}' });
  expect(findConfig(join(none, 'pkgs', 'a'))).toEqual({ filepath: undefined, searched: [join(none, 'pkgs', 'a'), join(none, 'pkgs'), none] });
});

test('in a repository that is no workspace, the nearest package.json is the project root: an outer package and its config do not govern', async () => {
  const dir = tree({ 'repo/.git/HEAD': '', 'repo/package.json': '{"name":"outer"}', 'repo/.provenancerc': 'mode: off\n', 'repo/app/package.json': '{"name":"app"}', 'repo/app/src/x': '' });
  expect(projectDirectories(join(dir, 'repo', 'app', 'src'))).toEqual([join(dir, 'repo', 'app', 'src'), join(dir, 'repo', 'app')]);
  expect(findConfig(join(dir, 'repo', 'app')).filepath).toBeUndefined();
  expect(projectDirectories(join(dir, 'repo'))).toEqual([join(dir, 'repo')]);
});

test('a package.json that is not JSON on the way up is an error naming it, not a directory passed over', async () => {
  const dir = tree({ 'package.json': '{"name": "app",', 'sub/x': '' });
  const error = await rejected(ConfigError, loadConfig({ cwd: join(dir, 'sub'), env: {} }));
  expect([error.code, error.file]).toEqual(['ERR_PG_CONFIG_INVALID', join(dir, 'package.json')]);
  expect(error.message.startsWith(`${join(dir, 'package.json')}: invalid JSON, so it cannot be told whether it holds a provenance config: `)).toBe(true);
});

test('any JSON value in a package.json is read: null, a list or a string holds no config and no workspaces', () => {
  for (const value of ['null', '[{"provenance":{"mode":"off"}}]', '"workspaces"', '3']) {
    const dir = tree({ '.git/HEAD': '', 'package.json': value, 'app/package.json': '{"name":"app"}' });
    expect(findConfig(join(dir, 'app'))).toEqual({ filepath: undefined, searched: [join(dir, 'app')] });
  }
});

test.each([
  ['a directory', (path: string) => mkdirSync(path)],
  ['a link to a missing file', (path: string) => symlinkSync(join(path, '..', 'shared', 'provenancerc'), path)],
])('%s where a config would be is an error, not skipped for the parent config or none', async (_what, make) => {
  // Before: passed over, so a .provenancerc linked to a file outside a CI checkout ran with the workspace root's config (here mode: off) or the default.
  const dir = tree({ 'pnpm-workspace.yaml': 'packages: [app]\n', '.provenancerc': 'mode: off\n', 'app/package.json': '{"name":"app"}' });
  make(join(dir, 'app', '.provenancerc.yml'));
  const error = await rejected(ConfigError, loadConfig({ cwd: join(dir, 'app'), env: {} }));
  expect(error.code).toBe('ERR_PG_CONFIG_INVALID');
  expect(error.file).toBe(join(dir, 'app', '.provenancerc.yml'));
  expect(error.message).toBe(`${join(dir, 'app', '.provenancerc.yml')}: not a config file (a directory, or a link to a missing file); make it a file or remove it`);
});

test('a link to a config file is that config', async () => {
  const dir = tree({ 'shared/rc.yml': 'mode: off\n', 'app/package.json': '{"name":"app"}' });
  symlinkSync(join(dir, 'shared', 'rc.yml'), join(dir, 'app', '.provenancerc.yml'));
  const config = await loadConfig({ cwd: join(dir, 'app'), env: {} });
  expect([config.filepath, config.mode]).toEqual([join(dir, 'app', '.provenancerc.yml'), 'off']);
});

test('an empty --config (or any empty option value) is a usage error, not a search that finds another config or none', async () => {
  // Before: `check --config ''` searched from the directory as if no --config was given.
  const dir = tree({ 'package.json': '{"name":"app"}', 'package-lock.json': '{"lockfileVersion":3,"packages":{"":{}}}', '.provenancerc': 'mode: off\n' });
  for (const args of [['check', '--config', ''], ['explain', 'a@1.0.0', '--config='], ['verify', 'a@1.0.0', '--config', '']]) {
    const result = await runCli(dir, args);
    expect(result.code, args.join(' ')).toBe(2);
    expect(result.stderr).toContain(`ERR_PG_USAGE_INVALID_VALUE: ${args[0]}: --config needs the path of a config file, got an empty value`);
  }
  // The same for every option that takes a value: `--lockfile ''` detected the lockfiles, `--feed ''` used the config's feed.
  for (const [option, args] of [['lockfile', ['check', '--lockfile', '']], ['feed', ['check', '--feed=']], ['lockfile', ['explain', 'a@1.0.0', '--lockfile', '']], ['out', ['feed', 'build', '--records', 'r.ndjson', '--key', 'k', '--out', '']]] as const) {
    const result = await runCli(dir, [...args]);
    expect(result.code, args.join(' ')).toBe(2);
    expect(result.stderr).toContain(`ERR_PG_USAGE_INVALID_VALUE: ${args[0] === 'feed' ? 'feed build' : args[0]}: --${option} needs a value, got an empty value`);
  }
});

test('check with a broken config: exit 2, the code, the file and the problem, no stack trace', async () => {
  for (const [name, content, expected] of [
    ['package.json', '{"name": "app",', 'ERR_PG_CONFIG_INVALID: PKG: invalid JSON, so it cannot be told'],
    ['.provenancerc', 'mode: warn\nmode: block\n', 'ERR_PG_CONFIG_INVALID: RC: invalid YAML: duplicated mapping key at line 2, column 1'],
    ['.provenancerc.cjs', "throw new Error('no policy here\\nsecond line')\n", 'ERR_PG_CONFIG_INVALID: RC: could not be loaded: no policy here'],
  ] as const) {
    const dir = tree({ 'package.json': '{"name":"app"}', 'package-lock.json': '{"lockfileVersion":3,"packages":{"":{}}}', [name]: content });
    const result = await runCli(dir, ['check']);
    expect(result.code).toBe(2);
    const line = `provenance-guard: ${expected.replace('PKG', join(dir, 'package.json')).replace('RC', join(dir, name))}`;
    expect(result.stderr.startsWith(line), `${result.stderr} should start with ${line}`).toBe(true);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).not.toContain('second line');
  }
});

test('package.json#provenance beside a .provenancerc is two configs', async () => {
  const dir = tree({ 'package.json': '{"name":"app","provenance":{"mode":"off"}}', '.provenancerc': 'mode: block\n' });
  expect(await codeOf(loadConfig({ cwd: dir, env: {} }))).toBe('ERR_PG_CONFIG_AMBIGUOUS');
});

test.each([
  ['.provenancerc', ''],
  ['.provenancerc', '# only a comment\n'],
  ['.provenancerc.json', '  \n'],
  ['package.json', '{"name":"app","provenance":null}'],
])('an empty %s (%j) is an error naming the file, not a fall-through to a parent', async (name, content) => {
  const dir = tree({ 'package.json': '{"name":"ws","workspaces":[]}', '.provenancerc.yml': 'mode: off\n', [`app/${name}`]: content });
  if (name !== 'package.json') writeFileSync(join(dir, 'app', 'package.json'), '{"name":"app"}');
  const error = await loadConfig({ cwd: join(dir, 'app'), env: {} }).catch((e: unknown) => e as ConfigError);
  expect((error as ConfigError).code).toBe('ERR_PG_CONFIG_EMPTY');
  expect((error as ConfigError).message).toContain(join(dir, 'app', name));
  // The same file given with --config.
  expect(await codeOf(loadConfig({ cwd: dir, configPath: join(dir, 'app', name), env: {} }))).toBe('ERR_PG_CONFIG_EMPTY');
});

test('a missing --config file is ERR_PG_CONFIG_NOT_FOUND', async () => {
  const dir = tree({});
  expect(await codeOf(loadConfig({ cwd: dir, configPath: 'nope.yml', env: {} }))).toBe('ERR_PG_CONFIG_NOT_FOUND');
});

test('check says which config governs it: first line of human output, a stderr line with --format json', async () => {
  cli = await cliProject([], [{ name: 'a', version: '1.0.0', integrity: SHA(1) }], 'warn');
  const human = await runCli(cli.dir, ['check']);
  expect(human.stdout.split('\n')[0]).toBe(`provenance-guard: config ${join(cli.dir, '.provenancerc')}, mode warn`);
  const json = await runCli(cli.dir, ['check', '--format', 'json']);
  expect(JSON.parse(json.stdout).summary.packages).toBe(1);
  expect(json.stderr).toContain(`provenance-guard: config ${join(cli.dir, '.provenancerc')}, mode warn\n`);
  const explain = await runCli(cli.dir, ['explain', 'a@1.0.0']);
  expect(explain.stdout.split('\n')[0]).toBe(`provenance-guard: config ${join(cli.dir, '.provenancerc')}, mode warn`);
});

/**
 * Config discovery is bounded and loud: the search stops at the project or workspace root,
 * never reads $XDG_CONFIG_HOME or the home directory, refuses two configs in one directory and
 * an empty one, and every run says which file governs it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { loadConfig } from '../src/config/load';
import { projectDirectories } from '../src/config/discover';
import { ConfigError } from '../src/errors';
import { runCli } from './helpers/cli';
import { rejected } from './helpers/errors';
import { cliProject, SHA, type TestProject } from './helpers/cli-project';

const dirs: string[] = [];
let cli: TestProject | undefined;
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  cli?.cleanup();
  cli = undefined;
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-discover-'));
  dirs.push(dir);
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
  const error = await loadConfig({ cwd: dir, env: {} }).catch((e: unknown) => e as ConfigError);
  expect((error as ConfigError).code).toBe('ERR_PG_CONFIG_AMBIGUOUS');
  expect((error as ConfigError).message).toContain(join(dir, '.provenancerc'));
  expect((error as ConfigError).message).toContain(join(dir, '.provenancerc.json'));
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

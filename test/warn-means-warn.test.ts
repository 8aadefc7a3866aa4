import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { failureMode } from '../src/guard';
import { agreedMode, declaredMode } from '../src/config/declared-mode';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-warn-');
/** Directories the pnpm helpers made (markers, projects). */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** declaredMode of `content` written as `name`. */
function declared(name: string, content: string) {
  return declaredMode(join(project({ [name]: content }), name));
}

describe('warn means warn: a config that says mode: warn never fails closed for a later problem', () => {
  test('a typo in a rule (invalid config) under mode: warn → warn', async () => {
    const dir = project({ '.provenancerc': 'mode: warn\nrules:\n  scorecard: { minScroe: 5 }\n' });
    expect(await failureMode({ cwd: dir, env: {} })).toBe('warn');
  });
  test('broken YAML further down under mode: warn → warn; mode: off → off', async () => {
    expect(await failureMode({ cwd: project({ '.provenancerc': 'mode: warn   # for now\nfeed:\n  source: [unclosed\n' }), env: {} })).toBe('warn');
    expect(await failureMode({ cwd: project({ '.provenancerc': "mode: 'off'\nrules: {\n" }), env: {} })).toBe('off');
  });
  test('package.json#provenance and JSON configs', async () => {
    expect(await failureMode({ cwd: project({ 'package.json': JSON.stringify({ name: 'x', provenance: { mode: 'warn', unknown: 'sometimes' } }) }), env: {} })).toBe('warn');
    expect(await failureMode({ cwd: project({ '.provenancerc.json': JSON.stringify({ mode: 'warn', rules: 3 }) }), env: {} })).toBe('warn');
  });
  test('mode: block, no mode, two different modes, or an unreadable mode still fail closed', async () => {
    expect(await failureMode({ cwd: project({ '.provenancerc': 'mode: block\nrules: 3\n' }), env: {} })).toBe('block');
    expect(await failureMode({ cwd: project({ '.provenancerc': 'rules: 3\n' }), env: {} })).toBe('block');
    expect(await failureMode({ cwd: project({ '.provenancerc': 'mode: warn\nmode: block\nrules: [\n' }), env: {} })).toBe('block');
    expect(await failureMode({ cwd: project({ '.provenancerc': 'mode: warnn\n' }), env: {} })).toBe('block');
    expect(declaredMode('/nonexistent/.provenancerc')).toBeUndefined();
  });
  test('PROVENANCE_GUARD_MODE still wins over the file', async () => {
    const dir = project({ '.provenancerc': 'mode: warn\nrules: 3\n' });
    expect(await failureMode({ cwd: dir, env: { PROVENANCE_GUARD_MODE: 'block' } })).toBe('block');
    expect(await failureMode({ cwd: project({ '.provenancerc': 'mode: block\nrules: 3\n' }), env: { PROVENANCE_GUARD_MODE: 'warn' } })).toBe('warn');
  });
  test('a nested mode key is not the top-level mode', async () => {
    expect(await failureMode({ cwd: project({ '.provenancerc': 'feed:\n  mode: warn\nrules: [\n' }), env: {} })).toBe('block');
  });
});

describe('the mode a file declares (declaredMode), read as the loader reads it', () => {
  test.each([
    ['mode: warn\nrules: 3\n', 'warn'],
    ['mode: block\nrules: 3\n', 'block'],
    ["mode: 'off'\nrules: 3\n", 'off'],
    ['"mode": warn\nrules: 3\n', 'warn'], // a quoted key: the document says so, no line does
    ['{ mode: warn, rules: 3 }\n', 'warn'],
    ['mode: warnn\n', undefined],
    ['mode: block\nrules: 3\nmode: warn\n', undefined], // a key given twice is two modes, not the last one
    ['|\nmode: warn\n', undefined], // a string, not a mapping
    ['- mode: warn\n', undefined],
    ['', undefined],
  ])('a YAML document that parses: %j → %s', (content, mode) => {
    expect(declared('.provenancerc', content)).toBe(mode);
  });

  test.each([
    ['mode: warn\nrules: [\n', 'warn'],
    ['rules: [\nmode: warn\n', 'warn'], // after the break: the line still says it
    ['mode : "warn"  # for now\nrules: [\n', 'warn'],
    ["mode:\t'off'\r\nrules: [\r\n", 'off'],
    ['mode: block   \nrules: [\n', 'block'],
    ['mode:   warn\nrules: [\n', 'warn'],
    ['mode: warn\nmode: warn\nrules: [\n', 'warn'],
    ['mode:warn\nrules: [\n', undefined], // one plain string in YAML, no key
    ['mode: warn#x\nrules: [\n', undefined], // the value `warn#x`
    ['mode: warn #x\nrules: [\n', 'warn'],
    ['mode: "warn\'\nrules: [\n', undefined],
    ['mode: "warn"\nrules: [\n', 'warn'],
    ['mode: xwarn\nrules: [\n', undefined],
    ['mode: warn x\nrules: [\n', undefined],
    ['modes: warn\nrules: [\n', undefined],
    ['  mode: warn\nrules: [\n', undefined], // indented: not the top level
    ['mode:\nwarn\nrules: [\n', undefined],
    ['mode: warn\nmode: block\nrules: [\n', undefined],
  ])('a YAML document that does not parse, by its lines: %j → %s', (content, mode) => {
    expect(declared('.provenancerc', content)).toBe(mode);
  });

  test.each([
    ['.provenancerc.json', '{"mode":"warn","rules":3}', 'warn'],
    ['.provenancerc.json', '{"mode":"block"}', 'block'],
    ['.provenancerc.json', '[{"mode":"warn"}]', undefined],
    ['.provenancerc.json', 'null', undefined],
    ['.provenancerc.json', '"warn"', undefined],
    ['.provenancerc.json', '{"mode":"warn",', undefined],
    ['.provenancerc.json', 'mode: warn\n', undefined], // JSON is read as JSON only
    ['package.json', '{"provenance":{"mode":"off"}}', 'off'],
    ['package.json', '{"mode":"warn","provenance":{}}', undefined], // only package.json#provenance
    ['package.json', 'null', undefined],
  ])('JSON: %s %j → %s', (name, content, mode) => {
    expect(declared(name, content)).toBe(mode);
  });

  test.each(['.provenancerc.js', '.provenancerc.cjs', '.provenancerc.mjs', 'provenance.config.js'])('%s: a JavaScript config declares no mode (its code decides), even with a mode: line', (name) => {
    expect(declared(name, "module.exports = {\nmode: 'warn'\n}\n")).toBeUndefined();
  });
});

describe('two configs in one directory (ERR_PG_CONFIG_AMBIGUOUS): no one file decides how to fail', () => {
  test('package.json#provenance saying warn beside a .provenancerc saying block → block', async () => {
    // Before the fix the first file found (package.json) decided: a dependency pull request adding
    // `"provenance": {"mode": "warn"}` to package.json turned a block config into an install that went on.
    const dir = project({ 'package.json': JSON.stringify({ name: 'app', provenance: { mode: 'warn' } }), '.provenancerc': 'mode: block\n' });
    expect(await failureMode({ cwd: dir, env: {} })).toBe('block');
    const reversed = project({ 'package.json': JSON.stringify({ name: 'app', provenance: { mode: 'block' } }), '.provenancerc': 'mode: warn\n' });
    expect(await failureMode({ cwd: reversed, env: {} })).toBe('block');
  });
  test('every file saying the same mode → that mode; one saying none → block; the environment still wins', async () => {
    expect(await failureMode({ cwd: project({ '.provenancerc': 'mode: warn\n', '.provenancerc.json': '{"mode":"warn"}' }), env: {} })).toBe('warn');
    expect(await failureMode({ cwd: project({ '.provenancerc': 'mode: warn\n', '.provenancerc.json': '{}' }), env: {} })).toBe('block');
    const dir = project({ 'package.json': JSON.stringify({ name: 'app', provenance: { mode: 'warn' } }), '.provenancerc': 'mode: block\n' });
    expect(await failureMode({ cwd: dir, env: { PROVENANCE_GUARD_MODE: 'off' } })).toBe('off');
  });
  test('agreedMode', () => {
    const dir = project({ a: 'mode: warn\n', b: 'mode: warn\n', c: 'mode: off\n' });
    expect(agreedMode([join(dir, 'a'), join(dir, 'b')])).toBe('warn');
    expect(agreedMode([join(dir, 'a'), join(dir, 'c')])).toBeUndefined();
    expect(agreedMode([join(dir, 'c')])).toBe('off');
    expect(agreedMode([])).toBeUndefined();
  });
});

describe('warn means warn, with a real pnpm install', () => {
  test('a typo further down a mode: warn config never fails the install; the same typo under mode: block does', async () => {
    const { createPnpmProject, ensurePnpmBundle, fixture, markerDir } = await import('./helpers/pm');
    const { startRegistry } = await import('./helpers/registry');
    await ensurePnpmBundle();
    const registry = await startRegistry();
    const markers = markerDir();
    dirs.push(markers);
    try {
      await registry.publish(fixture(markers, { name: '@pg-fixture/wmw', version: '1.0.0' }));
      const make = (mode: string) =>
        createPnpmProject({ version: '10', registryUrl: registry.url, markers, dependencies: { '@pg-fixture/wmw': '1.0.0' }, allowBuilds: ['@pg-fixture/wmw'], provenancerc: `mode: ${mode}\nrules:\n  scorecard: { minScroe: 5 }\n` });
      const warn = make('warn');
      const ok = await warn.pnpm(['install']);
      expect(ok.code, ok.output).toBe(0);
      expect(ok.output).toMatch(/minScroe/);
      expect(warn.ran()).toEqual(['@pg-fixture/wmw@1.0.0']);
      const block = make('block');
      const refused = await block.pnpm(['install']);
      expect(refused.code).not.toBe(0);
      expect(block.ran()).toEqual([]);
      dirs.push(join(warn.dir, '..'), join(block.dir, '..'));
    } finally {
      await registry.close();
    }
  }, 120_000);
});

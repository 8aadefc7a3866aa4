import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { failureMode } from '../src/guard';
import { declaredMode } from '../src/config/declared-mode';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-warn-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
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

/**
 * config/memo.ts: a stored verdict remembers the validated config, so an unchanged config file is
 * not parsed again. Used only for the same path, bytes and version, only from an authentic verdict
 * file, and always under the environment's overrides of this run.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config/load';
import { configMemoOf, type ConfigMemo } from '../src/config/memo';
import type { Report } from '../src/types';
import { storedConfigMemo, storeVerdict } from '../src/verdict-store';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-memo-');
const RC = 'mode: block\nfeed:\n  source: ./feed\n  publicKeys: ["k"]\nrules:\n  scorecard: { minScore: 5 }\n';

async function loaded(dir: string, env: NodeJS.ProcessEnv = {}, memo?: ConfigMemo) {
  return loadConfig({ cwd: dir, env, ...(memo ? { memo } : {}) });
}

describe('loadConfig and the config memo', () => {
  test('a YAML or JSON config is remembered before environment overrides', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.provenancerc'), RC);
    const config = await loaded(dir, { PROVENANCE_GUARD_MODE: 'warn' });
    expect(config.mode).toBe('warn');
    const memo = configMemoOf(config)!;
    expect(memo.file).toBe(join(dir, '.provenancerc'));
    expect(memo.config.mode).toBe('block');
    expect(memo.config.rules.scorecard?.minScore).toBe(5);
    const json = tempDir();
    writeFileSync(join(json, '.provenancerc.json'), JSON.stringify({ mode: 'warn', feed: { source: './feed', publicKeys: ['k'] } }));
    expect(configMemoOf(await loaded(json))?.config.mode).toBe('warn');
  });

  test('used only for the same file, bytes and version; the overrides of this run still apply', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.provenancerc'), RC);
    const memo = configMemoOf(await loaded(dir))!;
    // A memo that says something else than the file: whatever it says is what loadConfig returns
    // while it matches (why it is only read from a verdict file whose MAC verified).
    const other: ConfigMemo = { ...memo, config: { ...memo.config, mode: 'off' } };
    expect((await loaded(dir, {}, other)).mode).toBe('off');
    expect((await loaded(dir, { PROVENANCE_GUARD_MODE: 'warn' }, other)).mode).toBe('warn');
    expect((await loaded(dir, {}, { ...other, version: '0.0.0-other' })).mode).toBe('block');
    expect((await loaded(dir, {}, { ...other, file: join(dir, 'elsewhere', '.provenancerc') })).mode).toBe('block');
    expect((await loaded(dir, {}, { ...other, sha256: '0'.repeat(64) })).mode).toBe('block');
    // The copy handed out is the caller's: changing it changes no later load.
    const first = await loaded(dir, {}, other);
    first.rules.repository.allowedHosts.push('evil.example');
    expect((await loaded(dir, {}, other)).rules.repository.allowedHosts).not.toContain('evil.example');
    appendFileSync(join(dir, '.provenancerc'), '# one more byte\n');
    expect((await loaded(dir, {}, other)).mode).toBe('block');
  });

  test('package.json and JavaScript configs are never remembered', async () => {
    const pkg = tempDir();
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'x', provenance: { mode: 'warn', feed: { source: './feed', publicKeys: ['k'] } } }));
    expect(configMemoOf(await loaded(pkg))).toBeUndefined();
    const js = tempDir();
    writeFileSync(join(js, '.provenancerc.cjs'), "module.exports = { mode: 'warn', feed: { source: './feed', publicKeys: ['k'] } };\n");
    expect(configMemoOf(await loaded(js))).toBeUndefined();
  });
});

describe('storedConfigMemo', () => {
  const pass: Report = { summary: { packages: 0, pass: 0, warn: 0, block: 0, skip: 0 }, packages: [] };

  test('read from an authentic verdict file only', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.provenancerc'), RC);
    writeFileSync(join(dir, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n");
    mkdirSync(join(dir, 'node_modules'));
    const config = await loaded(dir);
    config.mode = 'off';
    const file = join(dir, 'node_modules', '.provenance-guard', 'check-verdict.json');
    const cacheDir = join(dir, '.cache');
    storeVerdict({ file, scope: 'check', lockfilePath: join(dir, 'pnpm-lock.yaml'), lockfile: 'x', config, feedPath: undefined, stateDir: cacheDir, now: new Date() }, pass);
    const memo = storedConfigMemo(file, cacheDir);
    expect(memo?.config.mode).toBe('block');
    expect(memo?.sha256).toBe(configMemoOf(config)?.sha256);
    expect(storedConfigMemo(file, join(dir, '.other-cache'))).toBeUndefined();
    expect(storedConfigMemo(undefined, cacheDir)).toBeUndefined();
    const stored = readFileSync(file, 'utf8');
    writeFileSync(file, stored.replace('"mode":"block"', '"mode":"off"'));
    expect(storedConfigMemo(file, cacheDir)).toBeUndefined();
  });
});

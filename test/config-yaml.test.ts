/**
 * src/config/yaml.ts: the one YAML reader of `.provenancerc` (pnpm's js-yaml, core schema), for
 * `check` and every adapter. What it must refuse, what it must read as the `yaml` library (which
 * `init` writes configs with) reads it, and what a broken file still declares.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as referenceParse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { declaredMode } from '../src/config/declared-mode';
import { loadConfig } from '../src/config/load';
import { MAX_CONFIG_VALUES, parseConfigYaml, valuesMoreThan } from '../src/config/yaml';
import { ConfigError } from '../src/errors';
import { RC_TEMPLATE } from '../src/init/rc-template';
import { renderPolicy, chooseRules } from '../src/init/policy';
import { rejected } from './helpers/errors';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-config-yaml-');

function rcIn(text: string, name = '.provenancerc'): { dir: string; file: string } {
  const dir = tempDir();
  writeFileSync(join(dir, 'package.json'), '{"name":"x"}');
  writeFileSync(join(dir, name), text);
  return { dir, file: join(dir, name) };
}

const loadError = (dir: string): Promise<ConfigError> => rejected(ConfigError, loadConfig({ cwd: dir, env: {} }));

/** Ten lists of ten, each level made of aliases of the one before: 10^7 values to a walk, ~300 bytes of text. */
const ALIAS_BOMB = ['a: &a [1,1,1,1,1,1,1,1,1,1]', ...'bcdef'.split('').map((name, i) => `${name}: &${name} [${Array(10).fill(`*${'abcdef'[i]}`).join(',')}]`), `exclude: [${Array(10).fill('*f').join(',')}]`].join('\n') + '\n';

describe('refused, naming the file and where', () => {
  test('aliases nested inside aliases: refused before anything walks them, at once', async () => {
    const { dir, file } = rcIn(ALIAS_BOMB);
    const started = performance.now();
    const error = await loadError(dir);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(error.code).toBe('ERR_PG_CONFIG_INVALID');
    expect(error.message).toBe(`${file}: invalid YAML: more than 100,000 values (aliases repeated inside aliases)`);
  });

  test('a key written twice, with its line and column', async () => {
    const { dir, file } = rcIn('mode: warn\nfeed:\n  maxAge: 7d\n  maxAge: 8d\n');
    expect((await loadError(dir)).message).toBe(`${file}: invalid YAML: duplicated mapping key at line 4, column 3`);
  });

  test('an unknown tag is an error, not a warning printed from inside an install', async () => {
    const { dir, file } = rcIn('mode: !block warn\n');
    expect((await loadError(dir)).message).toBe(`${file}: invalid YAML: unknown tag !<!block> at line 1, column 18`);
  });

  test('a flow collection left open, and two documents in one file', async () => {
    expect((await loadError(rcIn('mode: block\nrules: [\n').dir)).message).toMatch(/invalid YAML: unexpected end of the stream within a flow collection at line 3, column 1$/);
    expect((await loadError(rcIn('mode: block\n---\nmode: warn\n', '.provenancerc.yml').dir)).message).toMatch(/\.provenancerc\.yml: invalid YAML: expected a single document in the stream, but found more$/);
  });

  test('100,000 nested lists', () => {
    expect(parseConfigYaml(`x: ${'['.repeat(100_000)}`)).toEqual({ problem: 'nests more than 64 levels deep' });
  });
});

describe('valuesMoreThan', () => {
  test('counts a shared value each time it is used, and the root', () => {
    const shared = [1, 2, 3];
    const value = { a: shared, b: shared };
    // root + a + b + 3 + 3
    expect(valuesMoreThan(value, 9)).toBe(false);
    expect(valuesMoreThan(value, 8)).toBe(true);
    expect(valuesMoreThan('one', 1)).toBe(false);
  });

  test('the limit is one a real policy never meets', () => {
    const exclude = Array.from({ length: 10_000 }, (_, i) => `@acme/pkg-${i}`);
    expect(parseConfigYaml(`exclude:\n${exclude.map((name) => `  - "${name}"`).join('\n')}\n`)).toEqual({ value: { exclude } });
    expect(MAX_CONFIG_VALUES).toBe(100_000);
  });
});

describe('read as the yaml library reads it (init writes configs with it)', () => {
  const example = readFileSync(new URL('../.provenancerc.example', import.meta.url), 'utf8');
  const written = renderPolicy({ source: './.provenance/feed', publicKeys: ['MCowBQYDK2VwAyEA'], rules: chooseRules(undefined), now: new Date('2026-11-29T00:00:00Z') });
  test.each([
    ['.provenancerc.example', example],
    ["init's template", RC_TEMPLATE],
    ["init's policy", written],
    ['dates, yes/no, numbers, null, quoting', 'expires: 2027-03-31\nreason: yes\nother: no\nminScore: 7.5\nhex: 0x1F\nnothing: ~\nempty:\nquoted: "2027-03-31"\n'],
    ['flow and block forms, comments, a byte order mark', '\ufeff# policy\nrules:\n  repository: { require: claimed, allowedHosts: [github.com, "gitlab.com"] }  # hosts\n  scorecard:\n    checks:\n      Dangerous-Workflow: 10\n'],
    ['JSON indented with tabs', '{\n\t"mode": "warn",\n\t"feed": {\n\t\t"offline": true\n\t}\n}\n'],
    ['anchors and aliases', 'a: &x {require: off}\nrules:\n  rebuild: *x\n'],
  ])('%s', (_name, text) => {
    expect(parseConfigYaml(text)).toEqual({ value: referenceParse(text) as unknown });
  });
});

describe('the mode a broken file declares', () => {
  test('read from the YAML when it parses, from its lines when it does not', () => {
    expect(declaredMode(rcIn('mode: warn\nrules: {repository: {require: nonsense}}\n').file)).toBe('warn');
    expect(declaredMode(rcIn('mode: warn\nrules: [\n').file)).toBe('warn');
    // A flow mapping has no `mode:` line: only the YAML knows it.
    expect(declaredMode(rcIn('{mode: warn, rules: {repository: {require: nonsense}}}\n').file)).toBe('warn');
    // A key twice does not parse: the lines decide, and only when they agree.
    expect(declaredMode(rcIn('mode: warn\nfeed: {}\nmode: warn\n').file)).toBe('warn');
    expect(declaredMode(rcIn('mode: block\nfeed: {}\nmode: warn\n').file)).toBeUndefined();
    // A `mode:` inside a mapping is not the file's mode.
    expect(declaredMode(rcIn('rules:\n  mode: warn\n').file)).toBeUndefined();
    expect(declaredMode(rcIn(ALIAS_BOMB.replace('exclude', 'mode: warn\nexclude')).file)).toBe('warn');
  });
});

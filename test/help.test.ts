import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { HELP } from '../src/cli/help';
import { runCli } from './helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'pg-help-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The flags a command's parser accepts, as `--name`, read from its usage line. */
function flagsOfUsage(usage: string): string[] {
  return [...new Set([...usage.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]))];
}

describe('--help for every command and subcommand', () => {
  for (const command of ['check', 'explain', 'feed keygen', 'feed build', 'feed update', 'feed merge', 'feed verify', 'feed trust', 'verify', 'init']) {
    for (const flag of ['--help', '-h']) {
      test(`${command} ${flag}: exit 0, usage and one line per flag`, async () => {
        const r = await runCli(dir, [...command.split(' '), flag]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Usage: provenance-guard /);
        const lines = r.stdout.split('\n');
        for (const f of flagsOfUsage(HELP[command]!.usage)) {
          expect(lines.filter((l) => new RegExp(`^  (-h, )?${f}(?=[ ,])`).test(l)), `${command}: ${f}`).toHaveLength(1);
        }
        expect(lines.some((l) => /^ {2}-h, --help/.test(l))).toBe(true);
      });
    }
  }
  test('help wins over other flags and missing arguments; `feed --help` lists the subcommands', async () => {
    expect((await runCli(dir, ['feed', 'build', '--records', 'x', '--help'])).code).toBe(0);
    expect((await runCli(dir, ['explain', '-h'])).code).toBe(0);
    const feed = await runCli(dir, ['feed', '--help']);
    expect(feed.code).toBe(0);
    for (const sub of ['keygen', 'build', 'update', 'merge', 'verify', 'trust']) expect(feed.stdout).toContain(`feed ${sub}`);
    expect((await runCli(dir, ['--help'])).code).toBe(0);
  });
  test('feed update: the usage shows --records as the third choice it is, not as an extra option', async () => {
    const r = await runCli(dir, ['feed', 'update', '--base', 'f', '--key', 'k', '--out', 'o']);
    expect(r.stderr).toContain('give exactly one of --from-lockfile, --packages or --records');
    expect(HELP['feed update']!.usage).toContain('(--from-lockfile PATH | --packages NAME@VERSION,... | --records FILE.ndjson)');
  });
  test('an unknown flag is still a usage error (exit 2)', async () => {
    const r = await runCli(dir, ['check', '--nope']);
    expect(r.code).toBe(2);
  });
});

/** `npm run demo`: offline, under two minutes, real pnpm and Yarn installs, one refused with the full message, nothing left behind. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(__dirname, '..');

function runDemo(): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/demo.mjs')], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

test('npm run demo: the untrusted package is refused by pnpm and Yarn with the full message, the vetted ones install', async () => {
  const { code, output, ms } = await runDemo();
  expect(code, output).toBe(0);
  expect(ms).toBeLessThan(120_000);
  expect(output).toContain('ERR_PNPM_PROVENANCE_BLOCKED');
  expect(output).toMatch(/BLOCK {2}1 package: not in the verdict feed/);
  expect(output).toContain('- package: "@demo/free-prizes@6.6.6"');
  expect(output).toMatch(/@demo\/free-prizes@6\.6\.6 is blocked by the provenance policy/);
  expect(output).toContain('postinstall scripts that ran: @demo+is-even, @demo+left-pad (the vetted packages only)');
  expect(output).toContain('pnpm refused @demo/free-prizes: yes; Yarn refused it: yes');
  const work = /everything under (\S+),/.exec(output)?.[1];
  expect(work).toBeDefined();
  expect(existsSync(work!)).toBe(false);
}, 180_000);

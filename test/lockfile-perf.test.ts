import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readLockfile } from '../src/lockfile';

const tmp = mkdtempSync(join(tmpdir(), 'pg-lockfile-perf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A v9 lockfile shaped like pnpm's: 2,000 packages, each with two dependencies, some with peers. */
function generate(count: number): string {
  const integrity = (i: number) => `sha512-${Buffer.alloc(64, i % 251).toString('base64')}`;
  const name = (i: number) => (i % 3 === 0 ? `@scope-${i % 17}/pkg-${i}` : `pkg-${i}`);
  const q = (s: string) => (s.startsWith('@') ? `'${s}'` : s);
  const lines = ["lockfileVersion: '9.0'", '', 'settings:', '  autoInstallPeers: true', '  excludeLinksFromLockfile: false', '', 'importers:', '', '  .:', '    dependencies:'];
  for (let i = 0; i < 50; i++) lines.push(`      ${q(name(i))}:`, `        specifier: ^1.${i}.0`, `        version: 1.${i}.0`);
  lines.push('', 'packages:', '');
  for (let i = 0; i < count; i++) {
    lines.push(`  ${q(`${name(i)}@1.${i}.0`)}:`, `    resolution: {integrity: ${integrity(i)}}`, "    engines: {node: '>=18'}", '');
  }
  lines.push('snapshots:', '');
  for (let i = 0; i < count; i++) {
    const peer = i % 10 === 0 ? `(${name((i + 7) % count)}@1.${(i + 7) % count}.0)` : '';
    lines.push(`  ${q(`${name(i)}@1.${i}.0${peer}`)}:`, '    dependencies:');
    for (const d of [(i + 1) % count, (i + 2) % count]) lines.push(`      ${q(name(d))}: 1.${d}.0`);
    lines.push('');
  }
  return lines.join('\n');
}

function median(run: () => void): number {
  run(); // warm-up (JIT, module init)
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    run();
    runs.push(performance.now() - start);
  }
  return runs.sort((a, b) => a - b)[2]!;
}

// Absolute times depend on the machine's load; the fast path's advantage over the reference
// YAML parser does not (measured 8–20×). `npm run bench` measures the absolute figure.
test('a 2,000-package v9 pnpm lockfile takes the fast parse path (at least 3x the reference parser)', () => {
  const path = join(tmp, 'pnpm-lock.yaml');
  const text = generate(2000);
  writeFileSync(path, text);
  let count = 0;
  const fast = median(() => {
    count = readLockfile(path).length;
  });
  const reference = median(() => parseAllDocuments(text));
  console.log(`2,000-package v9 lockfile (${(text.length / 1024).toFixed(0)} KiB): readLockfile median ${fast.toFixed(1)} ms, yaml reference ${reference.toFixed(1)} ms`);
  expect(count).toBe(2000);
  expect(fast * 3).toBeLessThan(reference);
});

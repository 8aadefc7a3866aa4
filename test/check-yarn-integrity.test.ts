/**
 * `check` of a yarn.lock: Yarn records its own archive checksum, never the tarball's sha512, so a
 * package whose feed record has an integrity cannot be bound here (SPEC: never a pass). The run
 * says where the binding is made instead: the Yarn plugin, at fetch (`yarn provenance check`).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { cliProject, SHA, type TestProject } from './helpers/cli-project';

const record = (name: string, integrity: string | undefined) => ({
  name, version: '1.0.0', ...(integrity ? { integrity } : {}),
  repository: { url: `https://github.com/acme/${name}`, commit: 'a'.repeat(40), status: 'attested' },
  rebuild: { verdict: 'reproducible', source: 'oss-rebuild' },
  scorecard: { score: 8, date: '2026-11-01', checks: {} },
});

const entry = (name: string) => `"${name}@npm:^1.0.0":\n  version: 1.0.0\n  resolution: "${name}@npm:1.0.0"\n  checksum: 10c0/${'ab'.repeat(64)}\n  languageName: node\n  linkType: hard\n`;

let project: TestProject;
beforeAll(async () => {
  project = await cliProject([record('a', SHA(1)), record('b', undefined)], []);
  renameSync(join(project.dir, 'package-lock.json'), join(project.dir, 'unused.json'));
  writeFileSync(join(project.dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { a: '^1.0.0', b: '^1.0.0' } }));
  writeFileSync(join(project.dir, 'yarn.lock'), `__metadata:\n  version: 8\n  cacheKey: 10c0\n\n${entry('a')}\n${entry('b')}\n"app@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "app@workspace:."\n  dependencies:\n    a: "npm:^1.0.0"\n    b: "npm:^1.0.0"\n  languageName: unknown\n  linkType: soft\n`);
}, 60_000);
afterAll(() => project.cleanup());

test('a package whose record has an integrity is an integrity finding, and the run names yarn provenance check', async () => {
  const r = await runCli(project.dir, ['check', '--format', 'json']);
  expect(r.code, r.stderr).toBe(1);
  const packages = (JSON.parse(r.stdout) as { packages: { name: string; verdict: string; findings: { rule: string; message: string }[] }[] }).packages;
  expect(packages.find((p) => p.name === 'a')).toMatchObject({ verdict: 'block', findings: [{ rule: 'integrity', message: expect.stringContaining('cannot be bound') as string }] });
  expect(packages.find((p) => p.name === 'b')?.verdict).toBe('pass');
  expect(r.stderr).toContain('provenance-guard: yarn.lock records no npm integrity (Yarn verifies its own archive checksum), so 1 package cannot be bound to the feed here; in a Yarn project run `yarn provenance check`');
});

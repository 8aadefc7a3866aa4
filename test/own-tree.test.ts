/**
 * The guard installed in a team's project is itself a dependency the policy checks: its own
 * package.json names its repository, and its whole production dependency tree (as installed
 * here, each manifest's `repository` read like the registry source reads it) passes the policy
 * `init` writes for a feed gathered from that tree, under mode: block.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { validateConfig } from '../src/config/validate';
import { normalizeRepository } from '../src/evidence/repository';
import { chooseRules, renderPolicy } from '../src/init/policy';
import { OWN_REPOSITORY_EXCEPTIONS } from '../src/init/own-exceptions';
import { Policy } from '../src/policy/evaluate';
import type { FeedRecord, ResolvedPackage } from '../src/types';

const ROOT = join(__dirname, '..');

interface LockEntry { version?: string; integrity?: string; dev?: boolean; link?: boolean; name?: string }

/** The production tree of provenance-guard (package-lock.json without dev entries), plus itself. */
function productionTree(): { pkg: ResolvedPackage; manifest: Record<string, unknown> }[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const self = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & { name: string; version: string };
  const out: { pkg: ResolvedPackage; manifest: Record<string, unknown> }[] = [{ pkg: { name: self.name, version: self.version, source: "registry" }, manifest: self }];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev || entry.link || !entry.version) continue;
    const dir = join(ROOT, path);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    out.push({ pkg: { name: manifest.name as string, version: entry.version, source: 'registry', ...(entry.integrity ? { integrity: entry.integrity } : {}) }, manifest });
  }
  return out;
}

function recordOf(pkg: ResolvedPackage, manifest: Record<string, unknown>): FeedRecord {
  const field = manifest.repository ?? (Array.isArray(manifest.repositories) ? manifest.repositories[0] : undefined);
  const repo = normalizeRepository(field);
  return { name: pkg.name, version: pkg.version, ...(pkg.integrity ? { integrity: pkg.integrity } : {}), repository: repo ? { url: repo.url, status: 'claimed' } : { status: 'none' } };
}

test('provenance-guard names its repository', () => {
  const self = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  expect(normalizeRepository(self.repository)?.url).toBe('https://github.com/provenance-guard/provenance-guard');
});

test("the guard's own production tree passes the policy init writes, in block mode", () => {
  const tree = productionTree();
  expect(tree.length).toBeGreaterThan(50);
  const records = tree.map(({ pkg, manifest }) => recordOf(pkg, manifest));
  const coverage = { records: records.length, repository: records.filter((r) => r.repository).length, rebuild: 0, scorecard: 0, contents: 0 };
  const text = renderPolicy({ source: './feed', publicKeys: ['A'.repeat(43) + '='], rules: chooseRules(coverage) }).replace(/^mode: warn/m, 'mode: block');
  const { config, problems } = validateConfig(parse(text), ROOT);
  expect(problems).toEqual([]);
  const policy = new Policy(config, new Date());
  const blocked = tree.map(({ pkg }, i) => policy.evaluate(pkg, records[i])).filter((e) => e.verdict !== 'pass');
  expect(blocked.map((e) => `${e.name}@${e.version}: ${e.findings.map((f) => f.message).join('; ')}`)).toEqual([]);
});

test('the overrides init writes for the guard are exactly the ones its tree needs, each for one version and the repository rule only', () => {
  const tree = productionTree();
  const none = tree.filter(({ pkg, manifest }) => recordOf(pkg, manifest).repository?.status === 'none').map(({ pkg }) => `${pkg.name}@${pkg.version}`);
  expect(none.sort()).toEqual(OWN_REPOSITORY_EXCEPTIONS.map((e) => e.package).sort());
});

/** A throwaway project for CLI tests: keys, a signed feed of the given records, a package-lock and a policy. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli';

export const SHA = (n: number): string => 'sha512-' + Buffer.alloc(64, n).toString('base64');

export interface LockEntry {
  name: string;
  version: string;
  integrity?: string;
  resolved?: string;
}

export function packageLock(packages: readonly LockEntry[]): string {
  const entries: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: Object.fromEntries(packages.map((p) => [p.name, p.version])) } };
  for (const p of packages) {
    entries[`node_modules/${p.name}`] = { version: p.version, ...(p.integrity ? { integrity: p.integrity } : {}), ...(p.resolved ? { resolved: p.resolved } : {}) };
  }
  return JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: entries }, null, 2);
}

export const policy = (publicKey: string, mode = 'block', scorecard = '{ minScore: 5 }'): string => `mode: ${mode}
feed:
  source: ./feed
  publicKeys: ["${publicKey}"]
rules:
  repository: { require: claimed, allowedHosts: [github.com] }
  rebuild: { require: reproducible }
  scorecard: ${scorecard}
unknown: warn
`;

export interface TestProject {
  dir: string;
  publicKey: string;
  cleanup(): void;
}

/** Keys, a feed of `records`, a package-lock.json of `lock` and a .provenancerc in a new temp dir. */
export async function cliProject(records: readonly object[], lock: readonly LockEntry[], mode = 'block', scorecard?: string): Promise<TestProject> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-cliproj-'));
  const keygen = await runCli(dir, ['feed', 'keygen', '--out-dir', 'keys']);
  if (keygen.code !== 0) throw new Error(keygen.stderr);
  const publicKey = keygen.stdout.trim();
  writeFileSync(join(dir, 'records.ndjson'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const built = await runCli(dir, ['feed', 'build', '--records', 'records.ndjson', '--key', 'keys/feed.key', '--out', 'feed']);
  if (built.code !== 0) throw new Error(built.stderr);
  writeFileSync(join(dir, 'package-lock.json'), packageLock(lock));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
  writeFileSync(join(dir, '.provenancerc'), policy(publicKey, mode, scorecard));
  return { dir, publicKey, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

#!/usr/bin/env node
// Measures live evidence gathering on a real dependency tree of about 1,000 packages:
// resolves a lockfile from the registry this machine uses (npm install --package-lock-only),
// then runs gatherEvidence with only the registry source (the other services are not
// reachable here), cold (empty cache) and warm (same cache), and prints the share of
// packages with a claimed repository and the wall times.
//
//   node scripts/measure-evidence.mjs [--concurrency N] [--keep]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const concurrency = Number(args[args.indexOf('--concurrency') + 1]) || 8;
const keep = args.includes('--keep');

// Well-known packages whose combined tree has ~1,000 lockfile entries (1,024 when measured).
const DEPENDENCIES = {
  webpack: '5.97.1',
  eslint: '9.17.0',
  jest: '29.7.0',
  express: '4.21.2',
  '@babel/preset-env': '7.26.0',
  '@angular/cli': '19.0.6',
  'typescript-eslint': '8.18.2',
  vite: '6.0.6',
  nodemon: '3.1.9',
  mongoose: '8.9.3',
  'aws-sdk': '2.1692.0',
  googleapis: '144.0.0',
  storybook: '8.4.7',
  puppeteer: '23.11.1',
};

const work = mkdtempSync(join(tmpdir(), 'pg-measure-evidence-'));
const project = join(work, 'project');
const cacheDir = join(work, 'cache');
mkdirSync(project, { recursive: true });
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'measure', version: '1.0.0', private: true, dependencies: DEPENDENCIES }, null, 2));

const registry = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
console.log(`registry: ${registry}`);
let t = Date.now();
execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project, stdio: 'ignore' });
console.log(`lockfile resolved in ${((Date.now() - t) / 1000).toFixed(1)} s`);

const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
const packages = [];
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (!path || entry.link || !entry.version) continue;
  const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  packages.push({ name, version: entry.version, integrity: entry.integrity, source: 'registry' });
}
const distinct = new Set(packages.map((p) => `${p.name}@${p.version}`)).size;
console.log(`lockfile entries: ${packages.length} (${distinct} distinct name@version)`);

// Bundle the evidence module from source so the measurement runs exactly the code under test.
// Inside node_modules so the bundle resolves pacote and @sigstore/* from this checkout.
const bundle = join(root, 'node_modules', '.cache', 'provenance-guard-measure', 'evidence.cjs');
await build({
  entryPoints: [join(root, 'src/evidence/index.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.19',
  external: ['pacote', 'sigstore', '@sigstore/*'],
  logLevel: 'warning',
});
const require = createRequire(join(root, 'package.json'));
const { gatherEvidence } = require(bundle);

const off = { enabled: false };
const sources = {
  registry: { enabled: true, url: registry },
  provenance: off,
  depsDev: off,
  scorecard: off,
  ossRebuild: off,
  timeout: 30_000,
  concurrency,
  cacheTtl: 86_400_000,
  onError: 'warn',
};

async function run(label) {
  const started = Date.now();
  const result = await gatherEvidence(packages, {
    sources,
    cacheDir,
    npmrc: { cwd: project },
    onProgress: process.stderr.isTTY ? (d, n) => process.stderr.write(`\r${label}: ${d}/${n}`) : undefined,
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const seconds = (Date.now() - started) / 1000;
  const withRepo = result.records.filter((r) => r.repository).length;
  const byHost = {};
  for (const r of result.records) if (r.repository) {
    const host = new URL(r.repository.url).hostname;
    byHost[host] = (byHost[host] ?? 0) + 1;
  }
  const withCommit = result.records.filter((r) => r.repository?.commit).length;
  const withDirectory = result.records.filter((r) => r.repository?.directory).length;
  console.log(
    `${label}: ${result.records.length} records in ${seconds.toFixed(1)} s; claimed repository ${withRepo}/${result.records.length} ` +
      `(${((100 * withRepo) / result.records.length).toFixed(1)} %); with commit (gitHead) ${withCommit}; with directory ${withDirectory}; ` +
      `warnings ${result.warnings.length}`,
  );
  return { seconds, result, byHost };
}

const cold = await run('cold');
const warm = await run('warm');
console.log(`hosts: ${JSON.stringify(cold.byHost)}`);
if (cold.result.warnings.length) console.log(`first warnings:\n  ${cold.result.warnings.slice(0, 5).join('\n  ')}`);
const sizeKb = Number(execFileSync('du', ['-sk', cacheDir], { encoding: 'utf8' }).split('\t')[0]);
console.log(`cache on disk: ${(sizeKb / 1024).toFixed(1)} MiB (${cacheDir})`);
const noRepo = cold.result.records.filter((r) => !r.repository).map((r) => `${r.name}@${r.version}`);
console.log(`without a repository (${noRepo.length}): ${noRepo.slice(0, 15).join(', ')}${noRepo.length > 15 ? ', …' : ''}`);
console.log(JSON.stringify({ entries: packages.length, records: cold.result.records.length, claimed: cold.result.records.filter((r) => r.repository).length, coldSeconds: cold.seconds, warmSeconds: warm.seconds, concurrency }));
if (!keep) rmSync(work, { recursive: true, force: true });

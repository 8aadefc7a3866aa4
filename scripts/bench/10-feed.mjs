// Feed section: 1,000,000-record feed build, full verify, a cold-process check of a
// 2,000-package pnpm-lock.yaml (v9) against it (first open of a new feed, then repeats), and a
// repeat check of an installed project (verdict reused) beside a bare `node -e 0`, and the check
// against the same feed served from 127.0.0.1 as an https-style `#range` source (bytes transferred).
// BENCH_FEED_RECORDS=10000000 measures 10M records (about 1.4 GB of feed).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { median } from './lib/stats.mjs';

const RECORDS = Number(process.env.BENCH_FEED_RECORDS ?? 1_000_000);
const LOCK_PACKAGES = 2_000;
const VERSIONS_PER_NAME = 4;
const GENERATOR_VERSION = 1;
const WORDS = ['core', 'util', 'parse', 'react', 'plugin', 'loader', 'config', 'string', 'array', 'stream', 'http', 'fs', 'path',
  'color', 'date', 'json', 'yaml', 'glob', 'cli', 'test', 'mock', 'lint', 'format', 'types', 'eslint', 'babel', 'vite', 'rollup',
  'webpack', 'postcss', 'node', 'async', 'promise', 'event', 'emitter', 'buffer', 'crypto', 'hash', 'cache', 'store', 'query'];
const CHECKS = ['Binary-Artifacts', 'Branch-Protection', 'CI-Tests', 'Code-Review', 'Dangerous-Workflow', 'Dependency-Update-Tool',
  'Fuzzing', 'License', 'Maintained', 'Packaging', 'Pinned-Dependencies', 'SAST', 'Security-Policy', 'Signed-Releases', 'Token-Permissions', 'Vulnerabilities'];

/** mulberry32: a small deterministic PRNG, so every run generates the same data. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function nameOf(n) {
  const word = WORDS[n % WORDS.length];
  const word2 = WORDS[(n * 7 + 3) % WORDS.length];
  return n % 7 === 0 ? `@scope-${n % 3000}/${word}-${word2}-${n}` : `${word}-${word2}-${n}`;
}

function versionOf(n, k) {
  const major = (n % 5) + (k === VERSIONS_PER_NAME - 1 ? 1 : 0);
  return k === 2 && n % 11 === 0 ? `${major}.${k}.0-beta.${n % 4}` : `${major}.${k}.${(n * 7 + k) % 20}`;
}

function integrityOf(name, version) {
  return 'sha512-' + createHash('sha512').update(`${name}@${version}`).digest('base64');
}

function record(n, k, rand) {
  const name = nameOf(n);
  const version = versionOf(n, k);
  const rec = { name, version, integrity: integrityOf(name, version) };
  const repoUrl = `https://github.com/org-${n % 5000}/${name.replace(/^@[^/]+\//, '')}`;
  const r = rand();
  if (r < 0.85) {
    const status = r < 0.6 ? 'claimed' : r < 0.82 ? 'attested' : 'mismatch';
    rec.repository = { url: repoUrl, commit: createHash('sha1').update(`${n}:${k}`).digest('hex'), status };
    if (status === 'mismatch') rec.repository.attestedUrl = `https://github.com/fork-${n % 97}/${name.replace(/^@[^/]+\//, '')}`;
  }
  if (rand() < 0.4) {
    const v = rand();
    rec.rebuild = { verdict: v < 0.7 ? 'reproducible' : v < 0.85 ? 'not-reproducible' : 'unknown', source: v < 0.5 ? 'oss-rebuild' : 'oss-reproducible' };
  }
  if (rand() < 0.6) {
    const checks = {};
    for (const check of CHECKS) if (rand() < 0.6) checks[check] = Math.floor(rand() * 12) - 1;
    rec.scorecard = { score: Math.round(rand() * 100) / 10, date: '2026-11-01', checks };
  }
  return rec;
}

async function generateRecords(path) {
  const rand = prng(42);
  const out = createWriteStream(path);
  let batch = [];
  for (let i = 0; i < RECORDS; i++) {
    batch.push(JSON.stringify(record(Math.floor(i / VERSIONS_PER_NAME), i % VERSIONS_PER_NAME, rand)));
    if (batch.length === 5000) {
      if (!out.write(batch.join('\n') + '\n')) await new Promise((r) => out.once('drain', r));
      batch = [];
    }
  }
  if (batch.length) out.write(batch.join('\n') + '\n');
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
}

/** 2,000 packages of the feed: mostly one version per name, some names twice, deps between them. */
function lockfilePackages() {
  const names = Math.floor(RECORDS / VERSIONS_PER_NAME);
  const picked = [];
  const seen = new Set();
  for (let j = 0; picked.length < LOCK_PACKAGES; j++) {
    const n = (j * 104_729 + 13) % names;
    const ks = j % 9 === 0 ? [0, 3] : [j % VERSIONS_PER_NAME];
    for (const k of ks) {
      const key = `${n}:${k}`;
      if (seen.has(key) || picked.length >= LOCK_PACKAGES) continue;
      seen.add(key);
      picked.push({ name: nameOf(n), version: versionOf(n, k) });
    }
  }
  return picked;
}

function quoteKey(key) {
  return /^[@']/.test(key) || key.includes(':') ? `'${key}'` : key;
}

function writeLockfile(dir, packages) {
  const rand = prng(7);
  const lines = ["lockfileVersion: '9.0'", '', 'settings:', '  autoInstallPeers: true', '  excludeLinksFromLockfile: false', '', 'importers:', '', '  .:', '    dependencies:'];
  const direct = packages.slice(0, 60);
  const directNames = new Set();
  for (const p of direct) {
    if (directNames.has(p.name)) continue;
    directNames.add(p.name);
    lines.push(`      ${quoteKey(p.name)}:`, `        specifier: ^${p.version}`, `        version: ${p.version}`);
  }
  lines.push('', 'packages:', '');
  for (const p of packages) {
    lines.push(`  ${quoteKey(`${p.name}@${p.version}`)}:`, `    resolution: {integrity: ${integrityOf(p.name, p.version)}}`);
    if (rand() < 0.3) lines.push("    engines: {node: '>=18'}");
    lines.push('');
  }
  lines.push('snapshots:', '');
  for (let i = 0; i < packages.length; i++) {
    const p = packages[i];
    const deps = new Map();
    const count = Math.floor(rand() * 5);
    for (let d = 0; d < count; d++) {
      const dep = packages[Math.floor(rand() * packages.length)];
      if (dep.name !== p.name) deps.set(dep.name, dep.version);
    }
    if (deps.size === 0) {
      lines.push(`  ${quoteKey(`${p.name}@${p.version}`)}: {}`, '');
      continue;
    }
    lines.push(`  ${quoteKey(`${p.name}@${p.version}`)}:`, '    dependencies:');
    for (const [name, version] of deps) lines.push(`      ${quoteKey(name)}: ${version}`);
    lines.push('');
  }
  writeFileSync(join(dir, 'pnpm-lock.yaml'), lines.join('\n'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench-project', version: '1.0.0', private: true,
    dependencies: Object.fromEntries(direct.map((p) => [p.name, `^${p.version}`])) }, null, 2) + '\n');
  writeFileSync(join(dir, 'packages.json'), JSON.stringify(packages.map((p) => [p.name, p.version])));
}

const TOOLS = `
import { readFileSync } from 'node:fs';
import { generateKeyPair } from './src/feed/keys';
import { buildFeed } from './src/feed/build';
import { verifyFeed } from './src/feed/reader';
import { readRecordsFile } from './src/feed/records';
const [cmd, ...args] = process.argv.slice(2);
async function main() {
  if (cmd === 'keygen') console.log(generateKeyPair(args[0]!).publicKey);
  else if (cmd === 'build') console.log(JSON.stringify((await buildFeed({ records: readRecordsFile(args[0]!), privateKeyPath: args[1]!, out: args[2]! })).header));
  else if (cmd === 'verify') console.log(JSON.stringify(verifyFeed(args[0]!, [readFileSync(args[1]!, 'utf8')])));
  else throw new Error('unknown command ' + cmd);
}
main().catch((e) => { console.error(e.message); process.exit(2); });
`;

const LOOKUPS = `
import { readFileSync } from 'node:fs';
import { openFeed } from './src/feed/reader';
const [feedPath, pubPath, packagesPath] = process.argv.slice(2);
const packages = JSON.parse(readFileSync(packagesPath!, 'utf8')) as [string, string][];
const feed = openFeed(feedPath!, { publicKeys: [readFileSync(pubPath!, 'utf8')] });
let found = 0;
for (const [name, version] of packages) if (feed.lookup(name, version)) found++;
feed.close();
console.log(JSON.stringify({ lookups: packages.length, found }));
`;

export async function run(ctx) {
  const dir = join(ctx.benchDir, 'feed');
  const checkDir = join(ctx.benchDir, 'check');
  mkdirSync(dir, { recursive: true });
  mkdirSync(checkDir, { recursive: true });
  const recordsPath = join(dir, 'records.ndjson');
  const stamp = join(dir, 'records.stamp');
  const stampText = JSON.stringify({ GENERATOR_VERSION, RECORDS, VERSIONS_PER_NAME });
  if (!existsSync(recordsPath) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== stampText) {
    const t = Date.now();
    await generateRecords(recordsPath);
    writeFileSync(stamp, stampText);
    ctx.print(`generated ${RECORDS.toLocaleString('en')} records in ${Date.now() - t} ms → ${recordsPath}`);
  }
  const packages = lockfilePackages();
  writeLockfile(checkDir, packages);

  const tools = await ctx.bundle('feed-tools', TOOLS);
  const lookups = await ctx.bundle('feed-lookups', LOOKUPS);
  const keysDir = join(dir, 'keys');
  if (!existsSync(join(keysDir, 'feed.key'))) {
    const r = await ctx.measure(process.execPath, [tools, 'keygen', keysDir]);
    if (r.code !== 0) throw new Error(`keygen failed: ${r.stderr}`);
  }
  const pubPath = join(keysDir, 'feed.pub');
  const publicKey = readFileSync(pubPath, 'utf8').trim();
  const feedPath = join(dir, 'provenance.feed');
  const cache = join(ctx.benchDir, 'cache');
  rmSync(cache, { recursive: true, force: true });
  const env = { PROVENANCE_GUARD_CACHE_DIR: cache };

  writeFileSync(join(checkDir, '.provenancerc.json'), JSON.stringify({
    mode: 'warn',
    feed: { source: feedPath, publicKeys: [publicKey], maxAge: '30d', onStale: 'warn', offline: true },
    unknown: 'warn',
  }, null, 2) + '\n');

  const must = (label, r) => {
    ctx.print(ctx.formatResult(label, r));
    if (r.code !== 0) throw new Error(`${label} failed:\n${r.stderr}`);
    return r;
  };
  // The commands measured: the real CLI (dist/cli.cjs); BENCH_USE_CLI=0 switches feed build, feed
  // verify and the cold check to the bundled feed scripts (to time the feed code alone).
  const USE_CLI = process.env.BENCH_USE_CLI !== '0';
  const cli = join(ctx.root, 'dist', 'cli.cjs');
  const cliCheck = [cli, 'check', '--lockfile', join(checkDir, 'pnpm-lock.yaml'), '--config', join(checkDir, '.provenancerc.json'), '--format', 'json'];
  const commands = USE_CLI
    ? {
        build: [cli, 'feed', 'build', '--records', recordsPath, '--key', join(keysDir, 'feed.key'), '--out', feedPath],
        verify: [cli, 'feed', 'verify', feedPath, '--public-key', pubPath],
        lookups: cliCheck,
      }
    : {
        build: [tools, 'build', recordsPath, join(keysDir, 'feed.key'), feedPath],
        verify: [tools, 'verify', feedPath, pubPath],
        lookups: [lookups, feedPath, pubPath, join(checkDir, 'packages.json')],
      };
  const what = USE_CLI ? 'CLI check --format json' : 'feed lookups';

  // BENCH_FEED_REUSE=1: keep the feed built by a previous run (only the checks are measured).
  if (process.env.BENCH_FEED_REUSE === '1' && existsSync(feedPath)) ctx.print('feed build skipped (BENCH_FEED_REUSE=1)');
  else must(`feed build (${RECORDS.toLocaleString('en')} records)`, await ctx.measure(process.execPath, commands.build, { env }));
  const { size } = await import('node:fs').then((fs) => fs.statSync(feedPath));
  ctx.print(`  feed file ${(size / 1024 / 1024).toFixed(1)} MB = ${(size / RECORDS).toFixed(0)} bytes a record (goal < 150), records file ${(await import('node:fs').then((fs) => fs.statSync(recordsPath).size) / 1024 / 1024).toFixed(1)} MB`);
  must('feed verify (every byte)', await ctx.measure(process.execPath, commands.verify, { env }));

  // Exit code 1 (a package blocks) is a normal outcome of `check`.
  const ok = (r) => (r.code === 1 && USE_CLI ? { ...r, code: 0 } : r);
  const summary = (r) => {
    try {
      const out = JSON.parse(r.stdout);
      return out.summary ? `summary ${JSON.stringify(out.summary)}` : JSON.stringify(out);
    } catch {
      return '(stdout is not one JSON document)';
    }
  };
  // No node_modules: a cold check evaluates everything (an installed project reuses its verdict, below).
  rmSync(join(checkDir, 'node_modules'), { recursive: true, force: true });
  const lookupEnv = { ...env, PROVENANCE_GUARD_CACHE_DIR: join(ctx.benchDir, 'cache-fresh') };
  rmSync(lookupEnv.PROVENANCE_GUARD_CACHE_DIR, { recursive: true, force: true });
  const first = must(`cold ${what}, ${packages.length} pkgs, first open of the feed`, ok(await ctx.measure(process.execPath, commands.lookups, { env: lookupEnv, cwd: checkDir })));
  ctx.print(`  ${summary(first)}   goal: first open < 300 ms at 1,000,000 records`);
  for (let i = 1; i <= 3; i++) {
    const r = must(`cold ${what}, ${packages.length} pkgs, feed opened before #${i}`, ok(await ctx.measure(process.execPath, commands.lookups, { env, cwd: checkDir })));
    if (i === 1) ctx.print(`  ${summary(r)}`);
  }
  if (!USE_CLI) {
    if (existsSync(cli)) {
      for (let i = 1; i <= 2; i++) {
        const r = await ctx.measure(process.execPath, cliCheck, { env, cwd: checkDir });
        ctx.print(ctx.formatResult(`cold CLI check --format json, ${packages.length} pkgs #${i}`, r));
        if (r.code > 1) ctx.print(`  CLI failed: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' | ')}`);
        else if (i === 1) ctx.print(`  ${summary(r)}`);
      }
    } else {
      ctx.print('  (dist/cli.cjs not built: CLI check not measured)');
    }
  }
  if (USE_CLI) await repeatCheck(ctx, cliCheck, checkDir, env);
  if (USE_CLI) await rangeCheck(ctx, cli, checkDir, feedPath, publicKey, size);
  ctx.shared.feed = { feedPath, publicKey, pubPath, lockfileDir: checkDir, cacheDir: cache };
}

/** A second check of an unchanged, installed project reuses its verdict: timed beside `node -e 0`. */
async function repeatCheck(ctx, cliCheck, checkDir, env) {
  const nodeModules = join(checkDir, 'node_modules');
  rmSync(nodeModules, { recursive: true, force: true });
  mkdirSync(nodeModules);
  const stored = await ctx.measure(process.execPath, cliCheck, { env, cwd: checkDir });
  ctx.print(ctx.formatResult('check of an installed project, verdict stored', stored));
  const RUNS = Number(process.env.BENCH_REPEAT_RUNS ?? 7);
  const bare = [];
  const repeat = [];
  // Interleaved, so load on a shared machine hits both alike.
  for (let i = 0; i < RUNS; i++) {
    bare.push((await ctx.measure(process.execPath, ['-e', '0'])).wallMs);
    const r = await ctx.measure(process.execPath, cliCheck, { env, cwd: checkDir });
    if (r.code > 1) throw new Error(`repeat check failed:\n${r.stderr}`);
    repeat.push(r.wallMs);
  }
  const ratio = median(repeat) / median(bare);
  ctx.print(`bare node -e 0 (median of ${RUNS})`.padEnd(58) + ` wall ${median(bare).toFixed(0).padStart(7)} ms`);
  ctx.print(`repeat check, verdict reused (median of ${RUNS})`.padEnd(58) + ` wall ${median(repeat).toFixed(0).padStart(7)} ms   ${ratio.toFixed(2)}× node -e 0 (goal ≤ 1.3×)`);
  rmSync(nodeModules, { recursive: true, force: true });
}

/** Serves one file with range requests and an ETag from 127.0.0.1, counting the bytes sent. */
async function rangeServer(path) {
  const size = statSync(path).size;
  const etag = `"${size}-${Math.floor(statSync(path).mtimeMs)}"`;
  const stats = { bytes: 0, requests: 0 };
  const server = createServer((req, res) => {
    stats.requests++;
    if (req.headers['if-none-match'] === etag) return res.writeHead(304, { etag }).end();
    const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    if (!m) return res.writeHead(416).end();
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), size - 1);
    stats.bytes += end - start + 1;
    res.writeHead(206, { etag, 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${size}` });
    createReadStream(path, { start, end }).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/provenance.feed`, stats, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

/** The same check against the feed served over HTTP with `#range`: cold (empty cache), then warm. */
async function rangeCheck(ctx, cli, checkDir, feedPath, publicKey, size) {
  const server = await rangeServer(feedPath);
  const dir = join(ctx.benchDir, 'check-range');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pnpm-lock.yaml'), readFileSync(join(checkDir, 'pnpm-lock.yaml')));
  writeFileSync(join(dir, '.provenancerc.json'), JSON.stringify({ mode: 'warn', feed: { source: `${server.url}#range`, publicKeys: [publicKey], maxAge: '30d', onStale: 'warn' }, unknown: 'warn' }, null, 2) + '\n');
  const env = { PROVENANCE_GUARD_CACHE_DIR: join(ctx.benchDir, 'cache-range') };
  rmSync(env.PROVENANCE_GUARD_CACHE_DIR, { recursive: true, force: true });
  const args = [cli, 'check', '--lockfile', join(dir, 'pnpm-lock.yaml'), '--config', join(dir, '.provenancerc.json'), '--format', 'json'];
  try {
    for (const label of ['cold (empty cache)', 'warm']) {
      const before = { ...server.stats };
      const r = await ctx.measure(process.execPath, args, { env, cwd: dir });
      if (r.code > 1) throw new Error(`#range check failed:\n${r.stderr}`);
      const mb = (server.stats.bytes - before.bytes) / 1024 / 1024;
      ctx.print(ctx.formatResult(`#range check from 127.0.0.1, ${label}`, r));
      ctx.print(`  transferred ${mb.toFixed(2)} MB in ${server.stats.requests - before.requests} requests (feed ${(size / 1024 / 1024).toFixed(0)} MB; goal at 50M records: < 10 MB cold, nothing warm)`);
    }
  } finally {
    await server.close();
  }
}

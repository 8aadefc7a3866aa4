// Bun section: `bun install --frozen-lockfile` of a generated 1,000-package tree from a warm Bun
// cache (no node_modules, as in CI; and again with node_modules up to date), without and with
// the provenance-guard scanner (`[install.security] scanner = "provenance-guard"`), and with a
// scanner that finds nothing, interleaved in the same run. provenance-guard is published to the
// bench registry (the built scanner and its files, under a version named after their hash) as the
// guard project's devDependency.
// BENCH_BUN_RUNS, BENCH_BUN_PACKAGES.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildBenchFeed } from './lib/feed.mjs';
import { benchRc } from './lib/rc.mjs';
import { publishTree, startVerdaccio, stopVerdaccio } from './lib/registry.mjs';
import { forgetStoredVerdicts } from './lib/stored-verdicts.mjs';
import { median, secondsAdded } from './lib/stats.mjs';
import { benchTree } from './lib/tree.mjs';

const PACKAGES = Number(process.env.BENCH_BUN_PACKAGES ?? 1000);
const RUNS = Number(process.env.BENCH_BUN_RUNS ?? 5);
const GENERATOR_VERSION = 1;
const SCOPE = '@pg-bench-bun';

/** Publishes a scanner package `name@version`: package.json, `files` (path → content), `main` the scanner; an existing version is kept. */
async function publishScanner(ctx, url, { name, version, files, main }, dir) {
  const tar = createRequire(join(ctx.root, 'package.json'))('tar');
  const pkgDir = join(dir, 'scanner-pack');
  rmSync(pkgDir, { recursive: true, force: true });
  const manifest = { name, version, license: 'Apache-2.0', exports: { '.': { bun: `./${main}`, default: `./${main}` }, './bun': `./${main}` } };
  mkdirSync(join(pkgDir, 'package'), { recursive: true });
  writeFileSync(join(pkgDir, 'package/package.json'), JSON.stringify(manifest));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(join(pkgDir, 'package', dirname(file)), { recursive: true });
    writeFileSync(join(pkgDir, 'package', file), content);
  }
  const out = join(pkgDir, 'out.tgz');
  await tar.create({ gzip: true, cwd: pkgDir, file: out, portable: true, mtime: new Date(0) }, ['package']);
  const data = readFileSync(out);
  rmSync(pkgDir, { recursive: true, force: true });
  const filename = `${name}-${version}.tgz`;
  const body = { _id: manifest.name, name: manifest.name, 'dist-tags': { latest: version },
    versions: { [version]: { ...manifest, _id: `${manifest.name}@${version}`, dist: { integrity: 'sha512-' + createHash('sha512').update(data).digest('base64'),
      shasum: createHash('sha1').update(data).digest('hex'), tarball: `${url}/${manifest.name}/-/${filename}` } } },
    _attachments: { [filename]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length } } };
  const res = await fetch(`${url}/${manifest.name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok && res.status !== 409) throw new Error(`publish ${name}: ${res.status} ${await res.text()}`);
}

/** A scanner that finds nothing, to tell Bun's cost of running any scanner from the guard's own. */
const NOOP_SCANNER = { name: 'pg-bench-noop-scanner', version: '1.0.0', main: 'index.cjs', files: { 'index.cjs': "module.exports = { scanner: { version: '1', async scan() { return []; } } };\n" } };
const KINDS = ['plain', 'noop', 'guard'];

export async function run(ctx) {
  const base = join(ctx.benchDir, 'bun');
  const bun = join(ctx.root, 'node_modules/@oven/bun-linux-x64/bin/bun');
  // The scanner bundle and the files it loads on first use beside it, as the package ships them.
  const distDir = join(ctx.root, 'plugins/bun/dist');
  const files = Object.fromEntries(readdirSync(distDir).sort().map((file) => [`plugins/bun/dist/${file}`, readFileSync(join(distDir, file))]));
  const digest = createHash('sha256');
  for (const [file, content] of Object.entries(files)) digest.update(`${file}\0${content.length}\0`).update(content);
  const scannerVersion = `0.0.0-bench.${digest.digest('hex').slice(0, 12)}`;
  const { packages, root } = benchTree(SCOPE, PACKAGES);
  const { server, url } = await startVerdaccio(ctx, base);
  try {
    const recordsPath = await publishTree(ctx, url, packages, { dir: base, stamp: `published-${GENERATOR_VERSION}-${PACKAGES}`, packDir: join(base, 'pack') });
    await publishScanner(ctx, url, { name: 'provenance-guard', version: scannerVersion, files, main: 'plugins/bun/dist/scanner.cjs' }, base);
    await publishScanner(ctx, url, NOOP_SCANNER, base);
    const { feedPath, publicKey } = await buildBenchFeed(ctx, { tool: 'bun-bench-feed', dir: base, recordsPath });
    const home = join(base, 'home');
    const env = { PATH: process.env.PATH, HOME: home, BUN_INSTALL_CACHE_DIR: join(base, 'cache'), PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'), PROVENANCE_GUARD_STATE_DIR: join(home, 'pg-state') };
    const projects = {};
    const scanners = { plain: undefined, noop: { name: NOOP_SCANNER.name, version: NOOP_SCANNER.version }, guard: { name: 'provenance-guard', version: scannerVersion } };
    for (const kind of KINDS) {
      const dir = join(base, `project-${kind}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const scanner = scanners[kind];
      const devDependencies = scanner ? { [scanner.name]: scanner.version } : {};
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench', private: true, dependencies: root, devDependencies }, null, 2));
      writeFileSync(join(dir, 'bunfig.toml'), `[install]\nregistry = "${url}/"\n${scanner ? `\n[install.security]\nscanner = "${scanner.name}"\n` : ''}`);
      if (kind === 'guard') writeFileSync(join(dir, '.provenancerc'), benchRc({ feedPath, publicKey, exclude: ['provenance-guard'] }));
      const first = await ctx.measure(bun, ['install'], { cwd: dir, env });
      if (first.code !== 0) throw new Error(`bun ${kind}: initial install failed:\n${first.stdout.slice(-2000)}${first.stderr.slice(-2000)}`);
      ctx.print(ctx.formatResult(`bun initial install (${kind}, resolves ${packages.length} pkgs)`, first));
      projects[kind] = dir;
    }
    const rcPath = join(projects.guard, '.provenancerc');
    writeFileSync(rcPath, benchRc({ feedPath, publicKey, minScore: 9, exclude: ['provenance-guard'] }));
    const strict = await ctx.measure(bun, ['install', '--frozen-lockfile'], { cwd: projects.guard, env });
    writeFileSync(rcPath, benchRc({ feedPath, publicKey, exclude: ['provenance-guard'] }));
    if (strict.code === 0 || !strict.stderr.replace(/\s+/g, ' ').includes(`blocked ${packages.length} packages`)) {
      throw new Error(`bun: the guard did not block the whole tree under a strict policy:\n${strict.stdout.slice(-1500)}${strict.stderr.slice(-1500)}`);
    }
    ctx.print(ctx.formatResult(`bun strict policy: all ${packages.length} blocked (exit ${strict.code})`, { ...strict, code: 0 }));

    for (const scenario of ['ci', 'uptodate']) {
      const times = { plain: [], noop: [], guard: [] };
      const inScanner = [];
      for (const round of [-1, ...Array.from({ length: RUNS }, (_, i) => i)]) {
        for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
          if (scenario === 'ci') rmSync(join(projects[kind], 'node_modules'), { recursive: true, force: true });
          if (scenario === 'ci') forgetStoredVerdicts(env);
          const result = await ctx.measure(bun, ['install', '--frozen-lockfile'], { cwd: projects[kind], env: { ...env, PROVENANCE_GUARD_TIMING: '1' } });
          if (result.code !== 0) throw new Error(`bun ${kind} install failed:\n${result.stdout.slice(-3000)}${result.stderr.slice(-3000)}`);
          if (round < 0) continue;
          times[kind].push(result.wallMs);
          const line = /provenance-guard timing: scanner ([\d.]+) ms for \d+ packages, process uptime ([\d.]+) ms/.exec(`${result.stdout}${result.stderr}`);
          if (kind === 'guard' && line) inScanner.push({ scan: Number(line[1]), uptime: Number(line[2]) });
        }
      }
      const plain = median(times.plain);
      const guard = median(times.guard);
      const label = scenario === 'ci' ? 'warm cache, no node_modules' : 'node_modules up to date';
      ctx.print(`bun install --frozen-lockfile, ${packages.length} pkgs, ${label}: without guard ${plain.toFixed(0)} ms, with guard ${guard.toFixed(0)} ms `
        + `(median of ${RUNS}; +${(guard - plain).toFixed(0)} ms, ratio ${(guard / plain).toFixed(3)})`);
      ctx.print(`  runs without: ${times.plain.map((t) => t.toFixed(0)).join(' ')} | a no-op scanner: ${times.noop.map((t) => t.toFixed(0)).join(' ')} | with: ${times.guard.map((t) => t.toFixed(0)).join(' ')}`);
      const noop = median(times.noop);
      ctx.print(`  a no-op scanner alone: ${noop.toFixed(0)} ms (+${(noop - plain).toFixed(0)} ms); the guard beyond it: +${(guard - noop).toFixed(0)} ms`);
      if (inScanner.length > 0) {
        ctx.print(`  inside the scanner (median): ${median(inScanner.map((t) => t.scan)).toFixed(0)} ms; scanner process uptime at the end (start + bundle load + scan): ${median(inScanner.map((t) => t.uptime)).toFixed(0)} ms`);
      }
      ctx.goal(`Bun install --frozen-lockfile, ${label} (issue 13)`, '< 0.3 s added', `${secondsAdded(plain, guard)} (${plain.toFixed(0)} → ${guard.toFixed(0)} ms)`, guard - plain < 300);
      ctx.shared[`bun-${scenario}`] = { plain, guard, added: guard - plain };
    }
  } finally {
    await stopVerdaccio(server);
  }
}

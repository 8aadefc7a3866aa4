// npm section: `npm ci` of a generated 1,000-package tree from a warm npm cache (no node_modules,
// as in CI), plain and through `provenance-guard npm ci` (the lockfile checked first), interleaved
// in the same run. Prints medians and the ratio. BENCH_NPM_RUNS, BENCH_NPM_PACKAGES.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBenchFeed } from './lib/feed.mjs';
import { benchRc } from './lib/rc.mjs';
import { publishTree, startVerdaccio, stopVerdaccio } from './lib/registry.mjs';
import { median, percentAdded } from './lib/stats.mjs';
import { benchTree } from './lib/tree.mjs';

const PACKAGES = Number(process.env.BENCH_NPM_PACKAGES ?? 1000);
const RUNS = Number(process.env.BENCH_NPM_RUNS ?? 5);
const GENERATOR_VERSION = 1;
const SCOPE = '@pg-bench-npm';

export async function run(ctx) {
  const base = join(ctx.benchDir, 'npm');
  const cli = join(ctx.root, 'dist/cli.cjs');
  const { packages, root } = benchTree(SCOPE, PACKAGES);
  const { server, url } = await startVerdaccio(ctx, base);
  try {
    const recordsPath = await publishTree(ctx, url, packages, { dir: base, stamp: `published-${GENERATOR_VERSION}-${PACKAGES}`, packDir: join(base, 'pack') });
    const { feedPath, publicKey } = await buildBenchFeed(ctx, { tool: 'npm-bench-feed', dir: base, recordsPath });
    const home = join(base, 'home');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, '.npmrc'), '');
    const env = { PATH: process.env.PATH, HOME: home, npm_config_userconfig: join(home, '.npmrc'), npm_config_cache: join(base, 'cache'),
      npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'), PROVENANCE_GUARD_STATE_DIR: join(home, 'pg-state') };
    const projects = {};
    for (const kind of ['plain', 'guard']) {
      const dir = join(base, `project-${kind}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench', private: true, dependencies: root }, null, 2));
      writeFileSync(join(dir, '.npmrc'), `registry=${url}/\n`);
      if (kind === 'guard') writeFileSync(join(dir, '.provenancerc'), benchRc({ feedPath, publicKey }));
      projects[kind] = dir;
    }
    // Resolves, fills the cache and writes the lockfile both projects install from.
    const first = await ctx.measure('npm', ['install', '--ignore-scripts'], { cwd: projects.plain, env });
    if (first.code !== 0) throw new Error(`npm: initial install failed:\n${first.stdout.slice(-2000)}${first.stderr.slice(-2000)}`);
    ctx.print(ctx.formatResult(`npm initial install (resolves ${packages.length} pkgs)`, first));
    copyFileSync(join(projects.plain, 'package-lock.json'), join(projects.guard, 'package-lock.json'));

    // Sanity: the guard checks the whole tree: with a stricter policy every package blocks.
    const rcPath = join(projects.guard, '.provenancerc');
    writeFileSync(rcPath, benchRc({ feedPath, publicKey, minScore: 9 }));
    const strict = await ctx.measure(process.execPath, [cli, 'npm', 'ci'], { cwd: projects.guard, env });
    writeFileSync(rcPath, benchRc({ feedPath, publicKey }));
    if (strict.code !== 1 || !strict.stderr.replace(/\s+/g, ' ').includes(`blocked ${packages.length} packages`)) {
      throw new Error(`npm: the guard did not block the whole tree under a strict policy:\n${strict.stderr.slice(-1500)}`);
    }
    ctx.print(ctx.formatResult(`npm strict policy: all ${packages.length} blocked (exit ${strict.code})`, { ...strict, code: 0 }));

    const times = { plain: [], guard: [] };
    for (const round of [-1, ...Array.from({ length: RUNS }, (_, i) => i)]) {
      for (const kind of round % 2 === 0 ? ['plain', 'guard'] : ['guard', 'plain']) {
        rmSync(join(projects[kind], 'node_modules'), { recursive: true, force: true });
        const [cmd, args] = kind === 'plain' ? ['npm', ['ci']] : [process.execPath, [cli, 'npm', 'ci']];
        const result = await ctx.measure(cmd, args, { cwd: projects[kind], env });
        if (result.code !== 0) throw new Error(`npm ci (${kind}) failed:\n${result.stdout.slice(-2000)}${result.stderr.slice(-2000)}`);
        if (round >= 0) times[kind].push(result.wallMs);
      }
    }
    const plain = median(times.plain);
    const guard = median(times.guard);
    ctx.print(`npm ci, ${packages.length} pkgs, warm cache, no node_modules: without guard ${plain.toFixed(0)} ms, with guard ${guard.toFixed(0)} ms `
      + `(median of ${RUNS}; +${(guard - plain).toFixed(0)} ms, ratio ${(guard / plain).toFixed(3)})`);
    ctx.print(`  runs without: ${times.plain.map((t) => t.toFixed(0)).join(' ')} | with: ${times.guard.map((t) => t.toFixed(0)).join(' ')}`);
    ctx.goal('provenance-guard npm ci, no node_modules (issue 13)', '< 10 % added', `${percentAdded(plain, guard)} (${plain.toFixed(0)} → ${guard.toFixed(0)} ms)`, guard / plain < 1.1);
    ctx.shared['npm-ci'] = { plain, guard, ratio: guard / plain };
  } finally {
    await stopVerdaccio(server);
  }
}

// pnpm section: `pnpm install --frozen-lockfile` of a generated 1,000-package tree from a warm
// store (no node_modules and no stored verdict, as in CI; no node_modules with the verdict stored,
// as after `rm -rf node_modules`; and with node_modules up to date), without and with
// the provenance-guard pnpmfile, interleaved in the same run, on pnpm 10 and pnpm 12.
// Prints medians and the ratio. BENCH_PNPM_RUNS, BENCH_PNPM_VERSIONS=10,12, BENCH_PNPM_PACKAGES.
// The registry is a local verdaccio (storage kept under .bench/pnpm/ between runs).
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { buildBenchFeed } from './lib/feed.mjs';
import { publishTree, startVerdaccio, stopVerdaccio } from './lib/registry.mjs';
import { forgetStoredVerdicts } from './lib/stored-verdicts.mjs';
import { median, percentAdded, secondsAdded } from './lib/stats.mjs';
import { benchTree } from './lib/tree.mjs';

const PACKAGES = Number(process.env.BENCH_PNPM_PACKAGES ?? 1000);

/**
 * Each install scenario's names: in its result line, among the goals, and where node_modules stands
 * (the hooks' goal). CI: warm store, no node_modules, no stored verdict. rm -rf: no node_modules,
 * the verdict stored by the run before. Up to date: node_modules present (pnpm's fast path, so
 * the guard's own cost stands out).
 */
const SCENARIOS = {
  ci: { line: 'warm store, no node_modules, no stored verdict (CI)', goal: 'no node_modules, no stored verdict (CI)', modules: 'no node_modules' },
  rmrf: { line: 'warm store, no node_modules, verdict stored (rm -rf node_modules)', goal: 'no node_modules, verdict stored', modules: 'no node_modules' },
  uptodate: { line: 'node_modules up to date', goal: 'node_modules up to date', modules: 'node_modules up to date' },
};
const RUNS = Number(process.env.BENCH_PNPM_RUNS ?? 5);
const CHECK_RUNS = Number(process.env.BENCH_CHECK_RUNS ?? 9);
const VERSIONS = (process.env.BENCH_PNPM_VERSIONS ?? '10,12').split(',');
const GENERATOR_VERSION = 1;
const SCOPE = '@pg-bench-pnpm';

/** The same up-to-date install with the stored verdict removed before each run: the hooks' time without reuse. */
async function withoutReuse(ctx, bin, dir, env, version) {
  const hooks = [];
  for (let i = 0; i < RUNS; i++) {
    forgetStoredVerdicts(env);
    const result = await ctx.measure(bin, ['install', '--frozen-lockfile'], { cwd: dir, env: { ...env, PROVENANCE_GUARD_TIMING: '1' } });
    const line = [...`${result.stdout}${result.stderr}`.matchAll(/provenance-guard timing: hooks ([\d.]+) ms/g)].pop();
    if (result.code !== 0 || !line) throw new Error(`pnpm ${version} guard install without reuse failed:\n${result.stdout.slice(-2000)}${result.stderr.slice(-2000)}`);
    hooks.push(Number(line[1]));
  }
  ctx.print(`  without reuse (stored verdict removed before each run): time inside the hooks ${median(hooks).toFixed(1)} ms (median of ${RUNS})`);
}

/**
 * Issue 14: a repeat `check` with nothing changed (its verdict reused from node_modules) within
 * 1.3 × a bare `node -e 0`; medians of interleaved runs, with the load average beside them.
 */
async function repeatCheck(ctx, dir) {
  const cli = join(ctx.root, 'dist/cli.cjs');
  const env = { PROVENANCE_GUARD_CACHE_DIR: join(dir, '..', 'check-cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, '..', 'check-cache', 'state'), NO_COLOR: '1' };
  const first = await ctx.measure(process.execPath, [cli, 'check'], { cwd: dir, env });
  if (first.code !== 0) throw new Error(`check failed (${first.code}):\n${first.stdout.slice(-1500)}${first.stderr.slice(-1500)}`);
  const times = { bare: [], check: [] };
  const faults = { bare: [], check: [] };
  for (let round = 0; round < CHECK_RUNS; round++) {
    for (const kind of round % 2 === 0 ? ['bare', 'check'] : ['check', 'bare']) {
      const result = kind === 'bare' ? await ctx.measure(process.execPath, ['-e', '0'], { cwd: dir }) : await ctx.measure(process.execPath, [cli, 'check'], { cwd: dir, env });
      if (result.code !== 0) throw new Error(`${kind} failed:\n${result.stderr.slice(-1500)}`);
      times[kind].push(result.wallMs);
      faults[kind].push(result.faults);
    }
  }
  const bare = median(times.bare);
  const check = median(times.check);
  ctx.print(`repeat check of ${PACKAGES} pkgs, nothing changed (verdict reused): ${check.toFixed(0)} ms vs node -e 0 ${bare.toFixed(0)} ms = ${(check / bare).toFixed(2)}x `
    + `(goal <= 1.3x: ${check / bare <= 1.3 ? 'met' : 'NOT met'}; medians of ${CHECK_RUNS} interleaved; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  ctx.goal(`repeat check, ${PACKAGES.toLocaleString('en')} pkgs, human, verdict reused`, '≤ 1.3× node -e 0', `${check.toFixed(0)} ms = ${(check / bare).toFixed(2)}×`, check / bare <= 1.3);
  ctx.print(`  runs node -e 0: ${times.bare.map((t) => t.toFixed(0)).join(' ')} | check: ${times.check.map((t) => t.toFixed(0)).join(' ')}`);
  const extra = median(faults.check) - median(faults.bare);
  ctx.print(`  page faults: node -e 0 ${median(faults.bare)}, check ${median(faults.check)} (the ${extra} more ≈ ${((extra * ctx.faultMicros()) / 1000).toFixed(0)} ms at ${ctx.faultMicros().toFixed(1)} µs each)`);
  ctx.shared.repeatCheck = { bare, check, ratio: check / bare };
}

export async function run(ctx) {
  ctx.print(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const base = join(ctx.benchDir, 'pnpm');
  const built = join(ctx.root, 'plugins/pnpm/dist/pnpmfile.cjs');
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build`);
  // A snapshot: a rebuild during the run would change pnpmfileChecksum and break --frozen-lockfile.
  const bundle = join(base, 'pnpmfile.cjs');
  mkdirSync(base, { recursive: true });
  copyFileSync(built, bundle);
  const { packages, root } = benchTree(SCOPE, PACKAGES);
  const { server, url } = await startVerdaccio(ctx, base);
  try {
    const recordsPath = await publishTree(ctx, url, packages, { dir: base, stamp: `published-${GENERATOR_VERSION}-${PACKAGES}`, packDir: join(base, 'pack') });
    const { feedPath, publicKey } = await buildBenchFeed(ctx, { tool: 'pnpm-bench-feed', dir: base, recordsPath });

    const bins = { 10: join(ctx.root, 'node_modules/.bin/pnpm'), 12: join(ctx.root, 'node_modules/@pnpm/exe.linux-x64/pnpm') };
    for (const version of VERSIONS) {
      const home = join(base, `home-${version}`);
      const env = {
        PATH: process.env.PATH, HOME: home, XDG_CACHE_HOME: join(home, 'cache'), XDG_DATA_HOME: join(home, 'data'),
        XDG_CONFIG_HOME: join(home, 'config'), XDG_STATE_HOME: join(home, 'state'), PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'), PROVENANCE_GUARD_STATE_DIR: join(home, 'pg-state'),
        npm_config_store_dir: join(base, `store-${version}`), CI: '1',
      };
      const projects = {};
      // noop: a pnpmfile whose hooks do nothing, to tell pnpm's cost of running any pnpmfile from the guard's own.
      const noop = join(base, 'noop-pnpmfile.cjs');
      writeFileSync(noop, 'module.exports = { hooks: { readPackage: (p) => p, async preResolution() {} } };\n');
      for (const kind of ['plain', 'noop', 'guard']) {
        const dir = join(base, `project-${version}-${kind}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench', private: true, dependencies: root }, null, 2));
        writeFileSync(join(dir, '.npmrc'), `registry=${url}/\n`);
        const pnpmfile = { plain: undefined, noop, guard: bundle }[kind];
        writeFileSync(join(dir, 'pnpm-workspace.yaml'), `minimumReleaseAge: 0\n${pnpmfile ? `pnpmfile: ${JSON.stringify(pnpmfile)}\n` : ''}`);
        if (kind === 'guard') {
          writeFileSync(join(dir, '.provenancerc'), ['mode: block', 'feed:', `  source: ${JSON.stringify(feedPath)}`, `  publicKeys: ["${publicKey}"]`,
            '  maxAge: 30d', '  offline: true', 'rules:', '  repository: { require: claimed }', '  rebuild: { require: reproducible }',
            '  scorecard: { minScore: 5 }', 'unknown: block', ''].join('\n'));
        }
        // Resolves and fills the shared store; writes the lockfile the measured runs use.
        const first = await ctx.measure(bins[version], ['install'], { cwd: dir, env });
        if (first.code !== 0) throw new Error(`pnpm ${version} ${kind}: initial install failed:\n${first.stdout.slice(-2000)}${first.stderr.slice(-2000)}`);
        ctx.print(ctx.formatResult(`pnpm ${version} initial install (${kind}, resolves ${packages.length} pkgs)`, first));
        projects[kind] = dir;
      }
      // Sanity: the guard really checks the whole tree: with a stricter policy every package blocks.
      const rcPath = join(projects.guard, '.provenancerc');
      const rc = readFileSync(rcPath, 'utf8');
      writeFileSync(rcPath, rc.replace('minScore: 5', 'minScore: 9'));
      rmSync(join(projects.guard, 'node_modules'), { recursive: true, force: true });
      const strict = await ctx.measure(bins[version], ['install', '--frozen-lockfile'], { cwd: projects.guard, env });
      writeFileSync(rcPath, rc);
      if (strict.code === 0 || !`${strict.stdout}${strict.stderr}`.replace(/\s+/g, ' ').includes(`blocked ${packages.length} packages`)) {
        throw new Error(`pnpm ${version}: the guard did not block the whole tree under a strict policy:\n${strict.stdout.slice(-1500)}${strict.stderr.slice(-1500)}`);
      }
      ctx.print(ctx.formatResult(`pnpm ${version} strict policy: all ${packages.length} blocked (exit ${strict.code})`, { ...strict, code: 0 }));
      for (const [scenario, names] of Object.entries(SCENARIOS)) {
        const times = { plain: [], noop: [], guard: [] };
        const inHooks = [];
        for (const round of [-1, ...Array.from({ length: RUNS }, (_, i) => i)]) {
          for (const kind of round % 2 === 0 ? ['plain', 'noop', 'guard'] : ['guard', 'noop', 'plain']) {
            if (scenario !== 'uptodate') rmSync(join(projects[kind], 'node_modules'), { recursive: true, force: true });
            if (scenario === 'ci') forgetStoredVerdicts(env);
            const result = await ctx.measure(bins[version], ['install', '--frozen-lockfile'], { cwd: projects[kind], env: { ...env, PROVENANCE_GUARD_TIMING: '1' } });
            if (result.code !== 0) throw new Error(`pnpm ${version} ${kind} install failed:\n${result.stdout.slice(-3000)}${result.stderr.slice(-3000)}`);
            if (round < 0) continue;
            times[kind].push(result.wallMs);
            const output = `${result.stdout}${result.stderr}`;
            const line = [...output.matchAll(/provenance-guard timing: hooks ([\d.]+) ms in \d+ calls, process uptime ([\d.]+) ms/g)].pop();
            const cpu = [...output.matchAll(/provenance-guard timing: hooks .*, cpu in hooks ([\d.]+) ms/g)].pop();
            // pnpm 12: the projects' manifests noted after readPackage answered (plugins/pnpm/pnpmfile.ts).
            const background = [...output.matchAll(/provenance-guard timing: hooks .*, in the background ([\d.]+) ms/g)].pop();
            if (kind === 'guard' && line) inHooks.push({ hooks: Number(line[1]), uptime: Number(line[2]), reused: /lockfile verdict reused/.test(output), ...(cpu ? { cpu: Number(cpu[1]) } : {}), ...(background ? { background: Number(background[1]) } : {}) });
          }
        }
        const plain = median(times.plain);
        const guard = median(times.guard);
        ctx.print(`pnpm ${version} install --frozen-lockfile, ${packages.length} pkgs, ${names.line}: without guard ${plain.toFixed(0)} ms, `
          + `with guard ${guard.toFixed(0)} ms (median of ${RUNS}; +${(guard - plain).toFixed(0)} ms, ratio ${(guard / plain).toFixed(3)})`);
        ctx.print(`  runs without: ${times.plain.map((t) => t.toFixed(0)).join(' ')} | with: ${times.guard.map((t) => t.toFixed(0)).join(' ')}`);
        const change = `${plain.toFixed(0)} → ${guard.toFixed(0)} ms`;
        if (version === '10') ctx.goal(`pnpm 10 install, ${names.goal}`, '< 10 % added', `${percentAdded(plain, guard)} (${change})`, guard / plain < 1.1);
        else ctx.goal(`pnpm ${version} install, ${names.goal}`, '< 0.4 s added', `${secondsAdded(plain, guard)} (${change})`, guard - plain < 400);
        const noopMedian = median(times.noop);
        ctx.print(`  a no-op pnpmfile alone: ${noopMedian.toFixed(0)} ms (+${(noopMedian - plain).toFixed(0)} ms); the guard beyond it: +${(guard - noopMedian).toFixed(0)} ms`);
        if (inHooks.length > 0) {
          const hooks = median(inHooks.map((t) => t.hooks));
          const reused = inHooks.filter((t) => t.reused).length;
          ctx.print(`  time inside the hooks (median): ${hooks.toFixed(1)} ms, lockfile verdict reused in ${reused}/${inHooks.length} runs`
            + (scenario === 'ci' ? ' (no stored verdict)' : ` (goal with reuse: < 20 ms: ${reused > 0 && hooks < 20 ? 'met' : 'NOT met'})`)
            + (version === '10' ? '' : `; hook process uptime at exit (node startup + load + hooks): ${median(inHooks.map((t) => t.uptime)).toFixed(0)} ms`));
          if (scenario !== 'ci') ctx.goal(`pnpm ${version} hooks' own time, verdict reused, ${names.modules}`, '< 20 ms', `${hooks.toFixed(1)} ms (reused in ${reused}/${inHooks.length})`, reused > 0 && hooks < 20);
          const cpus = inHooks.filter((t) => t.cpu !== undefined).map((t) => t.cpu);
          if (cpus.length > 0) ctx.print(`  CPU time inside the hooks (median): ${median(cpus).toFixed(1)} ms (on a loaded machine wall time mostly measures the wait for a core)`);
          const background = inHooks.filter((t) => t.background !== undefined).map((t) => t.background);
          if (version !== '10' && background.length > 0) ctx.print(`  beside them, in the hook process while pnpm reads its lockfile (median): ${median(background).toFixed(1)} ms (the implementation's load and the projects' manifests, after readPackage answered; pnpm calls preResolution no later for it)`);
        }
        if (scenario === 'uptodate') await withoutReuse(ctx, bins[version], projects.guard, env, version);
        ctx.shared[`pnpm${version}-${scenario}`] = { plain, guard, ratio: guard / plain };
      }
      if (version === VERSIONS[0]) await repeatCheck(ctx, projects.guard);
    }
  } finally {
    await stopVerdaccio(server);
  }
}

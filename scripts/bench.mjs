// Benchmarks. `npm run bench` builds, then runs every section scripts/bench/*.mjs in name
// order; each exports `async function run(ctx)` and prints its own lines.
// `node scripts/bench.mjs feed` runs only the sections whose name (after the number) starts with "feed".
// Data lives under .bench/ (gitignored) and is reused between runs when unchanged.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, '.bench');
mkdirSync(benchDir, { recursive: true });

const TIME = existsSync('/usr/bin/time') && !process.env.BENCH_NO_TIME ? '/usr/bin/time' : undefined;
const RSS_PRELOAD = join(benchDir, 'rss-preload.cjs');
writeFileSync(
  RSS_PRELOAD,
  "process.on('exit', () => { try { const u = process.resourceUsage(); require('fs').writeFileSync(process.env.BENCH_RSS_FILE, `${u.maxRSS} ${u.minorPageFault}`); } catch {} });\n",
);

/**
 * Runs a command in a child process; returns wall time (ms), peak RSS (KiB), minor page faults,
 * exit code and output. RSS and faults come from /usr/bin/time
 * when present, else from the child itself (node children only, through a preload). Page faults
 * do not depend on the machine's load: every page of memory a process touches for the first time
 * is one, and on these VMs each costs ~20 µs (the bench measures it: ctx.faultMicros).
 */
async function measure(command, args, options = {}) {
  const rssFile = join(benchDir, `.rss-${process.pid}-${Date.now()}`);
  let cmd = command;
  let argv = args;
  const env = { ...process.env, ...options.env, BENCH_RSS_FILE: rssFile };
  if (TIME) {
    cmd = TIME;
    argv = ['-f', '%M %R', '-o', rssFile, command, ...args];
  } else if (command === process.execPath || command === 'node') {
    argv = ['-r', RSS_PRELOAD, ...args];
  }
  const started = process.hrtime.bigint();
  const child = spawn(cmd, argv, { cwd: options.cwd ?? root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolvePromise) => child.on('close', (c) => resolvePromise(c ?? 1)));
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  let rssKiB;
  let faults;
  try {
    const text = readFileSync(rssFile, 'utf8').trim().split('\n').pop();
    [rssKiB, faults] = text.split(' ').map(Number);
  } catch {
    rssKiB = undefined;
  }
  rmSync(rssFile, { force: true });
  return { code, wallMs, rssKiB, faults, stdout, stderr };
}

function formatResult(label, result) {
  const rss = result.rssKiB === undefined || Number.isNaN(result.rssKiB) ? 'n/a' : `${(result.rssKiB / 1024).toFixed(1)} MB`;
  const status = result.code === 0 ? '' : `  (exit ${result.code})`;
  return `${label.padEnd(58)} wall ${result.wallMs.toFixed(0).padStart(7)} ms   peak RSS ${rss.padStart(9)}${status}`;
}

/** Bundles a TypeScript/JS entry (e.g. one importing src/feed) into .bench/bin/NAME.cjs. */
async function bundle(name, contents) {
  const outfile = join(benchDir, 'bin', `${name}.cjs`);
  await build({
    stdin: { contents, resolveDir: root, sourcefile: `${name}.ts`, loader: 'ts' },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'cjs',
    logLevel: 'warning',
    external: ['pacote', 'sigstore', 'typescript'],
  });
  return outfile;
}

/**
 * What one page fault costs on this machine (µs): a fresh process touches 10,000 pages of new
 * memory, timed inside it; the median of 5. Memoised.
 */
let faultMicros;
function measureFaultMicros() {
  if (faultMicros !== undefined) return faultMicros;
  const script = 'const n=10000,b=Buffer.allocUnsafeSlow(n*4096),t=process.hrtime.bigint();for(let i=0;i<n;i++)b[i*4096]=1;process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e3/n))';
  const runs = Array.from({ length: 5 }, () => Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))).sort((a, b) => a - b);
  faultMicros = runs[2];
  return faultMicros;
}

const ctx = {
  root,
  benchDir,
  measure,
  faultMicros: measureFaultMicros,
  bundle,
  print: (line) => process.stdout.write(line + '\n'),
  formatResult,
  /** Sections share what they produce here (e.g. ctx.shared.feed). */
  shared: {},
  /** The goals as measured in this run (issue 14's and the install overheads): printed together after the sections (printGoals). */
  goals: [],
  /** Records a goal beside its figure: `met` true/false, or undefined when this run cannot decide it. */
  goal(what, goal, measured, met) {
    ctx.goals.push({ what, goal, measured, met });
  },
};

/** Every goal a section measured, one line each, in the order measured. */
function printGoals() {
  if (ctx.goals.length === 0) return;
  ctx.print('\n== goals (issue 14, and the install overheads), as measured in this run');
  const width = Math.max(...ctx.goals.map((g) => g.what.length));
  for (const g of ctx.goals) {
    const verdict = g.met === undefined ? '   -   ' : g.met ? '  met  ' : 'NOT met';
    ctx.print(`${verdict}  ${g.what.padEnd(width)}  ${g.measured}  (goal: ${g.goal})`);
  }
}

/**
 * NODE_EXTRA_CA_CERTS makes every Node process read and parse that file of certificates as it
 * starts, before any of its code runs: with a system bundle (~140 certificates) a bare `node -e 0`
 * takes ~60 ms longer on these VMs, and a process that loads node:crypto pays again. That is the
 * machine's TLS setup, not the guard's or the package manager's work, and it would inflate every
 * baseline the goals are ratios to (`node -e 0`, installs without the guard). The bench serves
 * everything from 127.0.0.1 over plain HTTP, so it removes the variable from every process it
 * starts, and says so with what it costs.
 */
function withoutExtraCaCerts() {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return;
  const bare = (env) => {
    const runs = Array.from({ length: 7 }, () => {
      const started = process.hrtime.bigint();
      execFileSync(process.execPath, ['-e', '0'], { env });
      return Number(process.hrtime.bigint() - started) / 1e6;
    }).sort((a, b) => a - b);
    return runs[3];
  };
  const withIt = bare(process.env);
  delete process.env.NODE_EXTRA_CA_CERTS;
  const without = bare(process.env);
  ctx.print(`NODE_EXTRA_CA_CERTS=${file} is set here: removed from every process the bench runs (node -e 0 takes ${withIt.toFixed(0)} ms with it, ${without.toFixed(0)} ms without; medians of 7)`);
}

const filter = process.argv[2];
const sectionsDir = join(root, 'scripts', 'bench');
const sections = readdirSync(sectionsDir).filter((f) => f.endsWith('.mjs')).sort();
ctx.print(`provenance-guard bench — node ${process.version}, ${TIME ? '/usr/bin/time' : 'resourceUsage'} for peak RSS`);
withoutExtraCaCerts();
let failed = false;
for (const file of sections) {
  // `npm` names 40-npm.mjs, not 20-pnpm.mjs: the name after the number prefix must start with the filter.
  if (filter && !file.replace(/^\d+-/, '').startsWith(filter)) continue;
  ctx.print(`\n== ${file.replace(/\.mjs$/, '')}`);
  try {
    const section = await import(pathToFileURL(join(sectionsDir, file)).href);
    await section.run(ctx);
  } catch (error) {
    failed = true;
    ctx.print(`section ${file} failed: ${error && error.stack ? error.stack : error}`);
  }
}
printGoals();
process.exitCode = failed ? 1 : 0;

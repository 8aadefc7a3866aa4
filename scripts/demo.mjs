#!/usr/bin/env node
// `npm run demo`: the whole job in a minute, offline, on throwaway directories — a local
// registry with a few packages, a signed verdict feed built from evidence gathered from it,
// and real pnpm 10 and Yarn 4 installs guarded by what `provenance-guard init` set up: the
// known packages install, a package the feed has never seen is refused before its code lands.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { publish, startRegistry } from './demo/registry.mjs';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const CLI = join(ROOT, 'dist/cli.cjs');
const PNPM = join(ROOT, 'node_modules/.bin/pnpm');
const YARN = join(ROOT, 'node_modules/@yarnpkg/cli-dist/bin/yarn.js');
const CONFIG_DEP = join(ROOT, 'plugins/pnpm/dist/config-dependency');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

let stepNo = 0;
const step = (text) => console.log(`\n[${++stepNo}] ${text}`);
const say = (text) => console.log(`    ${text.split('\n').join('\n    ')}`);

function run(command, args, { cwd, env, quiet = false }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (!quiet) say(`$ ${[command === process.execPath ? 'node' : command.split('/').pop(), ...args.map((a) => a.replace(ROOT, '.'))].join(' ')}  → exit ${code}`);
      resolvePromise({ code, output });
    });
  });
}

const guard = (args, opts) => run(process.execPath, [CLI, ...args], opts);

function environment(home, extra = {}) {
  mkdirSync(home, { recursive: true });
  return {
    PATH: process.env.PATH, HOME: home, CI: '1', NO_COLOR: '1',
    XDG_CACHE_HOME: join(home, '.cache'), XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local/share'), XDG_STATE_HOME: join(home, '.local/state'),
    PROVENANCE_GUARD_CACHE_DIR: join(home, 'pg-cache'), PROVENANCE_GUARD_STATE_DIR: join(home, 'pg-state'), npm_config_userconfig: join(home, '.npmrc'),
    ...extra,
  };
}

/** A postinstall that leaves a marker file: proof the package's code ran. */
const marker = (dir, name) => ({ postinstall: `node -e "require('fs').writeFileSync('${join(dir, name.replace('/', '+')).replace(/\\/g, '/')}', 'ran')"` });

async function ensureBuilt() {
  if (existsSync(CLI) && existsSync(join(CONFIG_DEP, 'pnpmfile.cjs')) && existsSync(join(ROOT, 'plugins/yarn/dist/plugin-provenance.cjs'))) return;
  step('Building provenance-guard (npm run build) …');
  const r = await run(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, env: process.env });
  if (r.code !== 0) throw new Error(r.output);
}

async function publishFixtures(url, markers) {
  step(`A local registry (verdaccio, offline) at ${url}, with:`);
  const packages = [
    { name: '@demo/left-pad', version: '1.3.0', repository: 'github:demo/left-pad', scripts: marker(markers, '@demo/left-pad') },
    { name: '@demo/is-even', version: '1.0.0', repository: 'github:demo/is-even', scripts: marker(markers, '@demo/is-even') },
    { name: '@demo/free-prizes', version: '6.6.6', description: 'added in a pull request; nobody has vetted it', scripts: marker(markers, '@demo/free-prizes') },
  ];
  for (const p of packages) {
    await publish(url, { ...p, main: 'index.js', license: 'MIT' });
    say(`${p.name}@${p.version}${p.repository ? `  (repository ${p.repository})` : '  (no repository; its postinstall would run code)'}`);
  }
  await publish(url, { ...JSON.parse(readFileSync(join(CONFIG_DEP, 'package.json'), 'utf8')), version: VERSION }, { 'pnpmfile.cjs': readFileSync(join(CONFIG_DEP, 'pnpmfile.cjs'), 'utf8') });
  say(`pnpm-plugin-provenance-guard@${VERSION}  (the guard's pnpm hook, as a config dependency)`);
}

async function buildFeed(work, url) {
  const team = join(work, 'team');
  const env = environment(join(work, 'team-home'));
  mkdirSync(team, { recursive: true });
  writeFileSync(join(team, '.npmrc'), `registry=${url}/\n`);
  // Evidence from the registry only: the other services are not reachable offline.
  writeFileSync(join(team, '.provenancerc'), 'sources:\n  provenance: off\n  depsDev: off\n  scorecard: off\n  ossRebuild: off\n');
  step('The team creates a signing key and a feed of the packages it has vetted');
  const keys = await guard(['feed', 'keygen', '--out-dir', 'keys'], { cwd: team, env });
  say(`public key: ${keys.output.trim().split('\n').pop()}`);
  const built = await guard(['feed', 'build', '--packages', '@demo/left-pad@1.3.0,@demo/is-even@1.0.0', '--key', 'keys/feed.key', '--out', 'feed/'], { cwd: team, env });
  if (built.code !== 0) throw new Error(built.output);
  say(built.output.trim().split('\n').pop());
  return { feed: join(team, 'feed'), pub: join(team, 'keys/feed.pub') };
}

function blockMode(dir) {
  const rc = join(dir, '.provenancerc');
  writeFileSync(rc, readFileSync(rc, 'utf8').replace(/^mode: warn/m, 'mode: block'));
  say('then the one policy choice: mode: block in .provenancerc');
}

function showRefusal(result, dir, markers) {
  say('─── what the developer sees ───');
  say(result.output.trim().split('\n').filter((l) => !/^(Progress|Already up to date|Packages: |Installing config|Installed config|➤ YN0000: ┌|➤ YN0000: └)/.test(l)).join('\n'));
  say('───────────────────────────────');
  const landed = existsSync(join(dir, 'node_modules/@demo/free-prizes'));
  const ran = existsSync(join(markers, '@demo+free-prizes'));
  say(`@demo/free-prizes in node_modules: ${landed ? 'YES' : 'no'}; its postinstall ran: ${ran ? 'YES' : 'no'}`);
  return !landed && !ran && result.code !== 0;
}

async function pnpmProject(work, url, feed, markers) {
  step('A pnpm 10 project: provenance-guard init --pm pnpm --feed … --public-key …');
  const dir = join(work, 'pnpm-app');
  const env = environment(join(work, 'pnpm-home'), { npm_config_store_dir: join(work, 'pnpm-store') });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'demo-pnpm-app', private: true }, null, 2));
  writeFileSync(join(dir, '.npmrc'), `registry=${url}/\n`);
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'minimumReleaseAge: 0\nsideEffectsCache: false\nallowBuilds:\n  "@demo/left-pad": true\n  "@demo/is-even": true\n  "@demo/free-prizes": true\n');
  const init = await guard(['init', '--pm', 'pnpm', '--feed', feed.feed, '--public-key', feed.pub], { cwd: dir, env });
  if (init.code !== 0) throw new Error(init.output);
  say(init.output.trim());
  blockMode(dir);
  step('pnpm add @demo/left-pad @demo/is-even  (in the feed: installs)');
  const ok = await run(PNPM, ['add', '@demo/left-pad@1.3.0', '@demo/is-even@1.0.0'], { cwd: dir, env });
  if (ok.code !== 0) throw new Error(ok.output);
  step('pnpm add @demo/free-prizes  (not in the feed: refused)');
  return showRefusal(await run(PNPM, ['add', '@demo/free-prizes@6.6.6'], { cwd: dir, env }), dir, markers);
}

async function yarnProject(work, url, feed, markers) {
  step('A Yarn 4 project: provenance-guard init --pm yarn --feed … --public-key …');
  const dir = join(work, 'yarn-app');
  const home = join(work, 'yarn-home');
  const env = environment(home, { YARN_GLOBAL_FOLDER: join(home, 'yarn-global'), YARN_CACHE_FOLDER: join(home, 'yarn-cache'), YARN_ENABLE_GLOBAL_CACHE: 'false', YARN_ENABLE_TELEMETRY: '0', YARN_ENABLE_PROGRESS_BARS: 'false', YARN_ENABLE_COLORS: 'false', YARN_ENABLE_HYPERLINKS: 'false' });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'demo-yarn-app', private: true }, null, 2));
  writeFileSync(join(dir, 'yarn.lock'), '');
  writeFileSync(join(dir, '.yarnrc.yml'), `nodeLinker: node-modules\nnpmRegistryServer: "${url}"\nunsafeHttpWhitelist: ["127.0.0.1"]\nnpmMinimalAgeGate: 0\nenableScripts: true\n`);
  const init = await guard(['init', '--pm', 'yarn', '--feed', feed.feed, '--public-key', feed.pub], { cwd: dir, env });
  if (init.code !== 0) throw new Error(init.output);
  say(init.output.trim());
  blockMode(dir);
  step('yarn add @demo/left-pad  (in the feed: installs)');
  const ok = await run(process.execPath, [YARN, 'add', '@demo/left-pad@1.3.0'], { cwd: dir, env });
  if (ok.code !== 0) throw new Error(ok.output);
  step('yarn add @demo/free-prizes  (not in the feed: refused)');
  return showRefusal(await run(process.execPath, [YARN, 'add', '@demo/free-prizes@6.6.6'], { cwd: dir, env }), dir, markers);
}

async function main() {
  const started = Date.now();
  await ensureBuilt();
  const work = mkdtempSync(join(tmpdir(), 'provenance-guard-demo-'));
  const markers = join(work, 'markers');
  mkdirSync(markers);
  console.log(`provenance-guard demo (everything under ${work}, removed at the end)`);
  const registry = await startRegistry(work);
  try {
    await publishFixtures(registry.url, markers);
    const feed = await buildFeed(work, registry.url);
    const pnpmRefused = await pnpmProject(work, registry.url, feed, markers);
    const yarnRefused = await yarnProject(work, registry.url, feed, markers);
    const ranOk = readdirSync(markers).sort();
    step(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    say(`postinstall scripts that ran: ${ranOk.join(', ') || 'none'} (the vetted packages only)`);
    say(`pnpm refused @demo/free-prizes: ${pnpmRefused ? 'yes' : 'NO'}; Yarn refused it: ${yarnRefused ? 'yes' : 'NO'}`);
    say('Next: README "Quick start" for your own project, "Keeping the feed up to date" for new dependencies.');
    return pnpmRefused && yarnRefused ? 0 : 1;
  } finally {
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (error) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});

// Source match section: `provenance-guard verify` of N packages (BENCH_VERIFY_PACKAGES, default
// 100), each published to a local verdaccio from its own repository served by `git daemon` on
// 127.0.0.1 (reached through `insteadOf`), cold (empty cache: fetch, compare) and warm (verdict cache).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startVerdaccio, stopVerdaccio } from './lib/registry.mjs';

const COUNT = Number(process.env.BENCH_VERIFY_PACKAGES ?? 100);
const GIT_ENV = { GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.invalid', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

function git(args, cwd) {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function pack(ctx, files, dir) {
  const tar = createRequire(join(ctx.root, 'package.json'))('tar');
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, 'package', path, '..'), { recursive: true });
    writeFileSync(join(dir, 'package', path), content);
  }
  await tar.create({ gzip: true, cwd: dir, file: join(dir, 'out.tgz'), portable: true, mtime: new Date(0) }, ['package']);
  return readFileSync(join(dir, 'out.tgz'));
}

/** One repository and its published version; returns the spec. */
async function fixture(ctx, i, repos, scratch, registryUrl) {
  const name = `@pg-bench/verify-${i}`;
  const manifest = { name, version: '1.0.0', main: 'index.js', license: 'MIT', repository: `https://github.com/pg-bench/verify-${i}` };
  const files = { 'package.json': JSON.stringify(manifest, null, 2) + '\n', 'index.js': `module.exports = require('./lib/a');\n`, 'lib/a.js': `module.exports = ${i};\n`, 'README.md': `# verify-${i}\n` };
  const work = join(scratch, `w${i}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', 'main'], work);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(work, path, '..'), { recursive: true });
    writeFileSync(join(work, path), content);
  }
  writeFileSync(join(work, 'test.js'), 'test\n');
  writeFileSync(join(work, '.npmignore'), 'test.js\n');
  git(['add', '-A'], work);
  git(['commit', '-qm', 'release'], work);
  const commit = git(['rev-parse', 'HEAD'], work);
  const bare = join(repos, 'pg-bench', `verify-${i}`);
  git(['init', '-q', '--bare', bare], work);
  git(['config', 'uploadpack.allowAnySHA1InWant', 'true'], bare);
  git(['push', '-q', bare, 'main'], work);
  rmSync(work, { recursive: true, force: true });
  const data = await pack(ctx, files, join(scratch, `p${i}`));
  const integrity = 'sha512-' + createHash('sha512').update(data).digest('base64');
  const filename = `verify-${i}-1.0.0.tgz`;
  const body = {
    _id: name, name, 'dist-tags': { latest: '1.0.0' },
    versions: { '1.0.0': { ...manifest, gitHead: commit, _id: `${name}@1.0.0`, dist: { integrity, tarball: `${registryUrl}/${name}/-/${filename}` } } },
    _attachments: { [filename]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length } },
  };
  const res = await fetch(`${registryUrl}/${name.replace('/', '%2f')}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`publish ${name}: ${res.status}`);
  return `${name}@1.0.0`;
}

export async function run(ctx) {
  const dir = join(ctx.benchDir, 'verify');
  rmSync(dir, { recursive: true, force: true });
  const repos = join(dir, 'repos');
  const scratch = join(dir, 'scratch');
  mkdirSync(repos, { recursive: true });
  mkdirSync(scratch, { recursive: true });
  const { server, url } = await startVerdaccio(ctx, join(dir, 'registry'));
  const port = await freePort();
  const daemon = spawn('git', ['daemon', '--listen=127.0.0.1', `--port=${port}`, `--base-path=${repos}`, '--export-all', '--reuseaddr', repos], { stdio: 'ignore', env: { ...process.env, ...GIT_ENV } });
  try {
    const specs = [];
    for (let i = 0; i < COUNT; i++) specs.push(await fixture(ctx, i, repos, scratch, url));
    const gitconfig = join(dir, 'gitconfig');
    writeFileSync(gitconfig, `[url "git://127.0.0.1:${port}/"]\n\tinsteadOf = https://github.com/\n`);
    writeFileSync(join(dir, '.npmrc'), `registry=${url}/\n`);
    const env = { PROVENANCE_GUARD_CACHE_DIR: join(dir, 'cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, 'cache', 'state'), GIT_CONFIG_GLOBAL: gitconfig, npm_config_userconfig: join(dir, '.npmrc'), HOME: dir };
    const cli = join(ctx.root, 'dist', 'cli.cjs');
    for (const label of ['cold (fetch + compare)', 'warm (verdict cache)']) {
      const result = await ctx.measure(process.execPath, [cli, 'verify', ...specs, '--format', 'json'], { cwd: dir, env });
      const verdicts = result.code === 2 ? [] : JSON.parse(result.stdout).packages.map((p) => p.contents?.verdict);
      const matched = verdicts.filter((v) => v === 'match').length;
      ctx.print(ctx.formatResult(`verify ${COUNT} packages, ${label}`, result) + `   ${matched}/${COUNT} match`);
      if (result.code !== 0) ctx.print(result.stderr.slice(-2000));
    }
  } finally {
    daemon.kill();
    await stopVerdaccio(server);
  }
}

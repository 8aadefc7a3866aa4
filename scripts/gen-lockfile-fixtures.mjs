// Regenerates fixtures/lockfiles/{pnpm-v9,yarn-berry,npm-v3,npm-v2}/ with the REAL package managers
// (pnpm 10, Yarn 4, npm) installing from a local verdaccio (test/helpers/registry.ts).
// Usage: node scripts/gen-lockfile-fixtures.mjs
// Registry URLs (random port) and temp paths of the git repository end up in the lockfiles:
// that is expected. fixtures/lockfiles/pnpm-v6/ is hand-written (pnpm 10 cannot write v6).
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const work = mkdtempSync(join(tmpdir(), 'pg-lockfile-fixtures-'));

// Load the test registry helper (TypeScript) by bundling it once with esbuild.
const helper = join(root, 'node_modules/.cache/pg-gen-lockfile-fixtures/registry.cjs'); // inside the repo so its requires resolve
await build({ entryPoints: [join(root, 'test/helpers/registry.ts')], outfile: helper, bundle: true, platform: 'node', format: 'cjs', packages: 'external', logLevel: 'warning', absWorkingDir: root });
const { startRegistry } = require(helper);

const PNPM = join(root, 'node_modules/.bin/pnpm');
const YARN = join(root, 'node_modules/@yarnpkg/cli-dist/bin/yarn.js');

// Async on purpose: verdaccio runs in this process and must keep answering.
async function run(cmd, args, cwd, env = {}) {
  try {
    const { stdout } = await promisify(execFile)(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
    return stdout;
  } catch (error) {
    process.stderr.write(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${error.stdout ?? ''}\n${error.stderr ?? ''}\n`);
    throw error;
  }
}

function writeJson(path, value) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

const registry = await startRegistry();
let closeGitServer = () => {};
try {
  const url = registry.url;
  await registry.publish({ name: '@pg-fixture/transitive', version: '1.0.0' });
  await registry.publish({ name: '@pg-fixture/transitive', version: '1.1.0' });
  await registry.publish({ name: '@pg-fixture/direct', version: '1.0.0', dependencies: { '@pg-fixture/transitive': '^1.1.0' } });
  await registry.publish({ name: '@pg-fixture/real', version: '1.2.0' });
  await registry.publish({ name: '@pg-fixture/with-peer', version: '1.0.0', manifest: { peerDependencies: { '@pg-fixture/transitive': '^1.0.0' } } });
  const tarballed = await registry.publish({ name: '@pg-fixture/tarballed', version: '1.0.0' });

  // Shared local material: a bare git repository, a packed tarball, an outside folder.
  const shared = join(work, 'shared');
  const gitSrc = join(shared, 'from-git-src');
  writeJson(join(gitSrc, 'package.json'), { name: '@pg-fixture/from-git', version: '1.0.0', main: 'index.js', license: 'MIT' });
  writeFileSync(join(gitSrc, 'index.js'), 'module.exports = "from-git";\n');
  const gitEnv = { GIT_AUTHOR_NAME: 'fixture', GIT_AUTHOR_EMAIL: 'f@example.invalid', GIT_COMMITTER_NAME: 'fixture', GIT_COMMITTER_EMAIL: 'f@example.invalid', GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' };
  await run('git', ['init', '-q', '-b', 'main'], gitSrc, gitEnv);
  await run('git', ['add', '.'], gitSrc, gitEnv);
  await run('git', ['commit', '-q', '-m', 'v1.0.0'], gitSrc, gitEnv);
  const bare = join(shared, 'from-git.git');
  await run('git', ['clone', '-q', '--bare', gitSrc, bare], shared, gitEnv);
  const commit = (await run('git', ['rev-parse', 'HEAD'], gitSrc)).trim();
  // Yarn 4 rejects git+file: URLs ("Invalid URL"), so the bare repository is served over
  // git's dumb HTTP protocol on 127.0.0.1 and every package manager uses that URL.
  await run('git', ['update-server-info'], bare, gitEnv);
  const gitServer = createServer((req, res) => {
    const file = join(shared, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    try {
      res.end(readFileSync(file));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise((ok) => gitServer.listen(0, '127.0.0.1', ok));
  closeGitServer = () => gitServer.close();
  const remoteTgz = `http://127.0.0.1:${gitServer.address().port}/pg-fixture-remote-tgz-1.0.0.tgz`;
  const gitUrl = `git+http://127.0.0.1:${gitServer.address().port}/from-git.git#${commit}`;

  const outsideDir = join(shared, 'outside');
  writeJson(join(outsideDir, 'package.json'), { name: '@pg-fixture/outside', version: '1.0.0', license: 'MIT' });

  const DIRECT_PATCH = [
    'diff --git a/index.js b/index.js',
    '--- a/index.js',
    '+++ b/index.js',
    '@@ -1 +1 @@',
    '-module.exports = "@pg-fixture/direct@1.0.0";',
    '+module.exports = "@pg-fixture/direct@1.0.0 (patched)";',
    '',
  ].join('\n');

  function scaffold(dir, pm) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // outside/ is a sibling of the project, so `../outside` leaves the project.
    cpSync(outsideDir, join(dir, '..', 'outside'), { recursive: true });
    writeJson(join(dir, 'vendor/local-dir/package.json'), { name: '@pg-fixture/local-dir', version: '1.0.0', license: 'MIT' });
    cpSync(join(shared, 'pg-fixture-local-tgz-1.0.0.tgz'), join(dir, 'vendor/local-tgz-1.0.0.tgz'));
    // A patched dependency (pnpm patchedDependencies, Yarn patch: protocol; npm has none).
    if (pm !== 'npm') {
      mkdirSync(join(dir, 'patches'), { recursive: true });
      writeFileSync(join(dir, 'patches/direct.patch'), DIRECT_PATCH);
    }
    const wsDep = pm === 'npm' ? '1.0.0' : 'workspace:*';
    const outsideSpec = pm === 'pnpm' ? 'link:../outside' : pm === 'yarn' ? 'portal:../outside' : 'file:../outside';
    writeJson(join(dir, 'packages/ws-a/package.json'), {
      name: '@pg-fixture/ws-a',
      version: '1.0.0',
      license: 'MIT',
      dependencies: { '@pg-fixture/transitive': '1.0.0', '@pg-fixture/direct': '^1.0.0' },
    });
    writeJson(join(dir, 'package.json'), {
      name: 'lockfile-fixture',
      version: '0.0.0',
      private: true,
      ...(pm === 'pnpm' ? {} : { workspaces: ['packages/*'] }),
      dependencies: {
        '@pg-fixture/direct': pm === 'yarn' ? 'patch:@pg-fixture/direct@npm%3A^1.0.0#./patches/direct.patch' : '^1.0.0',
        '@pg-fixture/with-peer': '^1.0.0',
        '@pg-fixture/transitive': '~1.0.0',
        aliased: 'npm:@pg-fixture/real@^1.0.0',
        '@pg-fixture/ws-a': wsDep,
        '@pg-fixture/local-dir': 'file:./vendor/local-dir',
        '@pg-fixture/local-tgz': 'file:./vendor/local-tgz-1.0.0.tgz',
        '@pg-fixture/outside': outsideSpec,
        '@pg-fixture/from-git': gitUrl,
        // The registry's own tarball URL, and a tarball from another server.
        '@pg-fixture/tarballed': tarballed.tarball,
        '@pg-fixture/remote-tgz': remoteTgz,
      },
    });
  }

  // A file: tarball (packed the way npm packs).
  const tgzSrc = join(shared, 'local-tgz');
  writeJson(join(tgzSrc, 'package.json'), { name: '@pg-fixture/local-tgz', version: '1.0.0', license: 'MIT' });
  await run('npm', ['pack', '--pack-destination', shared, '--ignore-scripts'], tgzSrc, { npm_config_cache: join(work, 'npm-cache') });

  const remoteSrc = join(shared, 'remote-tgz');
  writeJson(join(remoteSrc, 'package.json'), { name: '@pg-fixture/remote-tgz', version: '1.0.0', license: 'MIT' });
  await run('npm', ['pack', '--pack-destination', shared, '--ignore-scripts'], remoteSrc, { npm_config_cache: join(work, 'npm-cache') });

  const outRoot = join(root, 'fixtures/lockfiles');
  const keep = (project, out, files) => {
    rmSync(out, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(out, f)), { recursive: true });
      cpSync(join(project, f), join(out, f));
    }
  };

  // The `../outside` folder the fixtures link to (shared by the three of them).
  rmSync(join(outRoot, 'outside'), { recursive: true, force: true });
  writeJson(join(outRoot, 'outside/package.json'), JSON.parse(readFileSync(join(outsideDir, 'package.json'), 'utf8')));

  // pnpm 10 → lockfile v9
  {
    const dir = join(work, 'pnpm', 'project');
    scaffold(dir, 'pnpm');
    writeFileSync(join(dir, 'pnpm-workspace.yaml'), "packages:\n  - 'packages/*'\nminimumReleaseAge: 0\npatchedDependencies:\n  '@pg-fixture/direct@1.0.0': patches/direct.patch\n");
    writeFileSync(join(dir, '.npmrc'), `registry=${url}/\n`);
    await run(PNPM, ['install', '--ignore-scripts', '--store-dir', join(work, 'pnpm-store'), '--config.confirmModulesPurge=false'], dir, { XDG_CACHE_HOME: join(work, 'xdg'), npm_config_cache: join(work, 'npm-cache') });
    keep(dir, join(outRoot, 'pnpm-v9'), ['pnpm-lock.yaml', 'pnpm-workspace.yaml', 'package.json', 'patches/direct.patch', 'packages/ws-a/package.json', 'vendor/local-dir/package.json']);
    console.log('pnpm-v9 written');
  }

  // Yarn 4 → Berry yarn.lock
  {
    const dir = join(work, 'yarn', 'project');
    scaffold(dir, 'yarn');
    writeFileSync(
      join(dir, '.yarnrc.yml'),
      [`nodeLinker: node-modules`, `npmRegistryServer: "${url}"`, `unsafeHttpWhitelist: ["127.0.0.1"]`, `npmMinimalAgeGate: 0`, `enableScripts: false`, `enableTelemetry: false`, `enableGlobalCache: false`, `approvedGitRepositories: ["http://127.0.0.1:*/**"]`, ''].join('\n'),
    );
    writeFileSync(join(dir, 'yarn.lock'), '');
    await run('node', [YARN, 'install', '--mode=skip-build'], dir, { YARN_GLOBAL_FOLDER: join(work, 'yarn-global'), YARN_CACHE_FOLDER: join(work, 'yarn-cache'), YARN_ENABLE_IMMUTABLE_INSTALLS: 'false' });
    keep(dir, join(outRoot, 'yarn-berry'), ['yarn.lock', '.yarnrc.yml', 'package.json', 'patches/direct.patch', 'packages/ws-a/package.json', 'vendor/local-dir/package.json']);
    console.log('yarn-berry written');
  }

  // npm → package-lock v3 (this machine's npm config omits registry `resolved` URLs).
  {
    const dir = join(work, 'npm', 'project');
    scaffold(dir, 'npm');
    await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', `--registry=${url}/`], dir, { npm_config_cache: join(work, 'npm-cache') });
    keep(dir, join(outRoot, 'npm-v3'), ['package-lock.json', 'package.json', 'packages/ws-a/package.json', 'vendor/local-dir/package.json']);
    console.log('npm-v3 written');
    // The same tree as lockfileVersion 2 (npm 7/8's format: `packages` plus the legacy `dependencies`).
    await run('npm', ['install', '--package-lock-only', '--lockfile-version=2', '--ignore-scripts', '--no-audit', '--no-fund', `--registry=${url}/`], dir, { npm_config_cache: join(work, 'npm-cache') });
    keep(dir, join(outRoot, 'npm-v2'), ['package-lock.json', 'package.json', 'packages/ws-a/package.json', 'vendor/local-dir/package.json']);
    console.log('npm-v2 written');
  }
} finally {
  closeGitServer();
  await registry.close();
  rmSync(work, { recursive: true, force: true });
}

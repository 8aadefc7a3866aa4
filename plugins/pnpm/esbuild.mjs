// esbuild plugin for the pnpm hook bundle, used by its entry in scripts/build.mjs.
// 1. pacote / sigstore (only needed for `online` evidence or an npm-package feed source) and
//    typescript (cosmiconfig's loader for .ts configs, which we do not support) are not
//    bundled: they resolve to a stub that loads them from the project at run time, or fails
//    with a clear message when they are not installed there.
// 2. After the build, the config dependency package pnpm-plugin-provenance-guard is laid out
//    in plugins/pnpm/dist/config-dependency/ (package.json + pnpmfile.cjs), ready to publish.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deferredModules } from '../../scripts/esbuild-deferred.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
export const CONFIG_DEPENDENCY_NAME = 'pnpm-plugin-provenance-guard';
const LAZY = /^(pacote|sigstore|@sigstore\/.*|typescript)$/;
// Bundled, but initialised on first use: semver, npm-package-arg, hosted-git-info, lru-cache and
// yaml (their tables cost tens of milliseconds to build, and a reused verdict needs none of them:
// it remembers the parsed config),
// Yarn's parsers (for .yarnrc.yml, which a pnpm install rarely reads) and cosmiconfig (only for
// JavaScript configs), picocolors (coloured output only, which hooks never print): module
// initialisation is paid in every hook process.
const DEFERRED = /^(@yarnpkg\/parsers|@zkochan\/js-yaml|cosmiconfig|semver|npm-package-arg|hosted-git-info|lru-cache|yaml|picocolors)$/;

export const pnpmBundlePlugin = {
  name: 'provenance-guard-pnpm',
  setup(build) {
    build.onResolve({ filter: LAZY }, (args) => ({ path: args.path, namespace: 'pg-lazy' }));
    deferredModules(DEFERRED).setup(build);
    build.onLoad({ filter: /.*/, namespace: 'pg-lazy' }, (args) => ({
      loader: 'js',
      contents: `
const { createRequire } = require('node:module');
const { join } = require('node:path');
const name = ${JSON.stringify(args.path)};
let loaded;
try { loaded = createRequire(join(process.cwd(), 'package.json'))(name); } catch (error) {
  const problem = new Error(name === 'typescript'
    ? 'provenance-guard (pnpm hook): TypeScript config files are not supported; use .provenancerc (YAML or JSON) or a .js/.cjs config.'
    : 'provenance-guard (pnpm hook): "' + name + '" is needed for live evidence (online) or an npm-package feed source, but it is not installed in this project. Use a feed path or https URL, or add provenance-guard as a devDependency.');
  problem.code = 'ERR_PNPM_PROVENANCE_GUARD';
  loaded = new Proxy({}, { get(_, key) { if (key === '__esModule') return false; throw problem; } });
}
module.exports = loaded;
`,
    }));
    build.onEnd((result) => {
      if (result.errors.length > 0) return;
      const outfile = build.initialOptions.outfile;
      const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
      const dir = join(root, 'plugins/pnpm/dist/config-dependency');
      mkdirSync(dir, { recursive: true });
      copyFileSync(resolve(root, outfile), join(dir, 'pnpmfile.cjs'));
      const manifest = {
        name: CONFIG_DEPENDENCY_NAME,
        version,
        description: 'provenance-guard as a pnpm config dependency: checks every resolved package against a signed verdict feed before it is installed.',
        license: 'Apache-2.0',
        main: 'pnpmfile.cjs',
        files: ['pnpmfile.cjs'],
        keywords: ['pnpm', 'pnpm-plugin', 'supply-chain', 'provenance'],
      };
      writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
    });
  },
};

/** Builds only the pnpm bundle (the same options scripts/build.mjs uses); for tests and benchmarks. */
export async function buildPnpmBundle() {
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: root,
    bundle: true, platform: 'node', target: 'node20.19', format: 'cjs', logLevel: 'warning', legalComments: 'none',
    external: ['typescript'],
    entryPoints: ['plugins/pnpm/pnpmfile.ts'], outfile: 'plugins/pnpm/dist/pnpmfile.cjs',
    plugins: [pnpmBundlePlugin],
  });
  return join(root, 'plugins/pnpm/dist/pnpmfile.cjs');
}

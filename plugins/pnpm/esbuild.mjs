// The pnpm hook bundle (plugins/pnpm/dist/pnpmfile.cjs), built by scripts/build.mjs and by tests.
// 1. Two bundles in one file: pnpmfile.ts (the hooks' entry points and the command line) runs when
//    pnpm loads the file; runtime.ts (everything else) is carried in a comment and compiled on the
//    first hook call, with V8's code cache (scripts/code-cache-wrap.mjs wrapLazyPayload). pnpm 12
//    loads the pnpmfile in a process that only lists the hooks and in one that runs only
//    updateConfig: compiling the whole bundle there cost ~35 ms each.
// 2. pacote / sigstore (only needed for `online` evidence or an npm-package feed source) and
//    typescript (cosmiconfig's loader for .ts configs, which we do not support) are not
//    bundled: they resolve to a stub that loads them from the project at run time, or fails
//    with a clear message when they are not installed there.
// 3. After the build, the config dependency package pnpm-plugin-provenance-guard is laid out
//    in plugins/pnpm/dist/config-dependency/ (package.json + pnpmfile.cjs), ready to publish.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deferredModules } from '../../scripts/esbuild-deferred.mjs';
import { jsYamlWithoutEsprima } from '../../scripts/esbuild-js-yaml.mjs';
import { commentSafe } from '../../scripts/esbuild-comment-safe.mjs';
import { wrapLazyPayload } from '../../scripts/code-cache-wrap.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
export const CONFIG_DEPENDENCY_NAME = 'pnpm-plugin-provenance-guard';
const LAZY = /^(pacote|sigstore|@sigstore\/.*|typescript)$/;
// Bundled, but initialised on first use: semver, npm-package-arg, hosted-git-info, lru-cache and
// yaml (their tables cost tens of milliseconds to build, and a reused verdict needs none of them:
// it remembers the parsed config),
// Yarn's parsers (for .yarnrc.yml, which a pnpm install rarely reads) and cosmiconfig (only for
// JavaScript configs), picocolors (coloured output only, which hooks never print), and node:zlib
// (only a feed lookup inflates; pnpm 12's hook process has not loaded it: ~2 ms there): module
// initialisation is paid in every hook process.
const DEFERRED = /^(@yarnpkg\/parsers|@zkochan\/js-yaml|cosmiconfig|semver|npm-package-arg|hosted-git-info|lru-cache|yaml|picocolors|node:zlib)$/;

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
  },
};

/** Lays out the config dependency pnpm-plugin-provenance-guard: package.json and the bundle as pnpmfile.cjs. */
export function layOutConfigDependency(bundle) {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const dir = join(root, 'plugins/pnpm/dist/config-dependency');
  mkdirSync(dir, { recursive: true });
  copyFileSync(bundle, join(dir, 'pnpmfile.cjs'));
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
}

/** What pnpmfile.ts calls for `require('./runtime')`: the function that runs the carried payload. */
const RUNTIME_GLOBAL = '__pgPnpmRuntime';

/**
 * Builds the pnpm bundle into `outfile` (default plugins/pnpm/dist/pnpmfile.cjs); with
 * `configDependency`, lays out the config dependency from it too.
 */
export async function buildPnpmBundle({ outfile = join(root, 'plugins/pnpm/dist/pnpmfile.cjs'), configDependency = false } = {}) {
  const { build } = await import('esbuild');
  const common = {
    absWorkingDir: root, bundle: true, platform: 'node', target: 'node20.19', format: 'cjs', logLevel: 'warning', legalComments: 'none',
    external: ['typescript'], minifyWhitespace: true, minifySyntax: true, write: false,
  };
  const runtimeStub = {
    name: 'pnpm-runtime-payload',
    setup(b) {
      b.onResolve({ filter: /^\.\/runtime$/ }, (args) => (args.importer.endsWith('pnpmfile.ts') ? { path: 'runtime', namespace: 'pg-runtime' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'pg-runtime' }, () => ({ loader: 'js', contents: `module.exports = ${RUNTIME_GLOBAL}();` }));
    },
  };
  const [outer, payload] = await Promise.all([
    build({ ...common, entryPoints: ['plugins/pnpm/pnpmfile.ts'], plugins: [runtimeStub, commentSafe, jsYamlWithoutEsprima, pnpmBundlePlugin] }),
    build({ ...common, entryPoints: ['plugins/pnpm/runtime.ts'], plugins: [commentSafe, jsYamlWithoutEsprima, pnpmBundlePlugin] }),
  ]);
  mkdirSync(dirname(outfile), { recursive: true });
  // The cache is made by an install whose preResolution reused its stored verdict (hooks.ts).
  await wrapLazyPayload(outfile, { outerText: outer.outputFiles[0].text, payloadText: payload.outputFiles[0].text, name: 'pnpmfile', globalName: RUNTIME_GLOBAL, untilReady: true, writeOnReady: true });
  if (configDependency) layOutConfigDependency(outfile);
  return outfile;
}

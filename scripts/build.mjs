// Bundles the CLI, the library and the package-manager adapters with esbuild.
// The adapters (plugins/) run inside the user's package manager, so they are fully
// self-contained: nothing of ours is required from node_modules at run time.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { deferredModules } from './esbuild-deferred.mjs';
import { jsYamlWithoutEsprima } from './esbuild-js-yaml.mjs';
import { commentSafe } from './esbuild-comment-safe.mjs';
import { wrapWithCodeCache } from './code-cache-wrap.mjs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
  // cosmiconfig loads TypeScript configs lazily through `typescript`; we do not support them.
  external: ['typescript'],
};

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
rmSync(new URL('../plugins/bun/dist', import.meta.url), { recursive: true, force: true });

const cliExternal = [...common.external, 'pacote', 'sigstore', '@sigstore/*', 'ini', '@npmcli/arborist', 'npm-packlist'];

/**
 * Bundled into the Yarn plugin and the Bun scanner, but initialised on first use: a reused verdict
 * remembers the parsed config (no yaml), and the others build tables at load time that most runs
 * never use (picocolors: only coloured output, which hooks never print).
 */
const RARELY_NEEDED = /^(yaml|@zkochan\/js-yaml|npm-package-arg|hosted-git-info|lru-cache|cosmiconfig|picocolors)$/;

/**
 * The Bun scanner's packages, each in a file of its own beside it (plugins/bun/dist/), loaded on
 * first use: Bun (JavaScriptCore) parses a whole file as it loads it, and every install starts a
 * scanner process (loading 506 kB with them inside took ~95 ms more than `bun -e 0`; 149 kB
 * without, ~55). Sibling files of our own package, never a name resolved from the project's
 * node_modules.
 */
const BUN_CHUNKS = Object.fromEntries(['yaml', '@zkochan/js-yaml', 'npm-package-arg', 'hosted-git-info', 'lru-cache', 'cosmiconfig', 'picocolors', '@yarnpkg/parsers', 'semver']
  .map((name) => [name, `scanner-${name.replace(/^@/, '').replace(/\//g, '-')}.cjs`]));

/**
 * Packages the executable and the full CLI load on first use from a file of their own in dist/
 * (pnpm's js-yaml reads pnpm-lock.yaml; Yarn's parsers yarn.lock and .yarnrc.yml; tar tarballs for verify; glob and
 * minimatch expand npm workspace globs, for the npm wrapper and package-lock.json workspaces:
 * bundled in the full CLI they cost every run ~7 ms).
 */
const CLI_CHUNKS = { yaml: 'cli-yaml.cjs', '@yarnpkg/parsers': 'cli-yarn-parsers.cjs', '@zkochan/js-yaml': 'cli-js-yaml.cjs', tar: 'cli-tar.cjs', glob: 'cli-glob.cjs', minimatch: 'cli-minimatch.cjs' };
const chunkOrPackage = (name) => (CLI_CHUNKS[name] ? `./${CLI_CHUNKS[name]}` : name);

/** One bundle per package of `chunks` (name → file), written to `dir`: what a deferred module's stub requires on first use. */
const packageChunks = (chunks, dir, minify) => Object.entries(chunks).map(([name, file]) => ({
  stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: '.', loader: 'js' }, outfile: `${dir}/${file}`, ...minify,
}));

/** What both CLI bundles load on first use (each adds its own below). */
const CLI_DEFERRED = ['@yarnpkg/parsers', 'cosmiconfig', 'yaml', '@zkochan/js-yaml', 'semver', 'npm-package-arg', 'hosted-git-info', 'picocolors'];
const namesPattern = (names) => new RegExp(`^(${names.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);

const targets = [
  // The CLI and library keep their heavy, rarely used network dependencies (pacote,
  // sigstore) external: they are npm dependencies of this package, loaded only by the
  // live-evidence commands.
  // Every install and CI run starts the CLI: whitespace/syntax minification cuts its load time
  // by about a third (names are kept, so stack traces still read).
  // picocolors loads only for coloured output (src/report/colors.ts says why).
  // YAML, Yarn's parsers, tar (verify), cosmiconfig, semver, npm-package-arg and hosted-git-info are not in it:
  // they load on first use from the chunk files beside it and from node_modules (a first `check` compiles what it
  // loads: ~1 MB was ~55 ms; a check of a pnpm-lock.yaml of registry packages never loads the last three).
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli-main.cjs', external: cliExternal, minifyWhitespace: true, minifySyntax: true,
    plugins: [deferredModules(namesPattern([...CLI_DEFERRED, 'tar', 'glob', 'minimatch']), { requireAs: chunkOrPackage })] },
  // The executable: answers a repeat `check` from its stored verdict (src/cli/entry.ts), else
  // loads dist/cli-main.cjs. What it needs only for other configurations (YAML, Yarn settings, JS
  // configs, the verified-page cache) initialises on first use.
  { entryPoints: ['src/cli/entry.ts'], outfile: 'dist/cli.cjs', banner: { js: '#!/usr/bin/env node' }, external: [...cliExternal.filter((name) => name !== 'ini'), './cli-main.cjs'], minifyWhitespace: true, minifySyntax: true,
    plugins: [deferredModules(namesPattern([...CLI_DEFERRED, 'lru-cache', 'node:zlib']), { requireAs: chunkOrPackage })] },
  // yaml, Yarn's parsers, pnpm's js-yaml, glob and minimatch for the executable, each in one file
  // beside it (from node_modules yaml and Yarn's parsers would be ~50 files each).
  ...packageChunks(CLI_CHUNKS, 'dist', { minifyWhitespace: true, minifySyntax: true }),
  { entryPoints: ['src/index.ts'], outfile: 'dist/index.cjs', external: cliExternal },
  // Yarn plugin bundle: `module.exports = { name, factory(require) }`; the iife runs inside the
  // factory, so Yarn's own modules (and node builtins) come from the factory's require, never
  // a top-level require.
  {
    entryPoints: ['plugins/yarn/index.ts'], outfile: 'plugins/yarn/dist/plugin-provenance.cjs', format: 'iife', globalName: 'plugin', minifyWhitespace: true, minifySyntax: true,
    external: [...common.external, 'pacote', 'sigstore', '@yarnpkg/core', '@yarnpkg/plugin-npm', '@yarnpkg/fslib', '@yarnpkg/parsers', 'clipanion', 'semver', 'typanion'],
    banner: { js: '//prettier-ignore\nmodule.exports = {\nname: "@yarnpkg/plugin-provenance",\nfactory: function (require) {' },
    footer: { js: 'return plugin;\n}\n};' },
    // Installs never gather live evidence: src/evidence is replaced by a stub (see the file).
    plugins: [{ name: 'yarn-no-evidence', setup(b) { b.onResolve({ filter: /\/evidence\/index$/ }, () => ({ path: new URL('../plugins/yarn/no-evidence.ts', import.meta.url).pathname })); } },
      deferredModules(RARELY_NEEDED)],
  },
  // Bun security scanner: what `provenance-guard` resolves to under Bun (the `bun` export
  // condition; Bun loads a scanner by the name of a root dependency) and `provenance-guard/bun`.
  // Everything bundled but the live-evidence stack, which only `online` or an npm-package feed
  // source loads (provenance-guard is installed with its dependencies there). Minified: Bun
  // starts a process and loads it on every install.
  { entryPoints: ['plugins/bun/index.ts'], outfile: 'plugins/bun/dist/scanner.cjs', minify: true, external: [...common.external, 'pacote', 'sigstore', '@sigstore/*'],
    plugins: [deferredModules(namesPattern(Object.keys(BUN_CHUNKS)), { requireAs: (name) => `./${BUN_CHUNKS[name]}` })] },
  ...packageChunks(BUN_CHUNKS, 'plugins/bun/dist', { minify: true }),
];

await Promise.all([
  ...targets.map((t) => build({ ...common, ...t, plugins: [commentSafe, jsYamlWithoutEsprima, ...(t.plugins ?? [])] })),
  // pnpm hook bundle (module.exports = { hooks }), its hooks' implementation run with V8's code
  // cache on first use; also lays out the config dependency pnpm-plugin-provenance-guard in
  // plugins/pnpm/dist/config-dependency/ (plugins/pnpm/esbuild.mjs).
  import('../plugins/pnpm/esbuild.mjs').then(({ buildPnpmBundle }) => buildPnpmBundle({ configDependency: true })),
]);

// The Yarn plugin runs with V8's code cache (src/code-cache.ts): measured, it spends ~8 ms less
// of every install (factory and gate; docs/performance-history.md). So does the executable, cached by a
// run that answered a repeat check from its stored verdict: that answer took ~9 ms less (110 → 101
// ms, 41 runs), a first check as long (463 / 464 ms). The pnpmfile's hooks too (built above, only
// their implementation: loading the file compiles none of it). Not the full CLI (a first check
// compiles what it runs once), nor the Bun scanner (Bun is not V8).
await wrapWithCodeCache('plugins/yarn/dist/plugin-provenance.cjs', 'yarn-plugin', { untilReady: true });
await wrapWithCodeCache('dist/cli.cjs', 'cli', { untilReady: true });

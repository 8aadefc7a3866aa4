// esbuild plugin: modules matching `pattern` are bundled, but initialised on first use. Used
// where a bundle starts on every install or `check` and the module is rarely needed there (Yarn's
// parsers, with js-yaml, cost several milliseconds of initialisation in each process).
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(import.meta.url);

export function deferredModules(pattern) {
  return {
    name: 'provenance-guard-deferred',
    setup(build) {
      build.onResolve({ filter: pattern }, (args) => ({ path: args.path, namespace: 'pg-deferred' }));
      build.onLoad({ filter: /.*/, namespace: 'pg-deferred' }, (args) => {
        const real = requireHere.resolve(args.path, { paths: [root] });
        // esbuild's __toESM copies the export names as getters: they are known here, the module loads on the first read.
        const names = Object.keys(requireHere(real));
        return {
          loader: 'js',
          resolveDir: root,
          contents: `
let loaded;
const load = () => (loaded ??= require(${JSON.stringify(real)}));
const names = ${JSON.stringify(names)};
module.exports = new Proxy({}, {
  get: (_, key) => (key === '__esModule' ? true : load()[key]),
  ownKeys: () => names,
  getOwnPropertyDescriptor: (_, key) => (names.includes(key) ? { enumerable: true, configurable: true } : undefined),
});
`,
        };
      });
    },
  };
}

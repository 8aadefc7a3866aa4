// esbuild plugin: modules matching `pattern` initialise on first use. Used where a bundle starts
// on every install or `check` and the module is rarely needed there (Yarn's parsers, with js-yaml,
// cost several milliseconds of initialisation in each process).
//
// By default the module is bundled. With `requireAs(name)` it is not: the stub requires what
// requireAs returns (the package from node_modules, or a sibling file of the bundle) on first use,
// so the bundle does not even parse it (the CLI's entry and full CLI); a name it returns nothing
// for is bundled.
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(import.meta.url);

export function deferredModules(pattern, { requireAs } = {}) {
  return {
    name: 'provenance-guard-deferred',
    setup(build) {
      // The stub's own require of the real module (requireAs: often the same name) must not come back to the stub.
      build.onResolve({ filter: pattern }, (args) => (args.namespace === 'pg-deferred' ? undefined : { path: args.path, namespace: 'pg-deferred' }));
      // An absolute path is the module itself, bundled; anything else is what requireAs named.
      build.onResolve({ filter: /.*/, namespace: 'pg-deferred' }, (args) => (isAbsolute(args.path) ? undefined : { path: args.path, external: true }));
      build.onLoad({ filter: /.*/, namespace: 'pg-deferred' }, (args) => {
        const resolved = requireHere.resolve(args.path, { paths: [root] });
        // esbuild imports a bundled CommonJS module through __toESM, which copies each of its
        // own properties onto a namespace object (a getter each, through this proxy's traps:
        // ~2 ms for the stubs of one bundle in a cold process). So the stub has no own keys to
        // copy; the namespace object's prototype is taken from it (__create(__getProtoOf(mod))),
        // and that prototype reads every name from the real module, loaded on the first read.
        const real = requireHere(resolved);
        const callable = typeof real === 'function';
        return {
          loader: 'js',
          resolveDir: root,
          contents: `
let loaded;
const load = () => (loaded ??= require(${JSON.stringify(requireAs?.(args.path) ?? resolved)}));
const names = new Proxy(Object.create(null), {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
});
const target = ${callable ? 'function () {}' : '{}'};
module.exports = new Proxy(target, {
  get: (_, key) => (key === '__esModule' ? ${JSON.stringify(real.__esModule === true)} : load()[key]),
  has: (_, key) => key in load(),
  apply: (_, self, args) => Reflect.apply(load(), self, args),
  construct: (_, args) => Reflect.construct(load(), args),
  getPrototypeOf: () => names,
  // A function's own 'prototype' cannot be hidden (a proxy invariant); nothing else is listed.
  ownKeys: () => (${callable} ? ['prototype'] : []),
  getOwnPropertyDescriptor: (_, key) => (key === 'prototype' && ${callable} ? Reflect.getOwnPropertyDescriptor(target, key) : undefined),
});
`,
        };
      });
    },
  };
}

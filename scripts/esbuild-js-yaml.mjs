// esbuild plugin: js-yaml 3 (inside Yarn's parsers) tries `require('esprima')` when it loads,
// through an alias bundlers cannot see, for the `!!js/function` type of its full schema. Every
// parse here uses the failsafe schema, so esprima is never needed; but left in, a bundle loads
// whatever `esprima` resolves from where it runs (a project's node_modules, for the Bun scanner
// at load time) and spends ~10 ms compiling it. The require is replaced by `undefined`: js-yaml
// then behaves exactly as without esprima installed (the type resolves nothing).
import { readFile } from 'node:fs/promises';

const ESPRIMA = /_require\((['"])esprima\1\)/;

export const jsYamlWithoutEsprima = {
  name: 'provenance-guard-js-yaml-without-esprima',
  setup(build) {
    build.onLoad({ filter: /[\\/]js-yaml[\\/]lib[\\/]js-yaml[\\/]type[\\/]js[\\/]function\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!ESPRIMA.test(source)) throw new Error(`${args.path}: js-yaml's esprima require changed; update scripts/esbuild-js-yaml.mjs`);
      return { contents: source.replace(ESPRIMA, 'undefined'), loader: 'js' };
    });
  },
};

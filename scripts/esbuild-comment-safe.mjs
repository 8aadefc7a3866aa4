// esbuild plugin: takes the one `*/` a bundled dependency writes out of the bundle. The bundles
// that run with V8's code cache are carried in a comment (scripts/code-cache-wrap.mjs); each `*/`
// in them has to be escaped there and copied back by the loader, a copy of the whole bundle
// (~8 ms for the pnpmfile's 900 kB). Our own sources write none (test/code-cache.test.ts checks
// the built bundles). json-parse-even-better-errors (parse-json's, under cosmiconfig) has the
// regular expression /^Unexpected end of JSON.*/i; `.*(?:)` matches what `.*` matches.
import { readFile } from 'node:fs/promises';

const FILE = /[\\/]json-parse-even-better-errors[\\/].*index\.js$/;
const FROM = '/^Unexpected end of JSON.*/i';
const TO = '/^Unexpected end of JSON.*(?:)/i';

export const commentSafe = {
  name: 'provenance-guard-comment-safe',
  setup(build) {
    build.onLoad({ filter: FILE }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      return text.includes(FROM) ? { contents: text.replaceAll(FROM, TO), loader: 'js' } : undefined;
    });
  },
};

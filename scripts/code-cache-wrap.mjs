// Wraps a built bundle so it runs with V8's code cache (src/code-cache.ts). The wrapper is a small
// loader and, as the body of a function that is only a comment, the bundle's text as a CommonJS
// module function (MODULE_HEAD … MODULE_TAIL): V8 skips a comment without parsing it, and the
// loader reads it back with Function.prototype.toString and compiles that slice of the wrapper's
// source as it is, without a copy (copying a 900 kB bundle twice cost ~13 ms here). The bundle is
// unchanged inside the comment, but for each `*/`, which stands as END_MARK (then the loader must
// copy it back; the builds remove the `*/` they can, esbuild-comment-safe.mjs).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { deferredModules } from './esbuild-deferred.mjs';

const END_MARK = '*<pg-comment-end>/';
const MODULE_HEAD = '(function (exports, require, module, __filename, __dirname) {';
const MODULE_TAIL = '\n})';
let loader;

// What follows `head` (the wrapper up to the comment's first byte) for a bundle `text`: the
// comment's text (its module function, each star-slash as END_MARK), the comment's end, and the
// site runModulePayload is given (src/code-cache.ts PayloadSite), up to its closing brace.
function carried(text, outfile, head, { name, untilReady = false, writeOnReady = false }) {
  if (text.includes(END_MARK)) throw new Error(`${outfile} holds ${END_MARK}: choose another mark`);
  const source = `${MODULE_HEAD}${text}${MODULE_TAIL}`;
  const escaped = source.replaceAll('*/', END_MARK);
  const sha256 = createHash('sha256').update(text).digest('hex');
  // Where the comment's text lies in the file (as a string), for a runtime that drops comments (Bun).
  const site = [`name: ${JSON.stringify(name)}`, `sha256: ${JSON.stringify(sha256)}`, 'filename: __filename', 'require',
    ...(escaped === source ? [] : [`endMark: ${JSON.stringify(END_MARK)}`]), ...(untilReady ? ['untilReady: true'] : []),
    ...(writeOnReady ? ['writeOnReady: true'] : []), `payloadAt: ${head.length}`, `payloadLength: ${escaped.length}`];
  return `${escaped}*/}, { ${site.join(', ')} }`;
}

/** The loader, as a script defining `__pgCodeCache` (node:crypto loads only when a cache is read or written). */
async function loaderScript() {
  loader ??= build({
    entryPoints: [new URL('../src/code-cache.ts', import.meta.url).pathname],
    bundle: true, write: false, platform: 'node', target: 'node20.19', format: 'iife', globalName: '__pgCodeCache',
    minify: true, legalComments: 'none', logLevel: 'warning',
    plugins: [deferredModules(/^node:crypto$/)],
  }).then((result) => result.outputFiles[0].text.trim());
  return loader;
}

/**
 * Rewrites `outfile` as a wrapper of its own text, cached under `name`; with `untilReady`, only a
 * run in which the bundle called codeCacheReady() (src/code-cache-ready.ts) makes the cache.
 */
export async function wrapWithCodeCache(outfile, name, { untilReady = false } = {}) {
  let text = readFileSync(outfile, 'utf8');
  const shebang = text.startsWith('#!') ? text.slice(0, text.indexOf('\n') + 1) : '';
  text = text.slice(shebang.length);
  const head = `${shebang}"use strict";\n// ${name}: the bundle is the comment at the end, run with V8's code cache (src/code-cache.ts).\n${await loaderScript()}\n__pgCodeCache.runModulePayload(module, function () {/*`;
  writeFileSync(outfile, `${head}${carried(text, outfile, head, { name, untilReady })});\n`);
}

/**
 * Writes `outfile`: the outer bundle `outerText` run as it is, and `payloadText` (a CommonJS
 * bundle) carried in a comment as the body of the function `globalName`, which the outer bundle
 * calls on first use: it runs the payload with V8's code cache and returns its exports. Loading
 * the file compiles only the outer bundle (pnpm 12 loads the pnpmfile in processes that list its
 * hooks or run only updateConfig; neither needs the rest). Options as wrapWithCodeCache's, and
 * `writeOnReady` (src/code-cache.ts).
 */
export async function wrapLazyPayload(outfile, { outerText, payloadText, name, globalName, untilReady = false, writeOnReady = false }) {
  if (!outerText.includes(globalName)) throw new Error(`the outer bundle of ${outfile} never calls ${globalName}`);
  const head = `"use strict";\n// ${name}: what the hooks run is the comment at the end, loaded on first use with V8's code cache (src/code-cache.ts).\n`
    + `${await loaderScript()}\n${outerText.trim()}\nfunction ${globalName}() {\nconst m = { exports: {} };\n__pgCodeCache.runModulePayload(m, function () {/*`;
  writeFileSync(outfile, `${head}${carried(payloadText, outfile, head, { name, untilReady, writeOnReady })});\nreturn m.exports;\n}\n`);
}

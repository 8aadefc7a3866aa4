// Wraps a built bundle so it runs with V8's code cache (src/code-cache.ts). The wrapper is a small
// loader and, as the body of a function that is only a comment, the bundle's text: V8 skips a
// comment without parsing it, and the loader reads it back with Function.prototype.toString.
// The bundle itself is unchanged inside the comment, but for each `*/`, which stands as END_MARK.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { deferredModules } from './esbuild-deferred.mjs';

const END_MARK = '*<pg-comment-end>/';
let loader;

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
  if (text.includes(END_MARK)) throw new Error(`${outfile} holds ${END_MARK}: choose another mark`);
  const sha256 = createHash('sha256').update(text).digest('hex');
  const escaped = text.replaceAll('*/', END_MARK);
  const head = `${shebang}"use strict";\n// ${name}: the bundle is the comment at the end, run with V8's code cache (src/code-cache.ts).\n${await loaderScript()}\n__pgCodeCache.runModulePayload(module, function () {/*`;
  // Where the comment's text lies in the file (as a string), for a runtime that drops comments (Bun).
  const at = `, payloadAt: ${head.length}, payloadLength: ${escaped.length}`;
  const site = `{ name: ${JSON.stringify(name)}, sha256: ${JSON.stringify(sha256)}, filename: __filename, require${escaped === text ? '' : `, endMark: ${JSON.stringify(END_MARK)}`}${untilReady ? ', untilReady: true' : ''}${at} }`;
  writeFileSync(outfile, `${head}${escaped}*/}, ${site});\n`);
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
  if (payloadText.includes(END_MARK)) throw new Error(`the payload of ${outfile} holds ${END_MARK}: choose another mark`);
  if (!outerText.includes(globalName)) throw new Error(`the outer bundle of ${outfile} never calls ${globalName}`);
  const sha256 = createHash('sha256').update(payloadText).digest('hex');
  const escaped = payloadText.replaceAll('*/', END_MARK);
  const head = `"use strict";\n// ${name}: what the hooks run is the comment at the end, loaded on first use with V8's code cache (src/code-cache.ts).\n`
    + `${await loaderScript()}\n${outerText.trim()}\nfunction ${globalName}() {\nconst m = { exports: {} };\n__pgCodeCache.runModulePayload(m, function () {/*`;
  const site = `{ name: ${JSON.stringify(name)}, sha256: ${JSON.stringify(sha256)}, filename: __filename, require${escaped === payloadText ? '' : `, endMark: ${JSON.stringify(END_MARK)}`}`
    + `${untilReady ? ', untilReady: true' : ''}${writeOnReady ? ', writeOnReady: true' : ''}, payloadAt: ${head.length}, payloadLength: ${escaped.length} }`;
  writeFileSync(outfile, `${head}${escaped}*/}, ${site});\nreturn m.exports;\n}\n`);
}

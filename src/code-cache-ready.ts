/**
 * A bundle run with V8's code cache (src/code-cache.ts) can ask that its cache be made only by a
 * run that did its main work, so the cache holds the functions later runs need: the Yarn plugin
 * calls `codeCacheReady()` once its gate has run (a `yarn run` loads the plugin too, and would
 * otherwise leave a cache of its factory alone). The loader and the bundle are separate scripts:
 * they meet at this symbol on globalThis. Nothing happens when the bundle runs unwrapped.
 */
export const CODE_CACHE_READY = Symbol.for('provenance-guard.code-cache.ready');

export function codeCacheReady(): void {
  const ready = (globalThis as Record<symbol, unknown>)[CODE_CACHE_READY];
  if (typeof ready === 'function') (ready as () => void)();
}

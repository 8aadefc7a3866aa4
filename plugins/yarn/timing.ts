/**
 * PROVENANCE_GUARD_TIMING=1: the plugin's own time in Yarn's fetch step (the synchronous check
 * of each archive: its expected sha512 and whether this machine verified it), summed over
 * every package and printed once when Yarn exits. The gate's time is printed by gate.ts.
 */
const enabled = process.env.PROVENANCE_GUARD_TIMING === '1';
let spent = 0;
let calls = 0;

export function timedFetchCheck<T>(run: () => T): T {
  if (!enabled) return run();
  const started = performance.now();
  try {
    return run();
  } finally {
    spent += performance.now() - started;
    if (calls++ === 0) process.once('exit', () => process.stderr.write(`provenance-guard timing: fetch checks ${spent.toFixed(1)} ms in ${calls} calls\n`));
  }
}

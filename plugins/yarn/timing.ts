/**
 * PROVENANCE_GUARD_TIMING=1: the plugin's own time in Yarn's fetch step (its synchronous work
 * around each fetch), summed over every fetch by what it was and printed once when Yarn exits:
 * the expected sha512 of a package (first fetch), whether this archive was checked before in
 * this process, and whether this machine recorded it as verified. Yarn's own work (its cache, the
 * zip) and a download are not counted. The gate's time is printed by gate.ts.
 */
const enabled = process.env.PROVENANCE_GUARD_TIMING === '1';
type Part = 'expectations' | 'memo' | 'records';
const spent: Record<Part, bigint> = { expectations: 0n, memo: 0n, records: 0n };
let spans = 0;

const ms = (ns: bigint) => (Number(ns) / 1e6).toFixed(1);

function report(): void {
  const total = spent.expectations + spent.memo + spent.records;
  const parts = (Object.keys(spent) as Part[]).map((part) => `${part} ${ms(spent[part])}`).join(', ');
  process.stderr.write(`provenance-guard timing: fetch checks ${ms(total)} ms in ${spans} spans (${parts})\n`);
}

/** Starts a span of the plugin's own fetch-step work (hrtime: performance.now() costs ~1.7 µs a call in a cold process). */
export function fetchCheckStart(): bigint {
  return enabled ? process.hrtime.bigint() : 0n;
}

export function fetchCheckEnd(started: bigint, part: Part): void {
  if (!enabled) return;
  spent[part] += process.hrtime.bigint() - started;
  if (spans++ === 0) process.once('exit', report);
}

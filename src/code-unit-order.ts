/**
 * The one string order of this project's outputs: UTF-16 code units, the same on every machine
 * (localeCompare follows the user's locale, and its collator costs ~13 ms for 2,000 names in a
 * cold process). Feed records within a bucket and packages within a report's verdict use it.
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import type { Report } from '../types';

/** Exactly SPEC's JSON document: `{ summary, packages: [{ name, version, verdict, findings }] }`. */
export function formatJson(report: Report): string {
  return JSON.stringify(report, null, 2) + '\n';
}

import type { Report } from '../types';

/**
 * Exactly SPEC's JSON document: `{ summary, packages: [{ name, version, verdict, findings }] }`.
 * (The alias and dependency path a report may carry are for the human output.)
 */
export function formatJson(report: Report): string {
  const packages = report.packages.map(({ name, version, verdict, findings }) => ({ name, version, verdict, findings }));
  return JSON.stringify({ summary: report.summary, packages }, null, 2) + '\n';
}

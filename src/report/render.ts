/**
 * A check report as the CLI and `yarn provenance check` print it: the governing config line
 * (first line of human output, stderr otherwise), then the report in the chosen format.
 */
import type { Config } from '../config/types';
import type { Report } from '../types';
import { configLine } from './config-line';
import { formatHuman } from './human';
import { formatJson } from './json';
import { formatSarif } from './sarif';

export type ReportFormat = 'human' | 'json' | 'sarif';

export interface RenderOptions {
  format: ReportFormat;
  config: Config;
  /** The lockfile the SARIF results point at. */
  lockfile: string;
  color: boolean;
  verbose?: boolean;
}

export function renderReport(report: Report, options: RenderOptions, out: { write(text: string): unknown }, err: { write(text: string): unknown }): void {
  (options.format === 'human' ? out : err).write(`${configLine(options.config)}\n`);
  if (options.format === 'json') out.write(formatJson(report));
  else if (options.format === 'sarif') out.write(formatSarif(report, { lockfile: options.lockfile }));
  else out.write(formatHuman(report, { color: options.color, ...(options.verbose ? { verbose: true } : {}) }));
}

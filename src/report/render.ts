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

type Writer = { write(text: string | Uint8Array): unknown };

/** The governing config line: the first line of human output, on stderr for JSON and SARIF. */
export function writeConfigLine(format: ReportFormat, config: Config, out: Writer, err: Writer): void {
  (format === 'human' ? out : err).write(`${configLine(config)}\n`);
}

export function renderReport(report: Report, options: RenderOptions, out: Writer, err: Writer): void {
  writeConfigLine(options.format, options.config, out, err);
  if (options.format === 'json') out.write(formatJson(report));
  else if (options.format === 'sarif') out.write(formatSarif(report, { lockfile: options.lockfile }));
  else out.write(formatHuman(report, { color: options.color, ...(options.verbose ? { verbose: true } : {}) }));
}

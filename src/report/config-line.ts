/** The line every run prints first: which config file governs it (or that none does). */
import type { Config } from '../config/types';
import { escapeControl } from './escape';

export function configLine(config: Pick<Config, 'filepath' | 'mode'>): string {
  const where = config.filepath ? `config ${escapeControl(config.filepath)}` : 'no config file found in the project (defaults apply)';
  return `provenance-guard: ${where}, mode ${config.mode}`;
}

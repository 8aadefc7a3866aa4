/**
 * The colours reports use. With colour on they are picocolors' own; off, identity functions, so
 * a run without colour never loads picocolors: loading it reads `process.stdout` to decide its
 * default, and that builds Node's stream for the descriptor (for a pipe: net and its stream stack,
 * ~5 ms of a repeat `check` that is otherwise answered in ~30 ms; docs/performance-history.md).
 */
import { createColors } from 'picocolors';

type Paint = (text: string) => string;

export type Colors = Record<'bold' | 'dim' | 'red' | 'yellow' | 'green' | 'cyan', Paint>;

const plain: Paint = (text) => text;

const NO_COLORS: Colors = { bold: plain, dim: plain, red: plain, yellow: plain, green: plain, cyan: plain };

export function colors(enabled: boolean): Colors {
  return enabled ? createColors(true) : NO_COLORS;
}

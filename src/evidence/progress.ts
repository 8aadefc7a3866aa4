/**
 * A progress bar for long evidence runs: redrawn in place on a TTY (stderr), silent
 * otherwise so logs and pipes stay clean.
 */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): boolean;
}

export function renderProgress(done: number, total: number, width = 30, label = 'evidence'): string {
  const ratio = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

/** An `onProgress` callback drawing on `stream` when it is a TTY; undefined otherwise. */
export function createProgressBar(stream: ProgressStream, minIntervalMs = 100, label = 'evidence'): ((done: number, total: number) => void) | undefined {
  if (!stream.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    const finished = done >= total;
    if (!finished && now - last < minIntervalMs) return;
    last = now;
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 30));
    stream.write(`\r${renderProgress(done, total, width, label)}${finished ? '\n' : ''}`);
  };
}

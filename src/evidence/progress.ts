/**
 * Progress of long evidence runs: a bar redrawn in place on a TTY (stderr); elsewhere (CI logs,
 * pipes) a plain line now and then, so minutes of gathering never look like a hang.
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

/** An `onProgress` callback: a bar on a TTY, plain lines (see progressLines) otherwise. */
export function createProgressBar(stream: ProgressStream, minIntervalMs = 100, label = 'evidence'): (done: number, total: number) => void {
  if (!stream.isTTY) return progressLines(stream, 5_000, Date.now, label);
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

/** One line at the start, at each further tenth done or after `everyMs` without one, and at the end. */
export function progressLines(stream: ProgressStream, everyMs = 5_000, clock: () => number = Date.now, label = 'evidence'): (done: number, total: number) => void {
  let lastTenth = -1;
  let lastAt = 0;
  return (done, total) => {
    const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
    const now = clock();
    if (tenth === lastTenth && now - lastAt < everyMs) return;
    if (tenth === lastTenth && done >= total) return;
    lastTenth = tenth;
    lastAt = now;
    stream.write(`provenance-guard: ${label} ${done}/${total} packages${done >= total ? ' — done' : ''}\n`);
  };
}

/**
 * The CLI's standard output and error, written to the descriptor with `fs.writeSync`.
 *
 * Node's `process.stdout`/`stderr` build a stream the first time they are read: for a pipe (CI
 * logs, `| jq`, every test and the bench) that loads net and its stream stack, ~5 ms of a repeat
 * `check` answered in ~30 ms. A write here is done when it returns, so nothing is left to flush
 * and the executable can end at once (context.ts, exitAtOnce).
 *
 * A descriptor someone left non-blocking can refuse a write (EAGAIN): from then on the rest goes
 * through Node's stream for it, in order, which waits for the reader. A reader that went away
 * (EPIPE) ends the output silently; any other failure is reported once through `onError`.
 */
import { fstatSync, writeSync } from 'node:fs';

export interface Output {
  write(chunk: string | Uint8Array): boolean;
  readonly isTTY?: boolean;
  /** The terminal's width, when it is one. */
  readonly columns?: number;
}

/** Node's stream for a descriptor, as used after EAGAIN. */
export interface FallbackStream {
  write(chunk: string | Uint8Array): boolean;
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
}

export interface FdOutputOptions {
  /** Called once, on the first failure that is neither EPIPE nor EAGAIN. */
  onError?: (error: NodeJS.ErrnoException) => void;
  /** Node's stream for the descriptor (default: process.stdout or process.stderr), used after EAGAIN. */
  stream?: () => FallbackStream;
  /** Tests pass their own. */
  writeSync?: (fd: number, buffer: Uint8Array, offset: number) => number;
  isatty?: (fd: number) => boolean;
}

function isTerminal(fd: number): boolean {
  // A terminal is a character device; a pipe or a file is not, and is decided without loading
  // node:tty (which loads net).
  if (!fstatSync(fd).isCharacterDevice()) return false;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:tty') as typeof import('node:tty')).isatty(fd);
}

export class FdOutput implements Output {
  private tty: boolean | undefined;
  private through: FallbackStream | undefined;
  private ended = false;

  constructor(readonly fd: number, private readonly options: FdOutputOptions = {}) {}

  get isTTY(): boolean {
    if (this.tty === undefined) {
      try {
        this.tty = (this.options.isatty ?? isTerminal)(this.fd);
      } catch {
        this.tty = false;
      }
    }
    return this.tty;
  }

  get columns(): number | undefined {
    return this.isTTY ? (this.fd === 2 ? process.stderr : process.stdout).columns : undefined;
  }

  /** Whether something written may still be waiting in Node's stream (the process must not end before it drains). */
  get pending(): boolean {
    return this.through !== undefined;
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.ended) return true;
    if (this.through) return this.through.write(chunk);
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const write = this.options.writeSync ?? ((fd: number, buffer: Uint8Array, offset: number) => writeSync(fd, buffer, offset));
    let done = 0;
    while (done < bytes.length) {
      try {
        done += write(this.fd, bytes, done);
      } catch (error) {
        return this.failed(error as NodeJS.ErrnoException, bytes.subarray(done));
      }
    }
    return true;
  }

  private failed(error: NodeJS.ErrnoException, rest: Uint8Array): boolean {
    if (error.code === 'EAGAIN') {
      const stream: FallbackStream = this.options.stream?.() ?? (this.fd === 2 ? process.stderr : process.stdout);
      stream.on('error', (streamError: NodeJS.ErrnoException) => this.end(streamError));
      this.through = stream;
      return stream.write(rest);
    }
    return this.end(error);
  }

  private end(error: NodeJS.ErrnoException): boolean {
    if (this.ended) return true;
    this.ended = true;
    if (error.code !== 'EPIPE') this.options.onError?.(error);
    return true;
  }
}

/**
 * The CLI's standard output and error (src/cli/output.ts): written to the descriptor, every byte
 * even when the system takes them in parts; after EAGAIN the rest goes through Node's stream, in
 * order; a reader that went away ends the output silently; any other failure is reported once.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FdOutput, type FallbackStream } from '../src/cli/output';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-output-');

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed, write`), { code });

/** A writeSync that takes at most `max` bytes a call, and fails with `fail` on the given calls. */
function sink(max: number, fail: Record<number, string> = {}) {
  const taken: number[] = [];
  let calls = 0;
  const writeSync = (_fd: number, buffer: Uint8Array, offset: number): number => {
    const code = fail[calls++];
    if (code) throw errno(code);
    const part = buffer.subarray(offset, offset + max);
    taken.push(...part);
    return part.length;
  };
  return { writeSync, text: () => Buffer.from(taken).toString('utf8'), calls: () => calls };
}

function stream() {
  const chunks: string[] = [];
  let onError: ((error: NodeJS.ErrnoException) => void) | undefined;
  const s: FallbackStream = {
    write: (chunk) => (chunks.push(Buffer.from(chunk).toString('utf8')), true),
    on: (_event, listener) => (onError = listener),
  };
  return { s, text: () => chunks.join(''), fail: (e: NodeJS.ErrnoException) => onError?.(e) };
}

describe('FdOutput', () => {
  test('writes every byte when the system takes them in parts', () => {
    const out = sink(3);
    const output = new FdOutput(1, { writeSync: out.writeSync });
    expect(output.write('héllo, wörld\n')).toBe(true);
    output.write(Buffer.from('bytes too'));
    expect(out.text()).toBe('héllo, wörld\nbytes too');
    expect(output.pending).toBe(false);
  });

  test('after EAGAIN the rest, and every later write, goes through the stream in order', () => {
    const out = sink(4, { 1: 'EAGAIN' });
    const through = stream();
    const output = new FdOutput(1, { writeSync: out.writeSync, stream: () => through.s });
    output.write('abcdefgh');
    output.write('ij');
    expect(out.text()).toBe('abcd');
    expect(through.text()).toBe('efghij');
    expect(out.calls()).toBe(2);
    expect(output.pending).toBe(true);
  });

  test('a reader that went away ends the output silently', () => {
    const errors: unknown[] = [];
    const out = sink(2, { 1: 'EPIPE' });
    const output = new FdOutput(1, { writeSync: out.writeSync, onError: (e) => errors.push(e) });
    expect(output.write('abcdef')).toBe(true);
    output.write('more');
    expect(out.text()).toBe('ab');
    expect(out.calls()).toBe(2);
    expect(errors).toEqual([]);
  });

  test('any other failure is reported once, and nothing more is written', () => {
    const errors: NodeJS.ErrnoException[] = [];
    const out = sink(100, { 0: 'ENOSPC' });
    const output = new FdOutput(1, { writeSync: out.writeSync, onError: (e) => errors.push(e) });
    output.write('abc');
    output.write('def');
    expect(errors.map((e) => e.code)).toEqual(['ENOSPC']);
    expect(out.calls()).toBe(1);
  });

  test("the stream's own failure after EAGAIN is reported as one, EPIPE silently", () => {
    for (const [code, reported] of [['EIO', ['EIO']], ['EPIPE', []]] as const) {
      const errors: string[] = [];
      const through = stream();
      const output = new FdOutput(1, { writeSync: sink(1, { 0: 'EAGAIN' }).writeSync, stream: () => through.s, onError: (e) => errors.push(e.code!) });
      output.write('x');
      through.fail(errno(code));
      through.fail(errno(code));
      output.write('y');
      expect(errors).toEqual(reported);
      expect(through.text()).toBe('x');
    }
  });

  test('a file or a pipe is not a terminal; the answer is asked once', () => {
    const file = join(tempDir(), 'out.txt');
    const fd = openSync(file, 'w');
    try {
      const output = new FdOutput(fd);
      expect(output.isTTY).toBe(false);
      expect(output.columns).toBeUndefined();
      output.write('to the file\n');
      expect(readFileSync(file, 'utf8')).toBe('to the file\n');
    } finally {
      closeSync(fd);
    }
    let asked = 0;
    const terminal = new FdOutput(1, { isatty: () => (asked++, true) });
    expect([terminal.isTTY, terminal.isTTY, asked]).toEqual([true, true, 1]);
  });
});

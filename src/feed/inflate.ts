/**
 * Raw DEFLATE with a preset dictionary, for bucket reads: as fast in a cold process as after warm-up.
 *
 * zlib.inflateRawSync builds a Transform stream for every call. In a fresh process that JavaScript
 * runs interpreted: measured on Node 20, ~80-100 µs a call for the first ~1,000 calls (a 2.4 kB
 * bucket inflates in ~10 µs), so the 2,000 lookups of a first `check` spent ~200 ms there, the
 * largest part of it. Node's zlib binding — the handle zlib.js itself drives, also used directly
 * by ssh2 — does the same work without the stream: one handle, reset between buckets (a reset
 * applies the dictionary again), one output buffer. It is used when this runtime has it with the
 * shape Node has had since v10 and it decodes a known stream correctly; anything unexpected (no
 * binding, Bun, an error, an output larger than the buffer) falls back to inflateRawSync, whose
 * result and errors are the reference.
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { onBun } from '../runtime';

export interface ZlibHandle {
  init(windowBits: number, level: number, memLevel: number, strategy: number, writeState: Uint32Array, processCallback: () => void, dictionary: Buffer): unknown;
  reset(): void;
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  onerror?: (message: string, errno: number) => void;
}

export interface ZlibBinding {
  Zlib?: new (mode: number) => ZlibHandle;
}

/** Output room of the reused handle; a bucket decodes to ~7.5 kB, anything larger takes the fallback. */
const OUT_BYTES = 256 * 1024;

interface Native {
  handle: ZlibHandle;
  /** [avail_out, avail_in] after a write, as the binding reports them. */
  state: Uint32Array;
  out: Buffer;
  failed: boolean;
}

export interface Inflater {
  /** Whether buckets go through the binding (else every call is inflateRawSync). */
  readonly native: boolean;
  /** The stream's bytes; may be a view the next call overwrites (see inflateWithDictionary). */
  inflate(stored: Buffer, maxOutputLength: number): Buffer;
}

/** Under --pending-deprecation Node warns about process.binding (DEP0111): then the reference path is used. */
export function deprecationPending(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): boolean {
  const flag = /(^|\s)--pending-deprecation(\s|$)/;
  return env.NODE_PENDING_DEPRECATION === '1' || execArgv.some((arg) => flag.test(arg)) || flag.test(env.NODE_OPTIONS ?? '');
}

/**
 * Node majors whose zlib binding has the shape used here (init with 7 arguments, writeSync with 7):
 * 20 is tested in CI; 22 and 24 drive their own zlib.js with the same calls. On any other runtime
 * the reference path is used: the binding CHECKs its arguments and aborts the process on a
 * mismatch, and a handle never initialised aborts it when collected.
 */
const KNOWN_NODE_MAJORS: readonly number[] = [20, 22, 24];

export function knownNode(runtime = process.release?.name, version = process.versions.node, bun = onBun()): boolean {
  return !bun && runtime === 'node' && KNOWN_NODE_MAJORS.includes(Number(version.split('.')[0]));
}

function processZlibBinding(): ZlibBinding | null {
  if (deprecationPending() || !knownNode()) return null;
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  return typeof binding === 'function' ? (binding.call(process, 'zlib') as ZlibBinding) : null;
}

function open(dictionary: Buffer, binding: ZlibBinding | null): Native | null {
  try {
    const Zlib = binding?.Zlib;
    if (typeof Zlib !== 'function') return null;
    const handle = new Zlib(constants.INFLATERAW);
    const native: Native = { handle, state: new Uint32Array(2), out: Buffer.allocUnsafe(OUT_BYTES), failed: false };
    handle.onerror = () => {
      native.failed = true;
    };
    const ok = handle.init(15, constants.Z_DEFAULT_COMPRESSION, 8, constants.Z_DEFAULT_STRATEGY, native.state, () => {}, dictionary);
    if (ok === false || native.failed) return null;
    // A known stream must come back exactly, or this runtime's binding is not the one described above.
    const probe = Buffer.from(`{"probe":${JSON.stringify(dictionary.subarray(0, 64).toString('latin1'))}}\n`.repeat(3));
    return run(native, deflateRawSync(probe, { dictionary }))?.equals(probe) ? native : null;
  } catch {
    return null;
  }
}

function run(native: Native, stored: Buffer): Buffer | undefined {
  native.failed = false;
  native.handle.reset();
  native.handle.writeSync(constants.Z_FINISH, stored, 0, stored.length, native.out, 0, native.out.length);
  // Input left after the end of the stream is ignored, as inflateRawSync ignores it.
  const availOut = native.state[0]!;
  if (native.failed || availOut === 0) return undefined;
  // A view of the reused output buffer: copying each 7.5 kB bucket into fresh memory cost more
  // than inflating it (see inflateWithDictionary's contract).
  return native.out.subarray(0, native.out.length - availOut);
}

/** An inflater for streams made with `dictionary`; `binding` is Node's zlib binding, null for none (tests pass others). */
export function createInflater(dictionary: Buffer, binding: ZlibBinding | null = processZlibBinding()): Inflater {
  const native = open(dictionary, binding);
  return {
    native: native !== null,
    inflate(stored, maxOutputLength) {
      if (native) {
        try {
          const decoded = run(native, stored);
          if (decoded && decoded.length <= maxOutputLength) return decoded;
        } catch {
          // the reference below decides
        }
      }
      return inflateRawSync(stored, { dictionary, maxOutputLength });
    },
  };
}

const inflaters = new Map<Buffer, Inflater>();

/**
 * The bytes of a raw DEFLATE stream made with `dictionary`; throws as inflateRawSync does on bytes
 * that do not decode. The result may be a view of a buffer the next call overwrites: read it at
 * once and keep only what is copied out of it (a string, a parsed record).
 */
export function inflateWithDictionary(stored: Buffer, dictionary: Buffer, maxOutputLength: number): Buffer {
  let inflater = inflaters.get(dictionary);
  if (!inflater) inflaters.set(dictionary, (inflater = createInflater(dictionary)));
  return inflater.inflate(stored, maxOutputLength);
}

/**
 * src/feed/inflate.ts: bucket reads through Node's zlib handle, reset between buckets, must give
 * exactly what zlib.inflateRawSync gives (bytes, and errors) for every input, and must really be
 * in use on Node (else every cold lookup pays ~80 µs of stream construction again).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { bucketDictionary, decodeBucket, encodeBucket } from '../src/feed/format';
import { createInflater, deprecationPending, inflateWithDictionary, knownNode, type ZlibBinding, type ZlibHandle } from '../src/feed/inflate';
import { cliProject, SHA } from './helpers/cli-project';

const dictionary = bucketDictionary();
const reference = (stored: Buffer, max = 16 * 1024 * 1024) => inflateRawSync(stored, { dictionary, maxOutputLength: max });

/** The decoded text, or the error code: what a caller can tell apart. */
function outcome(decode: () => Buffer): { text: string } | { code: string | undefined } {
  try {
    return { text: decode().toString('latin1') };
  } catch (error) {
    return { code: (error as NodeJS.ErrnoException).code };
  }
}

function records(n: number, seed: number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ name: `@scope-${seed}/pkg-${i}`, version: `1.${i}.${seed}`, integrity: `sha512-${randomBytes(64).toString('base64')}`, repository: { url: `https://github.com/o/r${i}`, commit: randomBytes(20).toString('hex'), status: 'claimed' } })).join('\n') + '\n';
}

describe('inflateWithDictionary', () => {
  test('Node\'s zlib handle is in use here', () => {
    expect(createInflater(dictionary).native).toBe(true);
  });

  test('the same bytes as inflateRawSync, bucket after bucket on one handle, small and large', () => {
    const texts = [records(1, 1), records(16, 2), records(3, 3), '', 'x', records(40, 4), records(16, 5)];
    // Larger than the handle's output room: the reference path answers.
    texts.push(records(2000, 6));
    for (const text of texts) {
      const stored = encodeBucket(3, text);
      expect(decodeBucket(3, stored).toString()).toBe(text);
      expect(inflateWithDictionary(stored, dictionary, 16 * 1024 * 1024).equals(reference(stored))).toBe(true);
    }
  });

  test('bytes that do not decode fail as inflateRawSync fails, and the next bucket still decodes', () => {
    const good = encodeBucket(3, records(16, 7));
    const truncated = good.subarray(0, good.length - 3);
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    for (const bad of [truncated, flipped, Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x00])]) {
      expect(outcome(() => inflateWithDictionary(bad, dictionary, 16 * 1024 * 1024))).toEqual(outcome(() => reference(bad)));
      expect(decodeBucket(3, good).equals(reference(good))).toBe(true);
    }
    expect(outcome(() => reference(truncated))).toEqual({ code: 'Z_BUF_ERROR' });
    // Input after the end of the stream is ignored, as by inflateRawSync.
    const trailing = Buffer.concat([good, Buffer.from('trailing')]);
    expect(inflateWithDictionary(trailing, dictionary, 16 * 1024 * 1024).equals(reference(trailing))).toBe(true);
  });

  test('buckets come out of the one handle: views of its output buffer, the next call overwrites', () => {
    const a = encodeBucket(3, records(16, 10));
    const b = encodeBucket(3, records(16, 11));
    const first = inflateWithDictionary(a, dictionary, 1 << 24);
    const copy = Buffer.from(first);
    const second = inflateWithDictionary(b, dictionary, 1 << 24);
    expect(second.buffer).toBe(first.buffer);
    expect(second.equals(reference(b))).toBe(true);
    expect(copy.equals(reference(a))).toBe(true);
    // At exactly the limit the handle's output is still used.
    const exact = createInflater(dictionary);
    const size = reference(a).length;
    expect(exact.inflate(a, size).buffer).toBe(exact.inflate(b, 1 << 24).buffer);
  });

  test('an output above the limit is refused as inflateRawSync refuses it', () => {
    const stored = encodeBucket(3, records(16, 8));
    const size = reference(stored).length;
    expect(inflateWithDictionary(stored, dictionary, size).length).toBe(size);
    expect(outcome(() => inflateWithDictionary(stored, dictionary, size - 1))).toEqual(outcome(() => reference(stored, size - 1)));
    expect(outcome(() => reference(stored, size - 1))).toHaveProperty('code');
  });

  test('a stream made with another dictionary gets its own handle', () => {
    const other = Buffer.from('{"other":"dictionary"}');
    const stored = deflateRawSync(Buffer.from('{"other":"dictionary","x":1}\n'), { dictionary: other });
    expect(inflateWithDictionary(stored, other, 1024).toString()).toBe('{"other":"dictionary","x":1}\n');
    expect(inflateWithDictionary(encodeBucket(3, 'x\n'), dictionary, 1024).toString()).toBe('x\n');
    expect(createInflater(other).native).toBe(true);
  });

  test('under --pending-deprecation (process.binding would warn, DEP0111) the reference path is used: no warning', async () => {
    const record = { name: 'a', version: '1.0.0', integrity: SHA(1), repository: { url: 'https://github.com/acme/a', commit: 'a'.repeat(40), status: 'attested' }, rebuild: { verdict: 'reproducible', source: 'oss-rebuild' }, scorecard: { score: 8, date: '2026-11-01', checks: {} } };
    const project = await cliProject([record], [{ name: 'a', version: '1.0.0', integrity: SHA(1) }]);
    try {
      for (const env of [{ NODE_OPTIONS: '--pending-deprecation --throw-deprecation' }, { NODE_PENDING_DEPRECATION: '1' }]) {
        const r = spawnSync(process.execPath, [join(__dirname, '..', 'dist', 'cli.cjs'), 'check', '--format', 'json'], {
          cwd: project.dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: project.dir, PROVENANCE_GUARD_CACHE_DIR: join(project.dir, '.cache'), PROVENANCE_GUARD_STATE_DIR: join(project.dir, '.cache', 'state'), ...env },
        });
        expect(r.stderr).not.toMatch(/DEP0111|DeprecationWarning/);
        expect(r.status, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout).summary.pass).toBe(1);
      }
    } finally {
      project.cleanup();
    }
  });
});

/** Node's binding, with one method replaced: what another runtime's binding might do. */
function bindingWith(change: (handle: ZlibHandle) => Partial<ZlibHandle>): ZlibBinding {
  const real = (process as unknown as { binding(name: string): Required<ZlibBinding> }).binding('zlib');
  return {
    Zlib: class {
      constructor(mode: number) {
        const handle = new real.Zlib(mode);
        // The real methods, bound before any is replaced.
        const original: ZlibHandle = {
          init: handle.init.bind(handle),
          reset: handle.reset.bind(handle),
          writeSync: handle.writeSync.bind(handle),
          get onerror() {
            return handle.onerror;
          },
        };
        return Object.assign(handle, change(original));
      }
    } as unknown as new (mode: number) => ZlibHandle,
  };
}

describe('createInflater: a binding that is not the one expected is not used', () => {
  const stored = encodeBucket(3, records(16, 9));
  const expected = reference(stored);

  test('no binding, no Zlib class, a constructor that throws: the reference path', () => {
    for (const binding of [null, {}, { Zlib: class { constructor() { throw new Error('no'); } } as unknown as ZlibBinding['Zlib'] }]) {
      const inflater = createInflater(dictionary, binding);
      expect(inflater.native).toBe(false);
      expect(inflater.inflate(stored, 1 << 24).equals(expected)).toBe(true);
    }
  });

  test('init that fails, reports an error, or a probe that does not come back exactly: not used', () => {
    const failing = [
      // (Always initialise the real handle: one never initialised aborts the process when collected.)
      bindingWith((h) => ({ init: (...args: Parameters<ZlibHandle['init']>) => (h.init(...args), false) })),
      bindingWith((h) => ({ init: (...args: Parameters<ZlibHandle['init']>) => (h.init(...args), h.onerror?.('failed', -2), true) })),
      bindingWith((h) => ({ writeSync: (...args: Parameters<ZlibHandle['writeSync']>) => { h.writeSync(...args); args[4][0] ^= 1; } })),
      bindingWith((h) => ({ writeSync: (...args: Parameters<ZlibHandle['writeSync']>) => { h.writeSync(...args); h.onerror?.('failed', -3); } })),
    ];
    for (const binding of failing) {
      const inflater = createInflater(dictionary, binding);
      expect(inflater.native).toBe(false);
      expect(inflater.inflate(stored, 1 << 24).equals(expected)).toBe(true);
    }
  });

  test('a handle that fails on one bucket: that bucket goes to the reference, the next uses the handle', () => {
    let calls = 0;
    let failNext = false;
    const inflater = createInflater(dictionary, bindingWith((h) => ({
      writeSync: (...args: Parameters<ZlibHandle['writeSync']>) => {
        calls++;
        if (failNext) throw new Error('binding failure');
        h.writeSync(...args);
      },
    })));
    expect(inflater.native).toBe(true);
    const before = calls;
    failNext = true;
    expect(inflater.inflate(stored, 1 << 24).equals(expected)).toBe(true);
    failNext = false;
    expect(inflater.inflate(stored, 1 << 24).equals(expected)).toBe(true);
    expect(calls).toBe(before + 2);
  });
});

describe('knownNode', () => {
  test('the binding is used on Node 20, 22 and 24 only (elsewhere its shape is not known)', () => {
    expect(knownNode()).toBe(true);
    for (const version of ['20.19.0', '22.11.0', '24.1.0']) expect(knownNode('node', version)).toBe(true);
    for (const version of ['18.20.0', '21.0.0', '23.1.0', '26.0.0', '2.0.0']) expect(knownNode('node', version)).toBe(false);
    expect(knownNode('bun', '20.19.0')).toBe(false);
    // Bun says it is Node (release name 'node', a Node version): it is not, and has no Node binding.
    expect(knownNode('node', '24.1.0', true)).toBe(false);
    expect(knownNode('', '20.19.0')).toBe(false);
  });
});

describe('deprecationPending', () => {
  test('this process under NODE_PENDING_DEPRECATION=1: the binding is not touched', () => {
    const saved = process.env.NODE_PENDING_DEPRECATION;
    process.env.NODE_PENDING_DEPRECATION = '1';
    try {
      expect(createInflater(dictionary).native).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.NODE_PENDING_DEPRECATION;
      else process.env.NODE_PENDING_DEPRECATION = saved;
    }
    expect(createInflater(dictionary).native).toBe(true);
  });

  test('--pending-deprecation in the arguments or NODE_OPTIONS, or NODE_PENDING_DEPRECATION=1', () => {
    expect(deprecationPending({}, [])).toBe(false);
    expect(deprecationPending({}, ['--pending-deprecation'])).toBe(true);
    expect(deprecationPending({}, ['--pending-deprecation-other'])).toBe(false);
    expect(deprecationPending({ NODE_OPTIONS: '--max-old-space-size=100 --pending-deprecation' }, [])).toBe(true);
    expect(deprecationPending({ NODE_OPTIONS: '--pending-deprecation' }, [])).toBe(true);
    expect(deprecationPending({ NODE_OPTIONS: '--no-pending-deprecation' }, [])).toBe(false);
    expect(deprecationPending({ NODE_PENDING_DEPRECATION: '1' }, [])).toBe(true);
    expect(deprecationPending({ NODE_PENDING_DEPRECATION: '0' }, [])).toBe(false);
  });
});

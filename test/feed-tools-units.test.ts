/**
 * The feed maintainer's tools beyond test/feed-units.test.ts (merge, shard, key-ignore, update),
 * against the mutants Stryker left alive (docs/mutation.md, run C): what an error names for the
 * user, and .gitignore edits outside a work tree and after a last line without its newline.
 * In-process, temp dirs only.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeedError, RecordsError, UsageError } from '../src/errors';
import { ignorePrivateKey } from '../src/feed/key-ignore';
import { keyId, parsePublicKey, readPrivateKey } from '../src/feed/keys';
import { recordSerial } from '../src/feed/state';
import { mergeFeed } from '../src/feed/merge';
import { readPreamble } from '../src/feed/preamble';
import { parseShard } from '../src/feed/shard';
import { feedRecords, openBase, updateFeed } from '../src/feed/update';
import { rejected, thrown } from './helpers/errors';
import { buildTestFeed, makeKeys, sampleRecords, writeNdjson } from './helpers/feed-fixtures';
import { tempDirs } from './helpers/temp';

const temp = tempDirs('pg-feed-tools-units-');

describe('feed merge names what is wrong', () => {
  it('names the command when no file is given, and the file missing or given twice', async () => {
    const dir = temp();
    const first = writeNdjson(join(dir, 'a.ndjson'), sampleRecords(2));
    const out = join(dir, 'out.feed');
    expect((await rejected(RecordsError, mergeFeed({ recordFiles: [], out }))).message).toContain('feed merge');
    const missing = join(dir, 'missing.ndjson');
    expect((await rejected(RecordsError, mergeFeed({ recordFiles: [first, missing], out }))).message).toContain(missing);
    const twice = await rejected(RecordsError, mergeFeed({ recordFiles: [first, first], out }));
    expect(twice.message).toContain(first);
    expect(twice.message).toContain('twice');
  });
});

describe('--shard names the value it refuses', () => {
  it('quotes what was given and the bounds', () => {
    for (const bad of ['0/3', '4/3', '1/10001', 'two/3']) {
      const error = thrown(UsageError, () => parseShard(bad));
      expect(error.message, bad).toContain(`"${bad}"`);
      expect(error.message, bad).toContain('10000');
    }
  });
});

describe('feed keygen outside or inside a git work tree (key-ignore)', () => {
  it('touches nothing outside a work tree', () => {
    const dir = join(temp(), 'keys');
    expect(ignorePrivateKey(dir)).toBeUndefined();
    expect(existsSync(dir)).toBe(false);
  });

  it('puts the entry on its own line after a last line without a newline', () => {
    const root = temp();
    mkdirSync(join(root, '.git'));
    writeFileSync(join(root, '.gitignore'), 'node_modules');
    ignorePrivateKey(root);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toMatch(/^node_modules\n# [^\n]*\n\/feed\.key\n$/);
  });

  it('leaves a .gitignore alone whose feed.key line is padded', () => {
    const root = temp();
    mkdirSync(join(root, '.git'));
    for (const text of ['\tfeed.key \n', 'a\n feed.key\n']) {
      writeFileSync(join(root, '.gitignore'), text);
      ignorePrivateKey(root);
      expect(readFileSync(join(root, '.gitignore'), 'utf8'), JSON.stringify(text)).toBe(text);
    }
  });
});

describe('feed update checks its base against this machine', () => {
  it('refuses a base older than the serial the given cache accepted for its key (ERR_PG_FEED_ROLLBACK)', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const basePath = await buildTestFeed(keys, sampleRecords(3), join(temp(), 'base.feed'), { serial: 9 });
    const cache = temp();
    recordSerial(cache, keyId(parsePublicKey(keys.publicKey)), 20, 'a'.repeat(64), new Date());
    expect(thrown(FeedError, () => openBase(basePath, [keys.publicKey], cache)).code).toBe('ERR_PG_FEED_ROLLBACK');
    openBase(basePath, [keys.publicKey], temp()).dispose();
  });
});

describe('feed update names what is wrong', () => {
  it('names the feed with a malformed index entry, and the serial it cannot raise', async () => {
    const keys = makeKeys(temp('pg-keys-'));
    const flat = await buildTestFeed(keys, sampleRecords(20), join(temp(), 'flat.feed'), { schema: 2 });
    const { bodyStart } = readPreamble(flat);
    const data = readFileSync(flat);
    data.fill(0x7a, bodyStart, bodyStart + 8);
    writeFileSync(flat, data);
    const corrupt = await rejected(FeedError, (async () => {
      for await (const _ of feedRecords(flat)) void _;
    })());
    expect(corrupt.code).toBe('ERR_PG_FEED_CORRUPT');
    expect(corrupt.message).toContain(flat);

    const dir = temp();
    const base = openBase(await buildTestFeed(keys, sampleRecords(3), join(dir, 'base.feed'), { serial: Number.MAX_SAFE_INTEGER }), [keys.publicKey], temp());
    try {
      const error = await rejected(FeedError, updateFeed({ base, added: [], privateKey: readPrivateKey(keys.privateKeyPath), out: join(dir, 'out.feed') }));
      expect(error.message).toContain(String(Number.MAX_SAFE_INTEGER));
    } finally {
      base.dispose();
    }
  });
});

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FeedError } from '../src/errors';
import { keyId, parsePublicKey } from '../src/feed/keys';
import { openFeed } from '../src/feed/reader';
import { buildTestFeed, makeKeys, sampleRecords, tempDir } from './helpers/feed-fixtures';

const ENTRY = `
import { openFeed } from ${JSON.stringify(resolve(__dirname, '../src/feed/reader'))};
const [path, publicKey, cacheDir, rounds] = process.argv.slice(2);
const out = { ok: 0, rollback: 0, other: [] as string[] };
for (let i = 0; i < Number(rounds); i++) {
  try {
    const feed = openFeed(path!, { publicKeys: [publicKey!], stateDir: cacheDir });
    if (!feed.lookup('pkg-1', '1.1.1')) out.other.push('lookup failed');
    feed.close();
    out.ok++;
  } catch (error) {
    if (/rollback refused/.test((error as Error).message)) out.rollback++;
    else out.other.push(String((error as Error).message));
  }
}
process.stdout.write(JSON.stringify(out));
`;

function run(script: string, args: string[]): Promise<{ ok: number; rollback: number; other: string[] }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => (code === 0 ? resolvePromise(JSON.parse(stdout)) : reject(new Error(`exit ${code}: ${stderr}`))));
  });
}

describe('feed state shared by processes', () => {
  it('never loses the highest accepted serial and never shows a half-written state', async () => {
    const dir = tempDir();
    const script = join(dir, 'open.cjs');
    buildSync({ stdin: { contents: ENTRY, resolveDir: dir, loader: 'ts' }, outfile: script, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
    const keys = makeKeys();
    const cache = tempDir();
    const feeds: string[] = [];
    for (let serial = 1; serial <= 6; serial++) feeds.push(await buildTestFeed(keys, sampleRecords(20), join(dir, `${serial}.feed`), { serial }));
    const results = await Promise.all(feeds.map((feed) => run(script, [feed, keys.publicKey, cache, '25'])));
    for (const r of results) expect(r.other).toEqual([]);
    expect(results[5]).toEqual({ ok: 25, rollback: 0, other: [] });
    const state = JSON.parse(readFileSync(join(cache, 'feed-state.json'), 'utf8'));
    expect(state.serials[keyId(parsePublicKey(keys.publicKey))].serial).toBe(6);
    expect(() => openFeed(feeds[4]!, { publicKeys: [keys.publicKey], stateDir: cache })).toThrow(/rollback refused/);

    // One open per process, all at once: the highest serial must still be what stays recorded.
    for (let round = 0; round < 4; round++) {
      const fresh = tempDir();
      const once = await Promise.all(feeds.map((feed) => run(script, [feed, keys.publicKey, fresh, '1'])));
      for (const r of once) expect(r.other).toEqual([]);
      expect(once[5]).toEqual({ ok: 1, rollback: 0, other: [] });
      const after = JSON.parse(readFileSync(join(fresh, 'feed-state.json'), 'utf8'));
      expect(after.serials[keyId(parsePublicKey(keys.publicKey))].serial).toBe(6);
    }
  });

  it('reports an unusable cache directory as a FeedError', async () => {
    const keys = makeKeys();
    const dir = tempDir();
    const feed = await buildTestFeed(keys, sampleRecords(3), join(dir, 'x.feed'));
    writeFileSync(join(dir, 'not-a-dir'), '');
    let thrown: unknown;
    try {
      openFeed(feed, { publicKeys: [keys.publicKey], stateDir: join(dir, 'not-a-dir', 'cache') });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FeedError);
    expect((thrown as Error).message).toMatch(/not-a-dir\/cache\/feed-state\.json/);
  });
});

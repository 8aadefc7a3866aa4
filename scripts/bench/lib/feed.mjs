// The signed feed the install benchmarks point the guard at.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const FEED_TOOL = `
  import { readFileSync, existsSync } from 'node:fs';
  import { join } from 'node:path';
  import { buildFeed } from './src/feed/build';
  import { generateKeyPair } from './src/feed/keys';
  const [records, keyDir, out] = process.argv.slice(2);
  const { privateKeyPath } = existsSync(join(keyDir, 'feed.pub')) ? { privateKeyPath: join(keyDir, 'feed.key') } : generateKeyPair(keyDir);
  const list = readFileSync(records, 'utf8').split('\\n').filter(Boolean).map((l) => JSON.parse(l));
  buildFeed({ records: list, privateKeyPath, out, serial: Date.now() }).catch((e) => { console.error(e); process.exit(1); });
`;

/**
 * Builds dir/verdicts.feed from `recordsPath` with a bundled tool (.bench/bin/TOOL.cjs), signed
 * with the key pair in dir/keys (made on first use). Returns the feed path and public key.
 */
export async function buildBenchFeed(ctx, { tool, dir, recordsPath }) {
  const keyDir = join(dir, 'keys');
  const feedPath = join(dir, 'verdicts.feed');
  const feedTool = await ctx.bundle(tool, FEED_TOOL);
  rmSync(feedPath, { force: true });
  const built = await ctx.measure(process.execPath, [feedTool, recordsPath, keyDir, feedPath]);
  if (built.code !== 0) throw new Error(`feed build failed: ${built.stderr}`);
  return { feedPath, publicKey: readFileSync(join(keyDir, 'feed.pub'), 'utf8').trim() };
}

/** A hostile repository cannot make reading the source hang or exhaust memory. */
import { execFileSync, execSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { readCommitTree } from '../src/verify/tree';
import { tempDirs } from './helpers/temp';

const temp = tempDirs();
const env = () => ({ PATH: process.env.PATH, HOME: temp('pg-home-'), GIT_CONFIG_NOSYSTEM: '1' });

describe('object sizes', () => {
  test('a blob larger than what is left of the budget is refused from its header, not read', async () => {
    const repo = temp('pg-big-');
    const git = (args: string[], input?: string) => execFileSync('git', ['-C', repo, ...args], { input, env: env() }).toString().trim();
    git(['init', '-q', '--bare']);
    // 256 MB of zeros: a few hundred KB in the repository; read in 64 KB pipe chunks.
    const big = execSync(`head -c 268435456 /dev/zero | git -C ${repo} hash-object -w --stdin`, { env: env() }).toString().trim();
    const manifest = git(['hash-object', '-w', '--stdin'], '{"name":"p"}');
    const tree = git(['mktree'], `100644 blob ${big}\tbig.bin\n100644 blob ${manifest}\tpackage.json\n`);
    const commit = git(['-c', 'user.name=a', '-c', 'user.email=a@b', 'commit-tree', tree, '-m', 'x']);
    const started = Date.now();
    await expect(readCommitTree(repo, commit, { env: env(), limits: { maxFiles: 100, maxBytes: 64 * 1024 * 1024 } })).rejects.toThrow(new RegExp(`object ${big} is larger than`));
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 60_000);
});

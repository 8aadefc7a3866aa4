/**
 * What the Yarn plugin's fetch step expects of each registry tarball (plugins/yarn/gate.ts
 * fetchPolicy), with a real guard over a signed test feed: the gate's expectation when it saw the
 * package, a lookup when it did not, and a block for a package the gate did not see that the
 * policy blocks (the last point before its bytes reach Yarn's cache).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReportError, structUtils } from '@yarnpkg/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { registryPackage, yarnHashedArchive } from '../plugins/yarn/fetch-guard';
import { bindIntegrity } from '../src/policy/integrity';
import { fetchPolicy } from '../plugins/yarn/gate';
import { INTEGRITY_IN_FEED } from '../plugins/yarn/verdict-reuse';
import { createGuard, type Guard } from '../src/guard';
import type { FeedRecord } from '../src/types';
import { buildTestFeed, makeKeys, tempDir } from './helpers/feed-fixtures';

const INTEGRITY = `sha512-${Buffer.alloc(64, 5).toString('base64')}`;
const GOOD: FeedRecord = {
  name: 'good', version: '1.0.0', integrity: INTEGRITY,
  repository: { url: 'https://github.com/acme/good', commit: 'a'.repeat(40), status: 'claimed' },
  rebuild: { verdict: 'reproducible', source: 'oss-rebuild' },
  scorecard: { score: 8 },
};

const guards: Record<'block' | 'warn', Guard> = {} as Record<'block' | 'warn', Guard>;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const dir = tempDir('pg-fetch-policy-');
  const keys = makeKeys(join(dir, 'keys'));
  await buildTestFeed(keys, [GOOD], join(dir, 'provenance.feed'));
  env = { PROVENANCE_GUARD_CACHE_DIR: join(dir, 'cache'), PROVENANCE_GUARD_STATE_DIR: join(dir, 'cache', 'state') };
  for (const mode of ['block', 'warn'] as const) {
    const configPath = join(dir, `rc-${mode}.json`);
    writeFileSync(configPath, JSON.stringify({
      mode, unknown: 'block', feed: { source: './provenance.feed', publicKeys: [keys.publicKey], offline: true },
      rules: { repository: { require: 'claimed' }, rebuild: { require: 'reproducible' }, scorecard: { minScore: 5 } },
    }));
    guards[mode] = await createGuard({ cwd: dir, configPath, env });
  }
});
afterAll(() => Object.values(guards).forEach((guard) => guard.close()));

const policyOf = (mode: 'block' | 'warn', expectations: Map<string, string | null> = new Map()) => fetchPolicy(guards[mode].config, expectations, async () => guards[mode], env);

test("the gate's expectation answers; nothing expected is nothing to compare", async () => {
  const other = `sha512-${Buffer.alloc(64, 6).toString('base64')}`;
  const policy = policyOf('block', new Map([['good@1.0.0', other], ['free@1.0.0', null]]));
  expect(await policy.expectation('good', '1.0.0')).toEqual({ id: 'good@1.0.0', integrity: other, block: true });
  expect(await policy.expectation('free', '1.0.0')).toBeUndefined();
});

test("an archive the stored verdict remembers comes with the gate's expectation only; what the fetch step verifies is collected", async () => {
  const verified = new Map<string, string>();
  const policy = fetchPolicy(guards.block.config, new Map([['good@1.0.0', INTEGRITY]]), async () => guards.block, env, new Map([['good@1.0.0', 'c'.repeat(64)], ['unseen@9.9.9', 'd'.repeat(64)]]), verified);
  const expected = (await policy.expectation('good', '1.0.0'))!;
  expect(expected).toEqual({ id: 'good@1.0.0', integrity: INTEGRITY, block: true, archive: 'c'.repeat(64) });
  // Looked up in the feed now: nothing remembered applies to it.
  expect(await fetchPolicy(guards.warn.config, new Map(), async () => guards.warn, env, new Map([['good@1.0.0', 'c'.repeat(64)]])).expectation('good', '1.0.0')).toEqual({ id: 'good@1.0.0', integrity: INTEGRITY, block: false });
  policy.verified(expected, 'e'.repeat(128));
  expect([...verified]).toEqual([['good@1.0.0', 'e'.repeat(64)]]);
});

test('a package the gate did not see is looked up in the feed', async () => {
  expect(await policyOf('block').expectation('good', '1.0.0')).toEqual({ id: 'good@1.0.0', integrity: INTEGRITY, block: true });
  expect(await policyOf('warn').expectation('good', '1.0.0')).toEqual({ id: 'good@1.0.0', integrity: INTEGRITY, block: false });
});

test('a package the gate did not see and the policy blocks is not fetched; under warn it is', async () => {
  const refused = await policyOf('block').expectation('unseen', '9.9.9').then(() => undefined, (error: unknown) => error);
  expect(refused).toBeInstanceOf(ReportError);
  expect((refused as Error).message).toContain('unseen@9.9.9 is blocked by the provenance policy');
  expect(await policyOf('warn').expectation('unseen', '9.9.9')).toBeUndefined();
});

test("a sha512 the stored verdict did not carry is the feed's, looked up only when asked; one it carried is kept as it is", async () => {
  const other = `sha512-${Buffer.alloc(64, 6).toString('base64')}`;
  const remembered = new Map([['good@1.0.0', 'c'.repeat(64)], ['gone@1.0.0', 'd'.repeat(64)], ['unseen@9.9.9', 'e'.repeat(64)]]);
  const expectations = new Map([['good@1.0.0', INTEGRITY_IN_FEED], ['kept@1.0.0', other], ['gone@1.0.0', INTEGRITY_IN_FEED], ['unseen@9.9.9', INTEGRITY_IN_FEED]]);
  const policy = fetchPolicy(guards.block.config, expectations, async () => guards.block, env, remembered);
  const expected = (await policy.expectation('good', '1.0.0'))!;
  expect(expected).toEqual({ id: 'good@1.0.0', integrity: INTEGRITY_IN_FEED, block: true, archive: 'c'.repeat(64) });
  expect(await policy.withIntegrity(expected)).toEqual({ id: 'good@1.0.0', integrity: INTEGRITY, block: true, archive: 'c'.repeat(64) });
  const kept = (await policy.expectation('kept', '1.0.0'))!;
  expect(await policy.withIntegrity(kept)).toBe(kept);
  // Looked up under the policy as any package: blocked, it is not fetched.
  const refused = await policy.withIntegrity((await policy.expectation('unseen', '9.9.9'))!).then(() => undefined, (error: unknown) => error);
  expect((refused as Error).message).toContain('unseen@9.9.9 is blocked by the provenance policy');
  // Under warn, a record gone from the feed leaves the stand-in, which binds no tarball.
  const warned = fetchPolicy(guards.warn.config, expectations, async () => guards.warn, env, remembered);
  const gone = (await warned.expectation('gone', '1.0.0'))!;
  expect((await warned.withIntegrity(gone)).integrity).toBe(INTEGRITY_IN_FEED);
  expect(bindIntegrity(INTEGRITY, INTEGRITY_IN_FEED).outcome).toBe('unbound');
});

test("Yarn's checksum stands for the archive only when Yarn hashed that file and refuses a mismatch", () => {
  const opts = (behavior: string, cacheOptions: { skipIntegrityCheck?: boolean } | null = {}, check = false) =>
    ({ cacheOptions: cacheOptions ?? undefined, cache: { check }, project: { configuration: { get: (key: string) => (key === 'checksumBehavior' ? behavior : undefined) } } }) as unknown as Parameters<typeof yarnHashedArchive>[0];
  expect(yarnHashedArchive(opts('throw'))).toBe(true);
  expect(yarnHashedArchive(opts('update'))).toBe(true);
  // Fetch options without cache options (Yarn's type allows it): the setting decides.
  expect(yarnHashedArchive(opts('throw', null))).toBe(true);
  // ignore hands over yarn.lock's checksum for another file; reset, after reloading, too.
  expect(yarnHashedArchive(opts('ignore'))).toBe(false);
  expect(yarnHashedArchive(opts('reset'))).toBe(false);
  // --check-cache throws on a mismatch whatever the setting.
  expect(yarnHashedArchive(opts('ignore', {}, true))).toBe(true);
  // The link step and `yarn add`'s lookups skip hashing: yarn.lock's checksum comes back unchecked.
  expect(yarnHashedArchive(opts('throw', { skipIntegrityCheck: true }))).toBe(false);
  expect(yarnHashedArchive(opts('throw', { skipIntegrityCheck: true }, true))).toBe(false);
});

test('registryPackage: a plain npm: version is read as it stands; anything else as semver and Yarn parse it', () => {
  const at = (reference: string) => registryPackage(structUtils.makeLocator(structUtils.parseIdent('@scope/pkg'), reference));
  expect(at('npm:1.2.3')).toEqual({ name: '@scope/pkg', version: '1.2.3' });
  expect(at('npm:0.0.0')).toEqual({ name: '@scope/pkg', version: '0.0.0' });
  expect(at(`npm:${'9'.repeat(15)}.0.1`)).toEqual({ name: '@scope/pkg', version: `${'9'.repeat(15)}.0.1` });
  expect(at('npm:1.2.3-beta.1+build')).toEqual({ name: '@scope/pkg', version: '1.2.3-beta.1+build' });
  expect(at('npm:1.2.3::__archiveUrl=https%3A%2F%2Fexample.test%2Fpkg.tgz')).toEqual({ name: '@scope/pkg', version: '1.2.3' });
  // Not semver: a leading zero, a component past Number.MAX_SAFE_INTEGER, a range, another protocol.
  for (const reference of ['npm:01.2.3', 'npm:1.02.3', `npm:${'9'.repeat(17)}.0.0`, 'npm:^1.2.3', 'npm:1.2', 'file:./pkg', 'workspace:1.2.3', 'patch:pkg@npm%3A1.2.3#./p.patch']) {
    expect(at(reference), reference).toBeUndefined();
  }
});

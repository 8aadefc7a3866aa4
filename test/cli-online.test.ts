/**
 * `feed build --from-lockfile` and `check --online` end to end: a real registry (verdaccio)
 * for packuments, a local Scorecard API answering in the real response shape, the CLI in between.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { scorecardCheck1, startEvidenceServer, type EvidenceServer } from './helpers/evidence-servers';
import { startRegistry, type PublishedPackage, type TestRegistry } from './helpers/registry';

const cli = (cwd: string, args: string[]) => runCli(cwd, args, { HOME: cwd, npm_config_userconfig: join(cwd, '.npmrc') });

let registry: TestRegistry;
let scorecard: EvidenceServer;
let withRepo: PublishedPackage;
let noRepo: PublishedPackage;

beforeAll(async () => {
  registry = await startRegistry();
  scorecard = await startEvidenceServer();
  withRepo = await registry.publish({ name: '@pg-fixture/online-good', version: '1.2.3', repository: { type: 'git', url: 'git+https://github.com/pg-fixture/online-good.git' } });
  noRepo = await registry.publish({ name: '@pg-fixture/online-norepo', version: '0.0.1' });
  scorecard.set('/projects/github.com/pg-fixture/online-good', { body: { ...scorecardCheck1(), score: 7.3, repo: { name: 'github.com/pg-fixture/online-good', commit: 'a'.repeat(40) } } });
});
afterAll(async () => {
  await registry?.close();
  await scorecard?.close();
});

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pg-online-'));
  writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}/\n`);
  const lock = {
    name: 'app',
    lockfileVersion: 3,
    packages: {
      '': { name: 'app', dependencies: { [withRepo.name]: withRepo.version, [noRepo.name]: noRepo.version } },
      [`node_modules/${withRepo.name}`]: { version: withRepo.version, integrity: withRepo.integrity },
      [`node_modules/${noRepo.name}`]: { version: noRepo.version, integrity: noRepo.integrity },
    },
  };
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  return dir;
}

const sources = () => `sources:
  registry: { url: "${registry.url}" }
  provenance: off
  depsDev: off
  ossRebuild: off
  scorecard: { url: "${scorecard.url}" }
  timeout: 5s
`;

describe('feed build --from-lockfile', () => {
  test('gathers repository and scorecard evidence into records and a signed feed that check then uses', async () => {
    const dir = project();
    const keys = await cli(dir, ['feed', 'keygen', '--out-dir', 'keys']);
    writeFileSync(join(dir, '.provenancerc'), `mode: block\nunknown: block\nfeed:\n  source: ./feed\n  publicKeys: ["${keys.stdout.trim()}"]\nrules:\n  repository: { require: claimed, allowedHosts: [github.com] }\n  scorecard: { minScore: 5 }\n${sources()}`);
    const built = await cli(dir, ['feed', 'build', '--from-lockfile', 'package-lock.json', '--records-out', 'records.ndjson', '--key', 'keys/feed.key', '--out', 'feed']);
    expect(built.stderr).toContain('2 records');
    expect(built.code).toBe(0);
    const records = readFileSync(join(dir, 'records.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const good = records.find((r) => r.name === withRepo.name);
    expect(good.integrity).toBe(withRepo.integrity);
    expect(good.repository).toMatchObject({ url: 'https://github.com/pg-fixture/online-good', status: 'claimed' });
    expect(good.scorecard.score).toBe(7.3);
    expect(records.find((r) => r.name === noRepo.name).repository).toEqual({ status: 'none' });

    const check = await cli(dir, ['check', '--format', 'json']);
    expect(check.code).toBe(1);
    const report = JSON.parse(check.stdout);
    const verdicts = Object.fromEntries(report.packages.map((p: { name: string; verdict: string }) => [p.name, p.verdict]));
    expect(verdicts).toEqual({ [withRepo.name]: 'pass', [noRepo.name]: 'block' });
  });
});

describe('check --online', () => {
  test('gathers live evidence for packages missing from the feed', async () => {
    const dir = project();
    const keys = await cli(dir, ['feed', 'keygen', '--out-dir', 'keys']);
    writeFileSync(join(dir, 'empty.ndjson'), '');
    expect((await cli(dir, ['feed', 'build', '--records', 'empty.ndjson', '--key', 'keys/feed.key', '--out', 'feed'])).code).toBe(0);
    writeFileSync(join(dir, '.provenancerc'), `mode: block\nunknown: block\nfeed:\n  source: ./feed\n  publicKeys: ["${keys.stdout.trim()}"]\nrules:\n  scorecard: { minScore: 5 }\n${sources()}`);
    const offline = JSON.parse((await cli(dir, ['check', '--format', 'json'])).stdout);
    expect(offline.summary.block).toBe(2);
    const online = await cli(dir, ['check', '--online', '--format', 'json']);
    const report = JSON.parse(online.stdout);
    const byName = Object.fromEntries(report.packages.map((p: { name: string }) => [p.name, p]));
    expect(byName[withRepo.name].verdict).toBe('pass');
    expect(byName[noRepo.name].verdict).toBe('block');
    expect(byName[noRepo.name].findings.map((f: { rule: string }) => f.rule)).toContain('repository');
    expect(online.code).toBe(1);
  });
});

// Gaps a black-box audit of the CLI against SPEC.md found, sentence by sentence: each test is a
// user's command whose answer differed from what SPEC (or a pnpm/Yarn user) expects.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { cliProject, SHA } from './helpers/cli-project';
import { tempDirs } from './helpers/temp';

const tempDir = tempDirs('pg-spec-');

describe('feed keygen --out-dir', () => {
  test('a path that is a file (or under one) is a usage error naming it, not an internal error', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'records.ndjson'), '');
    for (const outDir of ['records.ndjson', 'records.ndjson/keys']) {
      const r = await runCli(dir, ['feed', 'keygen', '--out-dir', outDir]);
      expect(r.code, outDir).toBe(2);
      expect(r.stderr, outDir).toMatch(/ERR_PG_USAGE_INVALID_VALUE: feed keygen: --out-dir records\.ndjson.*not a directory/);
      expect(r.stderr, outDir).not.toMatch(/internal error|\n\s+at /);
    }
  });
});

describe('check reads every lockfile in the directory', () => {
  test('a lockfile that is a symbolic link to nothing cannot be read: exit 2, never skipped beside a good one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { a: '1.0.0' } }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { a: '1.0.0' } }, 'node_modules/a': { version: '1.0.0' } } }));
    symlinkSync(join(dir, 'gone.yaml'), join(dir, 'pnpm-lock.yaml'));
    for (const args of [['check'], ['check', '--format', 'json'], ['explain', 'a@1.0.0']]) {
      const r = await runCli(dir, args, { PROVENANCE_GUARD_MODE: 'off' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`ERR_PG_LOCKFILE_UNREADABLE: ${join(dir, 'pnpm-lock.yaml')}: cannot be read (a symbolic link to a missing file)`);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });
});

describe('explain --lockfile', () => {
  test('a --lockfile that does not exist is exit 2 (as for check), not an explanation without the lockfile', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
    const r = await runCli(dir, ['explain', 'a@1.0.0', '--lockfile', 'nope/package-lock.json'], { PROVENANCE_GUARD_MODE: 'off' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ERR_PG_LOCKFILE_NOT_FOUND: ${join(dir, 'nope', 'package-lock.json')}: no such file`);
    expect(r.stdout).toBe('');
  });
});

describe('an invalid config names the file, the key and what is wrong', () => {
  /** A project with one registry package in its lockfile and `config` as its .provenancerc (or package.json#provenance). */
  function project(config: string, inPackageJson = false): string {
    const dir = tempDir();
    const manifest = { name: 'app', version: '1.0.0', dependencies: { a: '1.0.0' }, ...(inPackageJson ? { provenance: JSON.parse(config) as unknown } : {}) };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { a: '1.0.0' } }, 'node_modules/a': { version: '1.0.0' } } }));
    if (!inPackageJson) writeFileSync(join(dir, '.provenancerc'), config);
    return dir;
  }
  const KEY = Buffer.alloc(32, 7).toString('base64');

  test('feed.publicKeys: an entry that is no Ed25519 key', async () => {
    const dir = project(`mode: block\nfeed:\n  source: ./feed\n  publicKeys: ["${KEY}", "not-a-key"]\n`);
    for (const command of [['check'], ['explain', 'a@1.0.0']]) {
      const r = await runCli(dir, command);
      expect(r.code, command[0]).toBe(2);
      expect(r.stderr, command[0]).toContain(`ERR_PG_FEED_KEY_INVALID: ${join(dir, '.provenancerc')}: feed.publicKeys[1]: not an Ed25519 public key`);
    }
    const pkg = project(JSON.stringify({ feed: { source: './feed', publicKeys: ['-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----'] } }), true);
    const r = await runCli(pkg, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ERR_PG_FEED_KEY_INVALID: ${join(pkg, 'package.json')}#provenance: feed.publicKeys[0]: not a valid PEM public key`);
  });

  test('feed.source: plain http, another scheme, or a non-registry spec', async () => {
    const cases: Array<[source: string, code: string]> = [
      ['http://feeds.example.com/provenance.feed', 'ERR_PG_FEED_INSECURE'],
      ['ftp://feeds.example.com/latest', 'ERR_PG_FEED_SOURCE_INVALID'],
      ['github:acme/feed', 'ERR_PG_FEED_SOURCE_INVALID'],
    ];
    for (const [source, code] of cases) {
      const dir = project(`feed:\n  source: "${source}"\n  publicKeys: ["${KEY}"]\n  offline: true\n`);
      const r = await runCli(dir, ['check']);
      expect(r.code, source).toBe(2);
      expect(r.stderr, source).toContain(`${code}: ${join(dir, '.provenancerc')}: feed.source: `);
      // The same source from --feed is the flag's, not the file's.
      const flag = await runCli(dir, ['check', '--feed', source]);
      expect(flag.code, source).toBe(2);
      expect(flag.stderr, source).toContain(`${code}: feed source`);
    }
  });

  test('under mode: off the feed settings are not used, so they are not checked', async () => {
    const dir = project('mode: off\nfeed:\n  publicKeys: ["not-a-key"]\n  source: "http://feeds.example.com/f"\n');
    expect((await runCli(dir, ['check'])).code).toBe(0);
  });
});

describe('the overrides a report suggests', () => {
  test('never for a package an integrity finding blocks: SPEC lets no override waive it', async () => {
    const evidence = { repository: { url: 'https://github.com/acme/x', commit: 'a'.repeat(40), status: 'claimed' }, rebuild: { verdict: 'reproducible', source: 'oss-rebuild' } };
    const records = [
      { name: 'tampered', version: '1.0.0', integrity: SHA(1), ...evidence, scorecard: { score: 1, date: '2026-11-01', checks: {} } },
      { name: 'low-score', version: '1.0.0', integrity: SHA(2), ...evidence, scorecard: { score: 1, date: '2026-11-01', checks: {} } },
    ];
    const { dir, cleanup } = await cliProject(records, [{ name: 'tampered', version: '1.0.0', integrity: SHA(9) }, { name: 'low-score', version: '1.0.0', integrity: SHA(2) }]);
    try {
      const check = await runCli(dir, ['check']);
      expect(check.code).toBe(1);
      expect(check.stdout).toMatch(/\[integrity\] integrity sha512-\S+ does not match the feed's/);
      expect(check.stdout).toContain('  - package: "low-score@1.0.0"\n    rules: [scorecard]');
      expect(check.stdout).not.toContain('package: "tampered@1.0.0"');
      const explain = await runCli(dir, ['explain', 'tampered@1.0.0']);
      expect(explain.code).toBe(1);
      expect(explain.stdout).toMatch(/decided by +integrity/);
      expect(explain.stdout).not.toContain('To accept it anyway');
      expect(explain.stdout).toContain('No override can accept it: integrity cannot be waived.');
      expect((await runCli(dir, ['explain', 'low-score@1.0.0'])).stdout).toContain('To accept it anyway');
    } finally {
      cleanup();
    }
  });
});

describe('a project without a config', () => {
  test('check says that no config was found, where it looked, and how to write one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { a: '1.0.0' } }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { a: '1.0.0' } }, 'node_modules/a': { version: '1.0.0' } } }));
    const r = await runCli(dir, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ERR_PG_CONFIG_INVALID: no provenance config found in ${dir} or above it up to the project root (write one with \`provenance-guard init\`, or pass --config PATH): feed.publicKeys: at least one public key is required`);
  });
});

describe('--config PATH', () => {
  test('a file whose extension names no config format says which ones it can read (was cosmiconfig\'s "No loader specified")', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': {} } }));
    writeFileSync(join(dir, '.provenancerc.example'), 'mode: warn\n');
    const r = await runCli(dir, ['check', '--config', '.provenancerc.example']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ERR_PG_CONFIG_INVALID: ${join(dir, '.provenancerc.example')}: not a config format (expected .provenancerc, .json, .yaml, .yml, .js, .cjs or .mjs)`);
  });
});

describe('a private key where a public key belongs', () => {
  test('feed.key given for feed.pub is refused everywhere: init never writes it into .provenancerc', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
    expect((await runCli(dir, ['feed', 'keygen', '--out-dir', 'keys'])).code).toBe(0);
    writeFileSync(join(dir, 'r.ndjson'), '{"name":"a","version":"1.0.0"}\n');
    expect((await runCli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key', 'keys/feed.key', '--out', 'feed'])).code).toBe(0);
    const refused = `ERR_PG_FEED_KEY_INVALID: ${join(dir, 'keys', 'feed.key')}: this is a private key (the feed signing key, a secret): give the public key, feed.pub`;

    const init = await runCli(dir, ['init', '--pm', 'pnpm', '--method', 'pnpmfile', '--feed', './feed', '--public-key', 'keys/feed.key']);
    expect(init.code).toBe(2);
    expect(init.stderr).toContain(refused);
    expect(existsSync(join(dir, '.provenancerc'))).toBe(false);

    const verify = await runCli(dir, ['feed', 'verify', 'feed', '--public-key', 'keys/feed.key']);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain(refused);

    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': {} } }));
    writeFileSync(join(dir, '.provenancerc'), `feed:\n  source: ./feed\n  publicKeys: [${JSON.stringify(readFileSync(join(dir, 'keys', 'feed.key'), 'utf8'))}]\n`);
    const check = await runCli(dir, ['check']);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(`ERR_PG_FEED_KEY_INVALID: ${join(dir, '.provenancerc')}: feed.publicKeys[0]: this is a private key`);
  });
});

describe('--public-key FILE', () => {
  test('missing, a directory, or not a key: a coded error naming the file in feed verify, feed update and init (was an internal error)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
    expect((await runCli(dir, ['feed', 'keygen', '--out-dir', 'keys'])).code).toBe(0);
    writeFileSync(join(dir, 'r.ndjson'), '{"name":"a","version":"1.0.0"}\n');
    expect((await runCli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key', 'keys/feed.key', '--out', 'feed'])).code).toBe(0);
    mkdirSync(join(dir, 'adir'));
    writeFileSync(join(dir, 'junk.pub'), 'not a key\n');
    const commands = (key: string): string[][] => [
      ['feed', 'verify', 'feed', '--public-key', key],
      ['feed', 'update', '--base', 'feed', '--records', 'r.ndjson', '--key', 'keys/feed.key', '--out', 'feed2', '--public-key', key],
      ['init', '--pm', 'yarn', '--feed', './feed', '--public-key', key],
    ];
    const expected: Array<[key: string, text: string]> = [
      ['missing.pub', `ERR_PG_FEED_KEY_NOT_FOUND: ${join(dir, 'missing.pub')}: public key file not found`],
      ['adir', `ERR_PG_FEED_KEY_INVALID: ${join(dir, 'adir')}: is a directory, not a public key file (feed.pub)`],
      ['junk.pub', `ERR_PG_FEED_KEY_INVALID: ${join(dir, 'junk.pub')}: not an Ed25519 public key`],
    ];
    for (const [key, text] of expected) {
      for (const args of commands(key)) {
        // init takes the key itself as well as a file: a missing file is then a key that does not parse.
        if (args[0] === 'init' && key === 'missing.pub') continue;
        const r = await runCli(dir, args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr, args.join(' ')).toContain(text);
      }
    }
    expect(existsSync(join(dir, '.provenancerc'))).toBe(false);
  });
});

describe('feed update --base', () => {
  test('a base feed that cannot be trusted is named as the user gave it, not as the temporary copy verified', async () => {
    const dir = tempDir();
    expect((await runCli(dir, ['feed', 'keygen', '--out-dir', 'keys'])).code).toBe(0);
    writeFileSync(join(dir, 'r.ndjson'), '{"name":"a","version":"1.0.0"}\n');
    expect((await runCli(dir, ['feed', 'build', '--records', 'r.ndjson', '--key', 'keys/feed.key', '--out', 'base.feed', '--serial', '5'])).code).toBe(0);
    writeFileSync(join(dir, 'base.feed'), readFileSync(join(dir, 'base.feed'), 'utf8').replace('"serial":5,', '"serial":6,'));
    const r = await runCli(dir, ['feed', 'update', '--base', 'base.feed', '--records', 'r.ndjson', '--key', 'keys/feed.key', '--out', 'new.feed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ERR_PG_FEED_SIGNATURE: feed ${join(dir, 'base.feed')}: signature does not verify`);
    expect(r.stderr).not.toContain('pg-feed-base-');
  });
});

describe('an empty config', () => {
  test('in package.json: the advice is to remove the provenance key, never to delete the file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', provenance: null }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': {} } }));
    const r = await runCli(dir, ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ERR_PG_CONFIG_EMPTY: ${join(dir, 'package.json')}#provenance: the config is empty; write a policy (see .provenancerc.example) or remove the "provenance" key`);
    expect(r.stderr).not.toContain('delete the file');
  });
});

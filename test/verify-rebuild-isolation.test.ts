/**
 * `verify --rebuild` downloads the build dependencies outside the namespaces (phase 1), so
 * nothing of the repository may run there: its .npmrc (e.g. `git=./x.sh`, which npm runs to
 * resolve a git dependency) is not the build's configuration.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadNpmConfig } from '../src/npmrc';
import { rebuildFromSource } from '../src/verify/rebuild';
import type { SourceFile } from '../src/verify/tree';
import { tempDirs } from './helpers/temp';

const temp = tempDirs();

test("a repository's .npmrc cannot make npm run a repository file outside the isolated build", async () => {
  const marker = join(temp('pg-marker-'), 'ran');
  const file = (path: string, content: string, executable = false): SourceFile => ({ path, content: Buffer.from(content), executable });
  const files = [
    file('package.json', JSON.stringify({ name: 'p', version: '1.0.0', dependencies: { y: 'git+https://example.invalid/a/b.git' } })),
    file('.npmrc', 'git=./run.sh\n'),
    file('run.sh', `#!/bin/sh\necho "$@" > ${marker}\nexit 1\n`, true),
  ];
  const home = temp('pg-home-');
  const result = await rebuildFromSource({ files, directory: undefined, published: new Map(), registry: 'http://127.0.0.1:9/', env: { PATH: process.env.PATH, HOME: home }, npm: loadNpmConfig({ cwd: home, env: { HOME: home } }), timeout: 60_000 });
  expect(result.verdict).toBe('unknown');
  expect(existsSync(marker)).toBe(false);
}, 120_000);

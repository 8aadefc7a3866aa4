/**
 * The Yarn 4.18.1 facts the gate's placement rests on (plugins/yarn/gate.ts), re-measured
 * with a logging plugin so an upgrade that changes them fails here first.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRegistry, type TestRegistry } from './helpers/registry';
import { createYarnProject, markerScript, type YarnProject } from './helpers/yarn';

let registry: TestRegistry;

// Plain CommonJS plugin: logs every hook call; blocks validateProject when PG_BLOCK is set.
const LOGGING_PLUGIN = `module.exports = {
  name: 'pg-logger',
  factory: (require) => {
    const fs = require('fs');
    const log = (entry) => fs.appendFileSync(process.env.PG_LOG, JSON.stringify(entry) + '\\n');
    return { hooks: {
      async validateProject(project, report) {
        log({ hook: 'validateProject', locked: [...project.originalPackages.values()].map((p) => p.name + '@' + p.reference) });
        if (process.env.PG_BLOCK) report.reportError(0, 'blocked by test');
      },
      async reduceDependency(dependency) { log({ hook: 'reduceDependency', range: dependency.range }); return dependency; },
      async wrapNetworkRequest(executor, extra) { log({ hook: 'net', target: String(extra.target) }); return executor; },
      async validateProjectAfterInstall() { log({ hook: 'afterInstall' }); },
      async registerPackageExtensions() { log({ hook: 'packageExtensions' }); },
    } };
  },
};
`;

beforeAll(async () => {
  registry = await startRegistry();
  await registry.publish({ name: '@pg-fixture/leaf', version: '1.0.0', scripts: markerScript('leaf', '/nonexistent') });
  await registry.publish({ name: '@pg-fixture/top', version: '1.0.0', dependencies: { '@pg-fixture/leaf': '^1.0.0' } });
});
afterAll(async () => registry?.close());

function logged(p: YarnProject): { hook: string; range?: string; target?: string; locked?: string[] }[] {
  const file = join(p.dir, '..', 'hooks.log');
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } finally {
    writeFileSync(file, '');
  }
}

test('validateProject comes first on every path, package extensions next; reduceDependency sees ranges; a warm cache skips the network', async () => {
  const p = createYarnProject({ registryUrl: registry.url, dependencies: { '@pg-fixture/top': '^1.0.0' }, plugin: false, yarnrc: ['plugins:', '  - path: logger.cjs'] });
  writeFileSync(join(p.dir, 'logger.cjs'), LOGGING_PLUGIN);
  const env = { PG_LOG: join(p.dir, '..', 'hooks.log') };

  // Blocking in validateProject: nothing fetched, linked or written.
  const blocked = await p.yarn(['install'], { ...env, PG_BLOCK: '1' });
  expect(blocked.code).not.toBe(0);
  expect(logged(p).map((e) => e.hook)).toEqual(['validateProject']);
  expect(p.lockfile()).toBe('');
  expect(p.installed('@pg-fixture/top')).toBe(false);

  // Fresh install: validateProject before any request; reduceDependency gets ranges only.
  expect((await p.yarn(['install'], env)).code).toBe(0);
  const fresh = logged(p);
  expect(fresh[0]!.hook).toBe('validateProject');
  expect(fresh.filter((e) => e.hook === 'reduceDependency').map((e) => e.range)).toEqual(expect.arrayContaining(['npm:^1.0.0']));
  expect(fresh.some((e) => e.hook === 'reduceDependency' && /^npm:\d+\.\d+\.\d+$/.test(e.range!))).toBe(false);
  expect(fresh.filter((e) => e.hook === 'net').length).toBeGreaterThan(0);
  expect(fresh.at(-1)!.hook).toBe('afterInstall'); // after postinstall: too late for a gate
  // Yarn computes its package extensions once, right after validateProject, whatever the hook did
  // (the gate computes them first and does not count them as its own time).
  expect(fresh.map((e) => e.hook).filter((h) => h === 'validateProject' || h === 'packageExtensions')).toEqual(['validateProject', 'packageExtensions']);

  // --immutable, warm cache, no node_modules: validateProject sees the locked graph, no network at all.
  rmSync(join(p.dir, 'node_modules'), { recursive: true, force: true });
  expect((await p.yarn(['install', '--immutable'], env)).code).toBe(0);
  const warm = logged(p);
  expect(warm.slice(0, 2).map((e) => e.hook)).toEqual(['validateProject', 'packageExtensions']);
  expect(warm[0]!.locked).toEqual(expect.arrayContaining(['top@npm:1.0.0', 'leaf@npm:1.0.0']));
  expect(warm.filter((e) => e.hook === 'net')).toEqual([]);
});

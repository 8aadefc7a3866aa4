import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRegistry, type TestRegistry } from './helpers/registry';

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => registry?.close());

test('the local registry serves what was published, with its integrity', async () => {
  const published = await registry.publish({ name: '@pg-fixture/smoke', version: '1.0.0' });
  const res = await fetch(`${registry.url}/@pg-fixture%2fsmoke`);
  expect(res.status).toBe(200);
  const packument = (await res.json()) as { versions: Record<string, { dist: { integrity: string; tarball: string } }> };
  expect(packument.versions['1.0.0']!.dist.integrity).toBe(published.integrity);
  const tgz = await fetch(packument.versions['1.0.0']!.dist.tarball);
  expect(tgz.status).toBe(200);
  const missing = await fetch(`${registry.url}/@pg-fixture%2fnot-there`);
  expect(missing.status).toBe(404);
});

import { expect, test } from 'vitest';
import { buildReport } from '../src/report/build';
import { formatJson } from '../src/report/json';
import type { PackageResult } from '../src/types';

test("--format json is exactly SPEC's document, whatever else a result carries", () => {
  const report = buildReport([
    { name: 'a', version: '1.0.0', verdict: 'block', findings: [{ rule: 'source', severity: 'block', message: 'm' }], alias: 'x', via: ['top@1.0.0'] },
    { name: 'b', version: '2.0.0', verdict: 'pass', findings: [] },
  ]);
  expect(JSON.parse(formatJson(report))).toEqual({
    summary: { packages: 2, pass: 1, warn: 0, block: 1, skip: 0 },
    packages: [
      { name: 'a', version: '1.0.0', verdict: 'block', findings: [{ rule: 'source', severity: 'block', message: 'm' }] },
      { name: 'b', version: '2.0.0', verdict: 'pass', findings: [] },
    ],
  });
});

test('packages are ordered by verdict, then by name and version in code-unit order, the same under any locale', () => {
  const names = ['b', 'B', '_a', 'a.b', 'a-b', '@s/x', 'a'];
  const results: PackageResult[] = names.map((name) => ({ name, version: '1.0.0', verdict: 'pass', findings: [] }));
  results.push({ name: 'a', version: '1.10.0', verdict: 'pass', findings: [] }, { name: 'a', version: '1.9.0', verdict: 'pass', findings: [] });
  results.push({ name: 'z', version: '1.0.0', verdict: 'warn', findings: [] }, { name: 'zz', version: '1.0.0', verdict: 'block', findings: [] });
  const order = buildReport(results).packages.map((p) => `${p.name}@${p.version}`);
  expect(order).toEqual(['zz@1.0.0', 'z@1.0.0', '@s/x@1.0.0', 'B@1.0.0', '_a@1.0.0', 'a@1.0.0', 'a@1.10.0', 'a@1.9.0', 'a-b@1.0.0', 'a.b@1.0.0', 'b@1.0.0']);
});

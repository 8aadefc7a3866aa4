import { expect, test } from 'vitest';
import { buildReport } from '../src/report/build';
import { formatJson } from '../src/report/json';

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

/**
 * Code shape the project holds itself to (issue 10): no function in src/ or plugins/ longer
 * than MAX_LINES, and the pipeline's direction (adapters → core, never back).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';

const ROOT = resolve(__dirname, '..');
const MAX_LINES = 60;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'dist' || entry === 'node_modules') return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

const FILES = [...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'plugins'))];

function longFunctions(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      const lines = end - start + 1;
      if (lines > MAX_LINES) {
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
        found.push(`${relative(ROOT, file)}:${start + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test(`no function in src/ or plugins/ is longer than ${MAX_LINES} lines`, () => {
  expect(FILES.length).toBeGreaterThan(20);
  expect(FILES.flatMap(longFunctions)).toEqual([]);
});

test('core never imports an adapter', () => {
  const offenders = FILES.filter((f) => relative(ROOT, f).startsWith('src/')).filter((f) => /from '(\.\.\/)+plugins\//.test(readFileSync(f, 'utf8')));
  expect(offenders.map((f) => relative(ROOT, f))).toEqual([]);
});

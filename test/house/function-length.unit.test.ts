import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { spec } from '../support/spec.ts';

/** A function longer than this does several jobs; the house keeps each one small enough to read at once. */
const MAX_LINES = 80;
const root = join(import.meta.dirname, '..', '..');
const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

/** Every function, method, arrow and accessor of a source text longer than `max` lines: name and length. */
export function longFunctions(fileName: string, text: string, max: number): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = 'name' in node && node.name ? node.name.getText(source) : '(anonymous)';
      if (last - first + 1 > max) found.push(`${fileName}:${first + 1} ${name}: ${last - first + 1} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const house = spec('no function does several jobs');

house('a function of 81 lines is found, one of 80 is not', () => {
  const fn = (lines: number) => `function f() {\n${'  x();\n'.repeat(lines - 2)}}\n`;
  assert.equal(longFunctions('a.ts', fn(80), MAX_LINES), []);
  assert.equal(longFunctions('a.ts', fn(81), MAX_LINES), ['a.ts:1 f: 81 lines']);
});

house(`no function under src/ or projections/ is over ${MAX_LINES} lines`, () => {
  const files = [...walk(join(root, 'src')), ...walk(join(root, 'projections'))];
  assert.equal(files.flatMap((f) => longFunctions(relative(root, f), readFileSync(f, 'utf8'), MAX_LINES)), []);
});

house.run();

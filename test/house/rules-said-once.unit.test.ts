import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spec } from '../support/spec.ts';

/**
 * "In use", "remaining" and "sold out" are the rules module's to say (src/coupons/rules/); everywhere else asks it.
 * The Lua scripts execute the same rules and are held to them by the random admission test, so only TypeScript is read.
 */
const ARITHMETIC = [
  { what: 'in use (uses less cancellations)', pattern: /used(_?count)?\)?\s*-\s*[\w.(]*cancel/i },
  { what: 'remaining (total less issued)', pattern: /(total_?quantity|\btot(al)?)\)?\s*-\s*[\w.(]*iss/i },
  { what: 'sold out (issued against total)', pattern: /iss(ued)?(_?count)?\)?\s*>=?\s*[\w.(]*(total|\btot\b)|(total_?quantity|\btot\b)\)?\s*<=?\s*[\w.(]*iss/i },
];

const root = join(import.meta.dirname, '..', '..');
const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

const once = spec('the rules module is the one place their arithmetic is written');

once('the patterns catch the arithmetic in the shapes it was written before', () => {
  const written = ['row.used_count - row.cancelled_count', 'Number(used) - Number(cancelled)', 'Math.max(0, d.totalQuantity - s.issuedCount)',
    'Math.max(0, row.total_quantity - row.issued_count)', 'Number(issued) >= Number(total)', 'c.issued >= c.totalQuantity'];
  for (const line of written) assert.ok(ARITHMETIC.some((a) => a.pattern.test(line)), line);
});

once('no file under src/ or projections/ outside src/coupons/rules/ writes it', () => {
  const found: string[] = [];
  for (const file of [...walk(join(root, 'src')), ...walk(join(root, 'projections'))]) {
    const path = relative(root, file);
    if (path.startsWith(join('src', 'coupons', 'rules'))) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      for (const { what, pattern } of ARITHMETIC) if (pattern.test(line)) found.push(`${path}:${i + 1} ${what}: ${line.trim()}`);
    });
  }
  assert.equal(found, []);
});

once.run();

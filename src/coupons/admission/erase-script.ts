import { readFileSync } from 'node:fs';
import type { CouponKeys } from './keys.ts';
import type { ScriptRunner } from './script-runner.ts';

const ERASE = readFileSync(new URL('./erase.lua', import.meta.url), 'utf8');

/** erase.lua: `person`'s holding in these keys renamed to `placeholder`, with their orders; true when they held it. */
export async function eraseScript(runner: ScriptRunner, k: CouponKeys, person: string, placeholder: string): Promise<boolean> {
  return (await runner.reading((redis) => redis.eval(ERASE, 3, k.holders, k.used, k.holds, person, placeholder))) === 1;
}

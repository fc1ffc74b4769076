import type { z } from 'zod';
import { Problem } from './problem.ts';

/** Parses with a zod schema or answers 400 VALIDATION_FAILED listing every offending field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, where = 'body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.flatMap((issue) => {
    const path = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: path ? `${path}.${key}` : key, message: 'Unknown field' }));
    }
    return [{ path, message: issue.message }];
  });
  throw new Problem('VALIDATION_FAILED', `The ${where} has ${errors.length} problem${errors.length === 1 ? '' : 's'}`, { errors });
}

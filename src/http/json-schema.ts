import { z } from 'zod';
import type { JsonSchema } from './route.ts';

/** The JSON Schema of a zod schema, as the body it reads (`input`) or the answer it describes (`output`). */
export const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

/** A page of items as pagination.ts answers it. */
export const pageOf = (item: z.ZodType | JsonSchema): JsonSchema => ({
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: { items: { type: 'array', items: item instanceof z.ZodType ? jsonSchema(item, 'output') : item }, nextCursor: { type: ['string', 'null'] } },
});

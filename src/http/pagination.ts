import { z } from 'zod';

/** Opaque cursors: the last id of a page, base64url-encoded, so clients cannot lean on their shape. */
export const encodeCursor = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');
export const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString('utf8');

export const pageQuery = {
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'must be a cursor this API returned').optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
};

/** Fetch one row more than the page: if it exists, there is a next page. */
export function page<T>(rows: T[], limit: number, idOf: (row: T) => string): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(idOf(items[items.length - 1]!)) : null };
}

/** Splits work into bounded pieces: MySQL allows 65,535 placeholders a statement, and Redis commands stay small. */
export function chunks<T>(items: readonly T[], size = 1_000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

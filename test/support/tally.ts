/** Answers counted by status and problem code (`201`, `409 SOLD_OUT`): what a concurrent test asserts on. */
export function tally(answers: readonly { status: number; body?: { code?: unknown } }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = `${a.status}${a.body?.code ? ` ${String(a.body.code)}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

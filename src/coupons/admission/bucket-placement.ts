/**
 * Where a coupon's stock buckets live: the admission shard of each (bucket 0 is the coupon's own shard). On one
 * Redis any distinct shards do (the ones after the coupon's); on a cluster, `masterOf` names each shard's master
 * and the buckets are dealt round the masters, each next bucket on the master holding fewest of them so far, so
 * K buckets on K masters put one on each. Fixed at creation (kept in the coupon's `bsh`): a later resharding
 * moves slots, not buckets.
 */
export function placeBuckets(home: number, buckets: number, shards: number, masterOf?: (shard: number) => string): number[] {
  const candidates = Array.from({ length: shards - 1 }, (_, i) => (home + 1 + i) % shards);
  if (!masterOf) return [home, ...Array.from({ length: buckets - 1 }, (_, i) => candidates[i % candidates.length] ?? home)];
  const held = new Map<string, number>([[masterOf(home), 1]]);
  const placed = [home];
  for (let bucket = 1; bucket < buckets; bucket++) {
    if (candidates.length === 0) {
      placed.push(placed[bucket % shards]!);
      continue;
    }
    let best = 0;
    for (let i = 1; i < candidates.length; i++) {
      if ((held.get(masterOf(candidates[i]!)) ?? 0) < (held.get(masterOf(candidates[best]!)) ?? 0)) best = i;
    }
    const [shard] = candidates.splice(best, 1) as [number];
    held.set(masterOf(shard), (held.get(masterOf(shard)) ?? 0) + 1);
    placed.push(shard);
  }
  return placed;
}

import type { EventMeta } from './admission-results.ts';
import { bucketAllowListScript, stagedShare } from './bucket-scripts.ts';
import { keysOfBucket, type BucketLayout } from './keys.ts';
import type { ScriptRunner } from './script-runner.ts';

/** How long a share staged by a carry that died is kept: far longer than any carry takes. */
const STAGED_TTL_MS = 3_600_000;

/**
 * After bucket 0 put an allow-list in force or removed it (allow-list.lua): every other bucket behind that change
 * gets its share, the list's users whose home bucket it is (`home`), staged in the bucket's own slot and put in
 * force there in one step (bucket-allow-list.lua). The list in force in bucket 0 never changes in place, so a scan
 * that ends with bucket 0 still at the same change read all of it; one that does not leaves the buckets to the
 * newer change's carry. Run by the change and, should its process die first, by the relay before it sends it.
 */
export async function carryAllowList(runner: ScriptRunner, layout: BucketLayout, home: (userId: string) => number, meta: EventMeta, bounded: boolean): Promise<void> {
  const head = keysOfBucket(layout, 0);
  const others = layout.shards.map((_, b) => b).slice(1);
  const [ala, version, revision, entry] = await runner.reading((redis) => redis.hmget(head.coupon, 'ala', 'alav', 'alr', 'ale'));
  if (!revision || !entry) return;
  const held = await Promise.all(others.map((b) => runner.reading((redis) => redis.hget(keysOfBucket(layout, b).coupon, 'alr'))));
  const behind = others.filter((_, i) => Number(held[i] ?? 0) < Number(revision));
  if (behind.length === 0) return;
  if (ala) {
    const list = head.allowLists[ala === 'b' ? 1 : 0];
    let cursor = '0';
    do {
      const [next, members] = await runner.reading((redis) => redis.sscan(list, cursor, 'COUNT', 1000));
      cursor = next;
      const shares = new Map<number, string[]>();
      for (const userId of members) {
        const bucket = home(userId);
        if (!behind.includes(bucket)) continue;
        const share = shares.get(bucket);
        if (share) share.push(userId);
        else shares.set(bucket, [userId]);
      }
      await Promise.all([...shares].map(([bucket, ids]) => {
        const staged = stagedShare(layout, bucket, revision);
        return runner.reading((redis) => redis.multi().sadd(staged, ...ids).pexpire(staged, STAGED_TTL_MS).exec());
      }));
    } while (cursor !== '0');
    if ((await runner.reading((redis) => redis.hget(head.coupon, 'alr'))) !== revision) return;
  }
  await Promise.all(behind.map((b) => bucketAllowListScript(runner, layout, b, ala ? version! : null, revision, `${head.outbox}|${entry}`, meta, bounded)));
}

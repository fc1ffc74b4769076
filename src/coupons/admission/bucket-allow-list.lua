-- KEYS: bucket, allow-list a, allow-list b, staged share, outbox
-- ARGV: couponId, bucket, version ('' for the list removed), revision, gate (bucket 0's entry of the change),
--       eventId, meta, bounded ('1': refused past the outbox bound; the relay's is not, as it is what drains
--       outboxes), outboxMaxEntries (last)
-- Carries the allow-list bucket 0 put in force (or removed) to one other stock bucket: the staged share (the
-- list's users whose home bucket this is, written beforehand) goes in force in one step, only over an older
-- revision, and is announced in the bucket's own outbox (CouponAllowListReplaced with `bucket`, after bucket 0's
-- change), so the log puts each of its issues after the list it was decided by. Carried twice or late, the newest
-- revision stands. A bucket holding no stock yet keeps its share for its opening, even one whose opening is in flight
-- (bucket 0 gave it before this change, so the settings it opens with name no list of it); on a bucket lost with its
-- node the share stays without stock, which never makes the bucket again.
local held = tonumber(redis.call('HGET', KEYS[1], 'alr') or '0')
if tonumber(ARGV[4]) <= held then
  redis.call('DEL', KEYS[4])
  return {'HELD'}
end
if ARGV[8] == '1' and backlogged(KEYS[5], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local size, version = 0, cjson.null
if ARGV[3] == '' then
  redis.call('UNLINK', KEYS[2], KEYS[3], KEYS[4])
  -- '' rather than no field: a bucket opened later keeps it over the list its opening settings name.
  redis.call('HSET', KEYS[1], 'ala', '', 'alr', ARGV[4])
  redis.call('HDEL', KEYS[1], 'alav')
else
  -- Into the set not in force: `a` while `b` is, else `b`.
  local into, target, other = 'b', KEYS[3], KEYS[2]
  if redis.call('HGET', KEYS[1], 'ala') == 'b' then into, target, other = 'a', KEYS[2], KEYS[3] end
  if redis.call('EXISTS', KEYS[4]) == 1 then
    redis.call('RENAME', KEYS[4], target)
    redis.call('PERSIST', target)
  else
    redis.call('DEL', target)
  end
  redis.call('UNLINK', other)
  redis.call('HSET', KEYS[1], 'ala', into, 'alav', ARGV[3], 'alr', ARGV[4])
  size, version = redis.call('SCARD', target), tonumber(ARGV[3])
end
append(KEYS[5], 'CouponAllowListReplaced', ARGV[6], ARGV[1], now_ms(),
  cjson.encode({ version = version, size = size, revision = tonumber(ARGV[4]), bucket = tonumber(ARGV[2]) }), ARGV[7], '2', ARGV[5])
return {'TAKEN'}

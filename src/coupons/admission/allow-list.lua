-- KEYS: coupon, allow-list a, allow-list b, outbox
-- ARGV: operation, couponId, eventId, meta, then by operation, and outboxMaxEntries last:
--   begin  uploadId                -> {'BEGUN', version}
--   add    uploadId, version, ids… -> {'ADDED'}
--   commit uploadId, version       -> {'REPLACED', size}
--   remove                         -> {'REMOVED'}
-- An upload fills the set not in force (`alk`), a chunk at a time, each chunk one event; commit puts it in force
-- in one step, so admissions see the old list or the new one, never a part. A later upload supersedes one still
-- running (its chunks are refused). A commit sent again after it took effect answers the same.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'COUPON_NOT_FOUND'} end
local op, coupon_id, event_id, meta = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lists = { a = KEYS[2], b = KEYS[3] }
if op == 'begin' then
  local staging = 'a'
  if redis.call('HGET', KEYS[1], 'ala') == 'a' then staging = 'b' end
  redis.call('UNLINK', lists[staging])
  local version = redis.call('HINCRBY', KEYS[1], 'alv', 1)
  redis.call('HSET', KEYS[1], 'alu', ARGV[5], 'alk', staging)
  return {'BEGUN', tostring(version)}
end
if backlogged(KEYS[4], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
-- A coupon split into stock buckets: the change's revision and outbox entry (`alr`, `ale`), which the carry to the
-- other buckets takes with it (allow-list-carry.ts), and the revision in `cfg` (`alw`), so a bucket opened later
-- knows which list it must hold before it decides by one.
local function record_change(revision, entry)
  redis.call('HSET', KEYS[1], 'alr', revision, 'ale', entry)
  local cfg = redis.call('HGET', KEYS[1], 'cfg')
  if cfg then
    cfg = cjson.decode(cfg)
    cfg.alw = tostring(revision)
    redis.call('HSET', KEYS[1], 'cfg', cjson.encode(cfg))
  end
end
if op == 'remove' then
  redis.call('HDEL', KEYS[1], 'ala', 'alav', 'als', 'alu', 'alk')
  redis.call('UNLINK', KEYS[2], KEYS[3])
  local revision = next_revision(KEYS[1])
  local entry = append(KEYS[4], 'CouponAllowListReplaced', event_id, coupon_id, now_ms(), cjson.encode({ version = cjson.null, size = 0, revision = revision }), meta, '2')
  record_change(revision, entry)
  return {'REMOVED'}
end
local c = redis.call('HMGET', KEYS[1], 'alu', 'alk', 'alav', 'als')
if c[1] ~= ARGV[5] then
  if op == 'commit' and c[3] == ARGV[6] then return {'REPLACED', c[4]} end
  return {'UPLOAD_SUPERSEDED'}
end
local staging = lists[c[2]]
if op == 'add' then
  local ids = {}
  for i = 7, #ARGV - 1 do ids[#ids + 1] = ARGV[i] end
  for i = 1, #ids, 1000 do redis.call('SADD', staging, unpack(ids, i, math.min(i + 999, #ids))) end
  append(KEYS[4], 'CouponAllowListChunkAdded', event_id, coupon_id, now_ms(), cjson.encode({ version = tonumber(ARGV[6]), userIds = ids }), meta)
  return {'ADDED'}
end
local size = redis.call('SCARD', staging)
redis.call('HSET', KEYS[1], 'ala', c[2], 'alav', ARGV[6], 'als', size)
redis.call('HDEL', KEYS[1], 'alu', 'alk')
if c[2] == 'a' then redis.call('UNLINK', KEYS[3]) else redis.call('UNLINK', KEYS[2]) end
local revision = next_revision(KEYS[1])
local entry = append(KEYS[4], 'CouponAllowListReplaced', event_id, coupon_id, now_ms(), cjson.encode({ version = tonumber(ARGV[6]), size = size, revision = revision }), meta, '2')
record_change(revision, entry)
return {'REPLACED', tostring(size)}

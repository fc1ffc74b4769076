-- KEYS: bucket
-- ARGV: total (the coupon's total when the asker found every bucket empty)
-- A bucket's sold-out mark ('so', read against 'tk': bucket-reopen.lua), written only where the bucket is: a mark
-- arriving after its bucket was lost would otherwise make a key of its own, and a lost bucket 0 that Redis seems
-- to hold is never restored.
if redis.call('HEXISTS', KEYS[1], 'cfg') == 0 then return {'NO_BUCKET'} end
redis.call('HSET', KEYS[1], 'so', ARGV[1])
return {'MARKED'}

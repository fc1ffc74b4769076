-- KEYS: holders, used, holds (the coupon's, or the holder's stock bucket's)
-- ARGV: person, placeholder
-- A person erased (src/privacy): their holding of this coupon goes on under their placeholder, the name the log
-- now gives them, in their use and hold too (the orders stay: the order system's references, not the person's), so
-- admission keeps working for the coupon and a restore from the log puts back the same. 1 when they held it.
local seq = redis.call('HGET', KEYS[1], ARGV[1])
if not seq then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[2], seq)
for i = 2, 3 do
  local v = redis.call('HGET', KEYS[i], seq)
  if v and string.sub(v, 1, 1) == '{' then
    local r = cjson.decode(v)
    if r.u == ARGV[1] then r.u = ARGV[2] end
    redis.call('HSET', KEYS[i], seq, cjson.encode(r))
  end
end
return 1

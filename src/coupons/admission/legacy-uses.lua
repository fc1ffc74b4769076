-- KEYS: used
-- ARGV: triples sequence, the value read (a bare instant: a use recorded before cancellations), the value the log gives
-- Gives uses Redis recorded before cancellations the holder and order the log names, each only while it is
-- still the value read.
local n = 0
for i = 1, #ARGV, 3 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    n = n + 1
  end
end
return n

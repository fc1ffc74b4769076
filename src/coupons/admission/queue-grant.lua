-- KEYS: coupon, queue meta, line, passes, grants, outbox
-- ARGV: couponId, most (passes one call may grant), granted eventId, expired eventId, meta, outboxMaxEntries (last)
-- One step of the waiting room: passes that lapsed unused go back to stock (once, with an event), then the next
-- places in line get passes, no more in any one second than admitPerSecond and only while stock not already
-- promised to a live pass remains. Any number of processes may call it: each call is one atomic step.
local c = redis.call('HMGET', KEYS[1], 'st', 'tot', 'iss', 'is', 'ie', 'qr', 'qt')
if not c[6] then return {'COUPON_NOT_FOUND'} end
local now = now_ms()
local q = redis.call('HMGET', KEYS[2], 'hd', 'sdone')
local head = tonumber(q[1] or 0)
local state = room_state(c, q[2], now)
-- A call retried after no answer is a new step with new event ids (queue-scripts.ts): the first may have run too,
-- and both are steps the meter allows.
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 1000)
-- Refused before any write: a step either happens whole or not at all.
if (#lapsed > 0 or state == 'OPEN') and backlogged(KEYS[6], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
if #lapsed > 0 then
  redis.call('ZREM', KEYS[4], unpack(lapsed))
  append(KEYS[6], 'CouponPassesExpired', ARGV[4], ARGV[1], now, cjson.encode({ persons = lapsed }), ARGV[5])
end
local granted = 0
if state == 'OPEN' then
  -- A sliding second: grants older than one second no longer count.
  while true do
    local oldest = redis.call('LINDEX', KEYS[5], 0)
    if not oldest or tonumber(string.match(oldest, '^(%d+)')) > now - 1000 then break end
    redis.call('LPOP', KEYS[5])
  end
  local used = 0
  for _, g in ipairs(redis.call('LRANGE', KEYS[5], 0, -1)) do used = used + tonumber(string.match(g, ':(%d+)$')) end
  -- Passes lapsed past the 1,000 expired above hold no stock either: only live ones are counted.
  local live = redis.call('ZCOUNT', KEYS[4], '(' .. now, '+inf')
  local room = math.min(tonumber(c[6]) - used, tonumber(c[2]) - tonumber(c[3]) - live, tonumber(ARGV[2]))
  if room > 0 then
    local persons = redis.call('ZRANGE', KEYS[3], head, head + room - 1)
    if #persons > 0 then
      local expires = now + tonumber(c[7]) * 1000
      for _, person in ipairs(persons) do redis.call('ZADD', KEYS[4], expires, person) end
      redis.call('HSET', KEYS[2], 'hd', head + #persons)
      redis.call('RPUSH', KEYS[5], now .. ':' .. #persons)
      redis.call('PEXPIRE', KEYS[5], 2000)
      append(KEYS[6], 'CouponPassesGranted', ARGV[3], ARGV[1], now, cjson.encode({ persons = persons, from = head, expiresAtMs = expires }), ARGV[5])
      head = head + #persons
      granted = #persons
    end
  end
end
return {state, tostring(head), tostring(granted), tostring(redis.call('ZCARD', KEYS[3]))}

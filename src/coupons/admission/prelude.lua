-- Shared by every admission script. One clock for every API copy: the Redis server's.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The outbox entry is the event, written in the same atomic step as the decision it records.
local function append(outbox, event_type, event_id, coupon_id, at, data, meta)
  redis.call('XADD', outbox, '*', 't', event_type, 'e', event_id, 'c', coupon_id, 'at', at, 'd', data, 'm', meta)
end

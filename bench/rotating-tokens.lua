-- wrk script: every request carries the next user's token (a file of one token a line), and the status
-- codes are counted per thread and summed in done(), which prints one JSON line.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  method = args[2]
  i = id * math.floor(#tokens / 2)
  ok, conflict, client, server = 0, 0, 0, 0
end

function request()
  i = i + 1
  return wrk.format(method, nil, { ["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1] })
end

function response(status)
  if status < 300 then ok = ok + 1
  elseif status == 409 then conflict = conflict + 1
  elseif status < 500 then client = client + 1
  else server = server + 1 end
end

function done(summary, latency)
  local sum = { ok = 0, conflict = 0, client = 0, server = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(sum) do sum[k] = sum[k] + t:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"ok":%d,"conflict":%d,"client":%d,"server":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, sum.ok, sum.conflict, sum.client, sum.server))
end

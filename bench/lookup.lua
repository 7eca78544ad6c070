-- wrk script: GET registry lookups, cycling through the paths in a file.
--
-- Usage: wrk -s bench/lookup.lua URL -- FILE
-- FILE holds one request path per line (e.g. /lookup/bpp-17.ies.example/k1).
-- done() prints one line "BENCH {json}" with the counts and latency percentiles.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   paths = {}
   for line in io.lines(args[1]) do
      paths[#paths + 1] = wrk.format("GET", line)
   end
   ok, non200, index = 0, 0, math.random(#paths)
end

function request()
   index = index % #paths + 1
   return paths[index]
end

function response(status, headers, body)
   if status == 200 then ok = ok + 1 else non200 = non200 + 1 end
end

function done(summary, latency, requests)
   local total_ok, total_non200 = 0, 0
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_non200 = total_non200 + thread:get("non200")
   end
   io.write(string.format(
      'BENCH {"duration_us":%d,"ok":%d,"non200":%d,"p50_us":%d,"p99_us":%d}\n',
      summary.duration, total_ok, total_non200,
      latency:percentile(50), latency:percentile(99)))
end

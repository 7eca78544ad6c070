-- wrk script: replay pre-generated signed requests, never the same one twice.
--
-- Usage: wrk -s bench/replay.lua URL -- FILE THREADS PATH
-- FILE holds one request per line: "<Authorization value>\t<JSON body>".
-- Thread k keeps lines k, k+THREADS, k+2*THREADS, ... so no two threads share a
-- request; a thread that runs out wraps around and counts it in "wrapped" (the node
-- then answers the repeats with a duplicate-message NACK, counted as non-200).
-- done() prints one line "BENCH {json}" for bench/loadgen.py to parse.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads, path = args[1], tonumber(args[2]), args[3]
   requests = {}
   ok, non200, wrapped, index = 0, 0, 0, 0
   local line_no = 0
   for line in io.lines(file) do
      if line_no % nthreads == id then
         local tab = line:find("\t", 1, true)
         local headers = {
            ["Content-Type"] = "application/json",
            ["Authorization"] = line:sub(1, tab - 1),
         }
         requests[#requests + 1] = wrk.format("POST", path, headers, line:sub(tab + 1))
      end
      line_no = line_no + 1
   end
   loaded = #requests
end

function request()
   index = index + 1
   if index > #requests then
      index = 1
      wrapped = wrapped + 1
   end
   return requests[index]
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
   else
      non200 = non200 + 1
   end
end

function done(summary, latency, requests)
   local total_ok, total_non200, total_wrapped, total_loaded = 0, 0, 0, 0
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_non200 = total_non200 + thread:get("non200")
      total_wrapped = total_wrapped + thread:get("wrapped")
      total_loaded = total_loaded + thread:get("loaded")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"duration_us":%d,"requests":%d,"ok":%d,"non200":%d,"wrapped":%d,'
         .. '"loaded":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,'
         .. '"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
      summary.duration, summary.requests, total_ok, total_non200, total_wrapped,
      total_loaded, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max))
end

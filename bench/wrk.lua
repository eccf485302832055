-- wrk script for the benchmark: request from the environment, a one-line JSON summary at the end.
--   BENCH_METHOD   GET (default) or POST
--   BENCH_BODY     request body (the MCP tools/call JSON-RPC message)
--   BENCH_HEADERS  "Name: value" lines separated by newlines
--   BENCH_EXPECT   text every response body must contain (bodies without it count as "unexpected")
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
  wrk.body = body
end
for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^:\n]+):%s*([^\n]*)") do
  wrk.headers[name] = value
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local expect = os.getenv("BENCH_EXPECT")
unexpected = 0
if expect ~= nil and expect ~= "" then
  function response(status, headers, response_body)
    if not string.find(response_body, expect, 1, true) then
      unexpected = unexpected + 1
    end
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"unexpected":%d},"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end

-- wrk script: each connection alternates Present and CleanUp of its own
-- values against the embedded provider, so the store stays small and every
-- request does real work. Usage: wrk -s wrk_pair.lua https://HOST:PORT/
-- with WRK_GROUP set to the server's --group-name.
local group = os.getenv("WRK_GROUP") or "acme.dns01.demo"
local path = "/apis/" .. group .. "/v1alpha1/embedded"
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
function request()
  n = n + 1
  local action = (n % 2 == 1) and "Present" or "CleanUp"
  local key = "bench-" .. tid .. "-" .. math.floor((n + 1) / 2)
  local body = '{"request":{"uid":"bench","action":"' .. action ..
    '","type":"dns-01","dnsName":"www.demo.test","key":"' .. key ..
    '","resolvedFQDN":"_acme-challenge.www.demo.test.",' ..
    '"resolvedZone":"demo.test."}}'
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format("BENCH reqs=%d secs=%.3f rps=%.1f p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end

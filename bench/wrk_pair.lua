-- wrk script: Present+CleanUp pairs. Each wrk thread presents new values
-- and cleans up each one only after its Present has been answered (the
-- response echoes the request, key included), so every request does real
-- work and the number of values stays about the number of connections.
-- Values spread over WRK_NAMES names per thread, as Challenges for
-- different domains would; one name holding a value per connection would
-- run into per-name limits (the embedded store keeps 64 values per name,
-- BIND 9.18's max-records-per-type is 100) rather than measure anything.
-- Usage: wrk -s wrk_pair.lua https://HOST:PORT/, configured from the
-- environment (defaults: the embedded provider of `dns01 serve --demo`):
--   WRK_GROUP   the server's --group-name        (acme.dns01.demo)
--   WRK_SOLVER  embedded | rfc2136 | ...         (embedded)
--   WRK_DOMAIN  names are _acme-challenge.tTbB.WRK_DOMAIN  (www.demo.test.)
--   WRK_ZONE    resolvedZone                     (demo.test.)
--   WRK_NAMES   names per thread                 (8)
--   WRK_CONFIG  the solver's config, JSON        (none)
local group = os.getenv("WRK_GROUP") or "acme.dns01.demo"
local solver = os.getenv("WRK_SOLVER") or "embedded"
local domain = os.getenv("WRK_DOMAIN") or "www.demo.test."
local zone = os.getenv("WRK_ZONE") or "demo.test."
local names = tonumber(os.getenv("WRK_NAMES") or "8")
local config = os.getenv("WRK_CONFIG")
local path = "/apis/" .. group .. "/v1alpha1/" .. solver
local tail = '","resolvedZone":"' .. zone .. '","resourceNamespace":"default"' ..
  ((config and config ~= "") and (',"config":' .. config) or "") .. '}}'
local headers = {["Content-Type"] = "application/json"}
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0             -- values presented by this thread so far
local todo, first, last = {}, 1, 0  -- answered Presents, awaiting CleanUp

function request()
  local action, k
  if first <= last then
    k, todo[first], first = todo[first], nil, first + 1
    action = "CleanUp"
  else
    n = n + 1
    k, action = n, "Present"
  end
  local body = '{"request":{"uid":"bench","action":"' .. action ..
    '","type":"dns-01","key":"bench-' .. tid .. '-' .. k ..
    '","resolvedFQDN":"_acme-challenge.t' .. tid .. 'b' .. (k % names) .. '.' .. domain .. tail
  return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
  if body:match('"action":"(%a+)"') == "Present" then
    local k = body:match('"key":"bench%-%d+%-(%d+)"')
    if k then
      last = last + 1
      todo[last] = tonumber(k)
    end
  end
end

function done(summary, latency, requests)
  io.write(string.format("BENCH reqs=%d secs=%.3f rps=%.1f p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end

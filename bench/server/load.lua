-- wrk script for bench/server/load: rotates over entity reads and searches.
-- SPIRIT_LOAD_PATHS names a file of request paths (one per line), SPIRIT_LOAD_TOKEN the
-- API token. Prints p50/p99 latency and the error count in a parseable line.
local paths = {}
local token = os.getenv("SPIRIT_LOAD_TOKEN") or ""
local counter = 0

function init(args)
  local file = io.open(os.getenv("SPIRIT_LOAD_PATHS"), "r")
  for line in file:lines() do
    paths[#paths + 1] = line
  end
  file:close()
  -- Each thread starts at a different place in the list.
  counter = math.random(#paths)
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter], {
    ["Authorization"] = "Bearer " .. token,
    ["X-Purpose"] = "load test",
  })
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format(
    "SPIRIT_LOAD requests=%d seconds=%.1f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d timeouts=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    errors, summary.errors.status, summary.errors.timeout))
end

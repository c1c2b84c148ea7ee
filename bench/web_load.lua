-- wrk script for bench/bench_web.py: each wrk thread is one signed-in officer (its own session
-- cookie from the file named by COOKIES_FILE), and the run ends with one JSON line of figures.
-- THINK_MS > 0: each officer waits between half and one and a half times that before asking
-- for the next page (wrk leaves the wait out of the latency it measures).
local cookies = {}
for line in io.lines(os.getenv("COOKIES_FILE")) do
  cookies[#cookies + 1] = line
end
local think_ms = tonumber(os.getenv("THINK_MS") or "0") or 0
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("cookie", cookies[(counter - 1) % #cookies + 1])
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed or 1)
end

function request()
  return wrk.format("GET", nil, { ["Cookie"] = cookie })
end

function delay()
  if think_ms <= 0 then
    return 0
  end
  return math.floor(think_ms * (0.5 + math.random()))
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'JSON {"requests": %d, "errors": %d, "seconds": %.2f, "p50_ms": %.1f, "p95_ms": %.1f, '
      .. '"p99_ms": %.1f, "max_ms": %.1f}\n',
    summary.requests, errors, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end

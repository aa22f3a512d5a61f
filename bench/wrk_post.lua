-- POST one fixed, signed Slack request; BENCH_BODY and BENCH_HEADERS name the files holding it.
-- With BENCH_DELAY_MS set, each connection pauses that long between requests (a steady, lower rate).
wrk.method = "POST"
local body_file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = body_file:read("*a")
body_file:close()
for line in io.lines(os.getenv("BENCH_HEADERS")) do
  local name, value = line:match("^([^:]+): (.*)$")
  wrk.headers[name] = value
end

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay() return delay_ms end
end

function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors_status=%d errors_connect=%d errors_timeout=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max))
end

-- wrk script: POST a JSON body (WRK_BODY) and print one machine-readable RESULT line.
-- Headers other than Content-Type come from wrk's -H flags.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"

-- WRK_DELAY_MS paces each connection: after each answer it waits a random 0 .. 2 x WRK_DELAY_MS
-- ms (WRK_DELAY_MS on average) before sending the next request, so C connections offer about
-- C * 1000 / WRK_DELAY_MS requests per second (run.sh's RATE) at random moments; a fixed wait
-- would keep the connections in step and offer the load in bursts of C. Latency is still
-- measured from send to answer, without the wait.
local pace = tonumber(os.getenv("WRK_DELAY_MS") or "")
if pace and pace > 0 then
  function setup(thread) thread:set("seed", math.random(1, 2 ^ 30)) end
  function init(args) math.randomseed(seed or os.time()) end
  function delay() return math.random(0, 2 * pace) end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.2f p50_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f max_us=%.1f " ..
    "requests=%d duration_us=%d socket_errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status))
end

-- wrk script: POST a JSON body (WRK_BODY) and print one machine-readable RESULT line.
-- Headers other than Content-Type come from wrk's -H flags.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"

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

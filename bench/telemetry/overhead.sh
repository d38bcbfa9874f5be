#!/usr/bin/env bash
# Telemetry's cost in the gateway: bench/gateway_overhead/run.sh with the request log and
# /metrics on, then off, alternating for ROUNDS rounds (so drift on a shared machine hits both
# sides alike), and one table of the medians of each side and the difference.
#
#   bench/telemetry/overhead.sh          # ROUNDS=3; c=1 and c=16; chat (JSON) and stream
#   COMPARE=traces bench/telemetry/overhead.sh   # OTLP traces on vs off (telemetry on in both;
#                                               # every request sampled, spans to nginx)
#
# Environment: ROUNDS [3], CONCURRENCY [1 16], KINDS [chat stream], DURATION [5], WARMUP [1],
# SWITCHYARD_BIN, RATE (as run.sh). The p50 difference at c=1 is the latency telemetry adds to
# one request; the RPS columns show the rate each side sustained; the CPU columns are the
# gateway's CPU time per request, all threads (the request-log writer included).
#
#   RATE=5000 CONCURRENCY=50 bench/telemetry/overhead.sh   # issue 7's "cost at 5,000 requests/s":
#                                                          # 50 connections, each paced to 100/s
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-3}
COMPARE=${COMPARE:-telemetry}  # telemetry | traces
[[ $COMPARE == telemetry || $COMPARE == traces ]] ||
  { echo "telemetry bench: COMPARE is telemetry or traces" >&2; exit 1; }
export CONCURRENCY=${CONCURRENCY:-1 16}
export KINDS=${KINDS:-chat stream}
export DURATION=${DURATION:-5}
export WARMUP=${WARMUP:-1}
export TARGETS=switchyard PORTKEY=0

TMP=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-telemetry-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
: >"$TMP/all.txt"

for ((r = 1; r <= ROUNDS; r++)); do
  for side in on off; do
    echo "telemetry bench: round $r/$ROUNDS, $COMPARE $side" >&2
    if [[ $COMPARE == traces ]]; then
      SWITCHYARD_TRACES=$side RAW="$TMP/raw.$side.$r" "$HERE/../gateway_overhead/run.sh" \
        >/dev/null
    else
      SWITCHYARD_TELEMETRY=$side RAW="$TMP/raw.$side.$r" "$HERE/../gateway_overhead/run.sh" \
        >/dev/null
    fi
    sed "s/^/$side /" "$TMP/raw.$side.$r" >>"$TMP/all.txt"
  done
done

if [[ $COMPARE == traces ]]; then
  echo "## Traces on vs off, telemetry on in both (median of $ROUNDS alternating rounds)"
else
  echo "## Telemetry on vs off (median of $ROUNDS alternating rounds)"
fi
echo
echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
  "$(date -u +%Y-%m-%dT%H:%MZ). Each run ${DURATION} s after ${WARMUP} s warm-up; wrk, nginx" \
  "and the gateway share the cores."
echo
echo "| kind | c | RPS on | RPS off | p50 on | p50 off | p50 added | p99 on | p99 off | CPU/request on | CPU/request off | CPU added |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
awk '
  function kv(s, k) { if (match(s, k "=[^ ]*")) return substr(s, RSTART + length(k) + 1, RLENGTH - length(k) - 1) + 0; return 0 }
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { key = $2 " " $3; side = $1
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    p50[key, side] = p50[key, side] " " kv($0, "p50_us")
    p99[key, side] = p99[key, side] " " kv($0, "p99_us")
    rps[key, side] = rps[key, side] " " kv($0, "rps")
    cpu[key, side] = cpu[key, side] " " kv($0, "cpu_us") }
  END {
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, kc, " ")
      a = median(p50[k, "on"]); b = median(p50[k, "off"])
      c1 = median(cpu[k, "on"]); c0 = median(cpu[k, "off"])
      printf "| %s | %s | %.0f | %.0f | %.1f µs | %.1f µs | %+.1f µs | %.1f µs | %.1f µs | %.2f µs | %.2f µs | %+.2f µs |\n",
        kc[1], kc[2], median(rps[k, "on"]), median(rps[k, "off"]), a, b, a - b,
        median(p99[k, "on"]), median(p99[k, "off"]), c1, c0, c1 - c0
    }
  }' "$TMP/all.txt"
echo
echo "p50 per run (µs), in order: $(awk '{ for (i = 4; i <= NF; i++) if ($i ~ /^p50_us=/) printf "%s/%s/c%s=%s ", $1, $2, $3, substr($i, 8) }' "$TMP/all.txt")"

#!/usr/bin/env bash
# Before/after for telemetry's cost: two switchyard binaries (BASE_BIN, NEW_BIN), each with the
# request log and /metrics on and off, measured in alternating rounds (base on, base off, new
# on, new off, ...) so that drift on a shared machine hits all four alike. Prints one table of
# medians: p50/p99 at c=1 and RPS at c=64, and what telemetry adds for each binary; then, with
# CALLGRIND=1, instructions per request under callgrind (one worker, all threads) for each of
# the four, which a busy machine does not disturb.
#
#   BASE_BIN=/tmp/base/switchyard NEW_BIN=build/release/bin/switchyard bench/telemetry/compare.sh
#
# Environment: ROUNDS [3], KINDS [chat stream], DURATION [5], WARMUP [1], CALLGRIND [1],
# CALLGRIND_REQUESTS [2000], SWITCHYARD_WORKERS [0 = one per core].
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${BASE_BIN:?BASE_BIN: the binary before the change}"
: "${NEW_BIN:?NEW_BIN: the binary after the change}"
ROUNDS=${ROUNDS:-3}
CALLGRIND=${CALLGRIND:-1}
export KINDS=${KINDS:-chat stream}
export DURATION=${DURATION:-5}
export WARMUP=${WARMUP:-1}
export CONCURRENCY="1 64"
export TARGETS=switchyard PORTKEY=0

# run.sh, once more if it fails to start (a port taken between the check and the bind).
run() { "$HERE/../gateway_overhead/run.sh" || "$HERE/../gateway_overhead/run.sh"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-telemetry-compare.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
: >"$TMP/all.txt"
: >"$TMP/log.txt"

for ((r = 1; r <= ROUNDS; r++)); do
  for bin in base new; do
    path=$BASE_BIN
    [[ $bin == new ]] && path=$NEW_BIN
    for side in on off; do
      echo "telemetry compare: round $r/$ROUNDS, $bin, telemetry $side" >&2
      SWITCHYARD_BIN=$path SWITCHYARD_TELEMETRY=$side RAW="$TMP/raw" METRICS_OUT="$TMP/metrics" \
        run >/dev/null
      sed "s/^/$bin-$side /" "$TMP/raw" >>"$TMP/all.txt"
      if [[ $side == on && -s $TMP/metrics ]]; then
        echo "round $r $bin: $(grep -E 'rows_(written|dropped)_total' "$TMP/metrics" | tr '\n' ' ')" \
          >>"$TMP/log.txt"
      fi
    done
  done
done

echo "## Telemetry on vs off, before (base) and after (new): medians of $ROUNDS alternating rounds"
echo
echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
  "$(date -u +%Y-%m-%dT%H:%MZ). Each run ${DURATION} s after ${WARMUP} s warm-up; wrk, nginx" \
  "and the gateway share the cores. Base: $BASE_BIN; new: $NEW_BIN."
echo
echo "| kind | c | metric | base off | base on | base added | new off | new on | new added |"
echo "|---|---|---|---|---|---|---|---|---|"
awk '
  function kv(s, k) { if (match(s, k "=[^ ]*")) return substr(s, RSTART + length(k) + 1, RLENGTH - length(k) - 1) + 0; return 0 }
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return 0
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { key = $2 " " $3
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    v[key, $1, "p50"] = v[key, $1, "p50"] " " kv($0, "p50_us")
    v[key, $1, "p99"] = v[key, $1, "p99"] " " kv($0, "p99_us")
    v[key, $1, "rps"] = v[key, $1, "rps"] " " kv($0, "rps") }
  function row(k, m, label, unit,   kc, bo, bn, no, nn) {
    split(k, kc, " ")
    bo = median(v[k, "base-off", m]); bn = median(v[k, "base-on", m])
    no = median(v[k, "new-off", m]); nn = median(v[k, "new-on", m])
    printf "| %s | %s | %s | %.0f | %.0f | %+.0f%s | %.0f | %.0f | %+.0f%s |\n", kc[1], kc[2], label,
      bo, bn, bn - bo, unit, no, nn, nn - no, unit
  }
  END {
    for (i = 1; i <= n; i++) {
      split(order[i], kc, " ")
      if (kc[2] == 1) { row(order[i], "p50", "p50 µs", " µs"); row(order[i], "p99", "p99 µs", " µs") }
      else row(order[i], "rps", "RPS", "")
    }
  }' "$TMP/all.txt"
echo
echo "Request log after each telemetry-on run (all requests of the run, warm-ups included):"
echo
sed 's/^/- /' "$TMP/log.txt"

if [[ $CALLGRIND == 1 ]]; then
  echo
  echo "### Instructions per request (callgrind, one worker, all threads, ${CALLGRIND_REQUESTS:-2000} sequential requests after warm-up)"
  echo
  echo "| kind | base off | base on | base added | new off | new on | new added |"
  echo "|---|---|---|---|---|---|---|"
  declare -A IR
  for bin in base new; do
    path=$BASE_BIN
    [[ $bin == new ]] && path=$NEW_BIN
    for side in on off; do
      echo "telemetry compare: callgrind, $bin, telemetry $side" >&2
      MODE=callgrind SWITCHYARD_BIN=$path SWITCHYARD_TELEMETRY=$side OUT="$TMP/cg.md" \
        run >/dev/null
      while read -r kind per; do IR[$bin-$side-$kind]=$per; done < <(
        awk -F'|' '/^\| (chat|stream|messages)/ { gsub(/ /, "", $2); gsub(/ /, "", $5); print $2, $5 }' "$TMP/cg.md")
    done
  done
  for kind in $KINDS; do
    bo=${IR[base-off-$kind]:-0} bn=${IR[base-on-$kind]:-0} no=${IR[new-off-$kind]:-0} nn=${IR[new-on-$kind]:-0}
    echo "| $kind | $bo | $bn | $((bn - bo)) | $no | $nn | $((nn - no)) |"
  done
fi

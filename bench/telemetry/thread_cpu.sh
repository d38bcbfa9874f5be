#!/usr/bin/env bash
# CPU time per thread of a running process over an interval, summed by thread name (the
# gateway names its threads: sy-io-N, sy-log-writer, sy-log-catchup, sy-otlp, ...), from
# /proc/PID/task/*/schedstat (nanoseconds on the CPU).
#
#   bench/telemetry/thread_cpu.sh PID [SECONDS=5]
#
# Divide a thread's milliseconds by the requests served in the interval for its cost per
# request (the request-log writer's per row).
set -euo pipefail
pid=${1:?usage: thread_cpu.sh PID [SECONDS]}
secs=${2:-5}
[[ -d /proc/$pid/task ]] || { echo "thread_cpu: no process $pid" >&2; exit 1; }
snapshot() {
  local t name ns
  for t in /proc/"$pid"/task/*; do
    name=$(tr ' ' _ <"$t/comm" 2>/dev/null) || continue
    ns=$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null) || continue
    echo "$name $ns"
  done | awk '{ s[$1] += $2 } END { for (k in s) print k, s[k] }' | sort
}
before=$(snapshot)
sleep "$secs"
after=$(snapshot)
echo "thread CPU over ${secs}s (pid $pid):"
join <(echo "$before") <(echo "$after") |
  awk '{ printf "  %-16s %9.1f ms\n", $1, ($3 - $2) / 1e6 }'

#!/bin/bash
# Guard scan throughput, two builds side by side in one run: CPU-time medians of BM_Scan on one
# core, taken alternately (A, B, A, B, ...) so that load from other processes hits both alike,
# and instructions per MB inside Detector::scan from callgrind (robust to that noise; needs
# valgrind). Usage:
#   bench/guard/ab.sh BEFORE_GUARD_BENCH AFTER_GUARD_BENCH [ROUNDS]
# e.g. build the old commit's guard_bench into /tmp/guard_bench_before first:
#   git worktree add /tmp/guard-before <commit> && cd /tmp/guard-before && mkdir -p build &&
#   cp <repo>/build/llama-dir build/ && cmake --preset release >/dev/null &&
#   cmake --build --preset release --target guard_bench && cp build/release/bin/guard_bench /tmp/guard_bench_before
set -euo pipefail
a=${1:?before binary}
b=${2:?after binary}
rounds=${3:-5}
filter='BM_Scan/|BM_ScanRedact'
cpu=${CPU:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for ((r = 0; r < rounds; r++)); do
  for side in a b; do
    bin=${!side}
    taskset -c "$cpu" "$bin" --benchmark_filter="$filter" --benchmark_format=json \
      >"$tmp/$side.$r.json" 2>/dev/null
  done
done

python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
for side in "ab":
    for r in range(rounds):
        for bm in json.load(open(f"{tmp}/{side}.{r}.json"))["benchmarks"]:
            rows.setdefault(bm["name"], {"a": [], "b": []})[side].append(
                (bm["cpu_time"], bm.get("bytes_per_second", 0)))
print(f"{'benchmark':42} {'before µs':>10} {'MB/s':>7} {'after µs':>10} {'MB/s':>7} {'speed-up':>8}")
for name, v in rows.items():
    ta = statistics.median(t for t, _ in v["a"]) / 1000
    tb = statistics.median(t for t, _ in v["b"]) / 1000
    ba = statistics.median(x for _, x in v["a"]) / 1e6
    bb = statistics.median(x for _, x in v["b"]) / 1e6
    print(f"{name:42} {ta:10.2f} {ba:7.0f} {tb:10.2f} {bb:7.0f} {ta / tb:7.2f}x")
PY

if command -v valgrind >/dev/null; then
  echo
  echo "instructions inside Detector::scan (callgrind), per 4 KB scan and per MB:"
  for side in a b; do
    bin=${!side}
    for f in 'BM_Scan/entities:1/bytes:4096$' 'BM_Scan/entities:0/bytes:4096$'; do
      valgrind --tool=callgrind --toggle-collect='switchyard::guard::Detector::scan*' \
        --callgrind-out-file="$tmp/cg.out" "$bin" --benchmark_filter="$f" \
        --benchmark_min_time=3 >/dev/null 2>"$tmp/cg.err"
      id=$(grep -m1 -o "^c\?fn=([0-9]*) switchyard::guard::Detector::scan" "$tmp/cg.out" |
           grep -o "([0-9]*)")
      calls=$(awk -v id="cfn=$id" 'index($0, id) == 1 { getline; if ($0 ~ /^calls=/) {
                split($0, a, "[= ]"); s += a[2] } } END { print s }' "$tmp/cg.out")
      ir=$(grep -m1 "^summary:\|^totals:" "$tmp/cg.out" | awk '{print $2}')
      python3 -c "print(f'{\"$side\"} {\"$f\":36} {$ir / $calls:12.0f} instr/scan {$ir / ($calls * 4096):8.1f} instr/byte = {$ir / ($calls * 4096):.1f} M instr/MB')"
    done
  done
fi

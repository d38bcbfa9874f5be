#!/usr/bin/env bash
# One fuzz target as a test: replays every seed, then RUNS mutated inputs from a fixed random
# seed, so the run is the same on every machine. New inputs go to WORKDIR (emptied first), never
# into the seed directories; a failing input is left in WORKDIR as crash-* (or leak-*, ...).
#   run_one.sh FUZZER RUNS MAX_LEN WORKDIR SEED_DIR...
set -euo pipefail
fuzzer=$1 runs=$2 max_len=$3 work=$4
shift 4
rm -rf "$work"
mkdir -p "$work/corpus"
seeds=()
for dir in "$@"; do [[ -d $dir ]] && seeds+=("$dir"); done
cd "$work"
exec "$fuzzer" -runs="$runs" -seed=1 -max_len="$max_len" -timeout=30 -rss_limit_mb=4096 \
  -print_final_stats=1 -artifact_prefix="$work/" corpus "${seeds[@]}"

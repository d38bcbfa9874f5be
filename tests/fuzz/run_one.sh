#!/usr/bin/env bash
# One fuzz target as a test: replays every seed, then RUNS mutated inputs from a fixed random
# seed, so the run is the same on every machine. New inputs go to WORKDIR (emptied first), never
# into the seed directories; a failing input is left in WORKDIR as crash-* (or leak-*, ...).
# DICT is a libFuzzer dictionary, or "-" for none.
#   run_one.sh FUZZER RUNS MAX_LEN WORKDIR DICT SEED_DIR...
set -euo pipefail
fuzzer=$1 runs=$2 max_len=$3 work=$4 dict=$5
shift 5
rm -rf "$work"
mkdir -p "$work/corpus"
seeds=()
for dir in "$@"; do [[ -d $dir ]] && seeds+=("$dir"); done
options=()
[[ $dict == - ]] || options+=(-dict="$dict")
cd "$work"
exec "$fuzzer" -runs="$runs" -seed=1 -max_len="$max_len" -timeout=30 -rss_limit_mb=4096 \
  -print_final_stats=1 -artifact_prefix="$work/" "${options[@]}" corpus "${seeds[@]}"

#!/usr/bin/env bash
# A fuzzing campaign: each target for SECONDS (default 300), one after another, growing a corpus
# kept between runs under build/fuzz/corpus/NAME (seeded from the same directories as its test).
# A failing input is saved as build/fuzz/findings/NAME/crash-* (or leak-*, timeout-*, oom-*);
# reproduce it with `build/fuzz/tests/fuzz/NAME_fuzz FILE`. Exits 1 when any target failed.
#
#   tests/fuzz/run.sh [SECONDS] [NAME...]      e.g. tests/fuzz/run.sh 600 client_requests
# Environment: JOBS [1] parallel fuzzing processes per target (libFuzzer -fork).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-300}
shift || true
build=$root/build/fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

# Each target's seed directories, from its ctest entry
# (run_one.sh FUZZER RUNS MAX_LEN WORK DICT SEEDS...).
declare -A seeds max_len dict
while IFS= read -r line; do
  name=$(sed -E 's/^([a-z_]+)_fuzz .*/\1/' <<<"$line")
  read -r -a args <<<"${line#* }"
  max_len[$name]=${args[3]}
  dict[$name]=${args[5]}
  dirs=()
  for dir in "${args[@]:6}"; do [[ -d $dir ]] && dirs+=("$dir"); done
  seeds[$name]="${dirs[*]}"
done < <(ctest --test-dir "$build" -L fuzz --show-only=json-v1 | node -e '
  const t = JSON.parse(require("fs").readFileSync(0)).tests;
  for (const x of t) console.log(x.name + " " + x.command.join(" "));')

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=($(printf '%s\n' "${!seeds[@]}" | sort))
failed=()
for name in "${names[@]}"; do
  [[ -n ${seeds[$name]+x} ]] || { echo "run.sh: no fuzz target '$name' (have: ${!seeds[*]})" >&2; exit 2; }
  corpus=$build/corpus/$name findings=$build/findings/$name
  mkdir -p "$corpus" "$findings"
  echo "== $name: ${seconds}s, corpus $corpus"
  options=()
  [[ ${dict[$name]} == - ]] || options+=(-dict="${dict[$name]}")
  # shellcheck disable=SC2086
  if ! "$build/tests/fuzz/${name}_fuzz" -max_total_time="$seconds" -max_len="${max_len[$name]}" \
      -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$findings/" \
      ${JOBS:+-fork=$JOBS} "${options[@]}" "$corpus" ${seeds[$name]} 2>"$build/$name.log"; then
    failed+=("$name")
    grep -E "property failed|ERROR|SUMMARY" "$build/$name.log" | head -5
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added)|cov:" "$build/$name.log" | tail -3
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run.sh: failures in ${failed[*]}; inputs in $build/findings/" >&2
  exit 1
fi
echo "run.sh: no failures"

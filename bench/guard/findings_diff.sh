#!/bin/bash
# Do two builds of the guard find exactly the same things? Builds findings_dump.cc against each
# tree's sy_guard (its release build must exist: cmake --build --preset release --target
# guard_test), scans generated mixed texts (mixed_texts.py) with both and compares the findings.
# Usage: bench/guard/findings_diff.sh BEFORE_TREE AFTER_TREE [SEEDS]   e.g.
#   bench/guard/findings_diff.sh /tmp/guard-before . "1 2"
set -euo pipefail
before=$(cd "${1:?before tree}" && pwd)
after=$(cd "${2:?after tree}" && pwd)
seeds=${3:-1 2}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for side in before after; do
  root=${!side}
  lib=$root/build/release/src/switchyard
  g++ -std=c++23 -O2 -I"$root/src" "$here/findings_dump.cc" "$lib/guard/libsy_guard.a" \
    "$lib/core/libsy_core.a" $(pkg-config --libs re2) -o "$tmp/dump_$side"
done
status=0
for seed in $seeds; do
  python3 "$here/mixed_texts.py" "$seed" "$after" >"$tmp/in.bin"
  "$tmp/dump_before" "$tmp/in.bin" >"$tmp/before.txt" 2>/dev/null
  "$tmp/dump_after" "$tmp/in.bin" >"$tmp/after.txt" 2>/dev/null
  if cmp -s "$tmp/before.txt" "$tmp/after.txt"; then
    echo "seed $seed: same $(wc -l <"$tmp/after.txt") findings"
  else
    echo "seed $seed: findings differ:"
    diff "$tmp/before.txt" "$tmp/after.txt" | head -20
    status=1
  fi
done
exit $status

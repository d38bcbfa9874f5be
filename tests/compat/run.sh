#!/usr/bin/env bash
# OpenAI SDK compatibility tests against the switchyard binary.
#   SWITCHYARD_BIN=/path/to/switchyard tests/compat/run.sh [node --test args...]
#   COMPAT_DIRECT=1 tests/compat/run.sh     # against the fake upstream alone (no gateway)
# Installs the pinned packages (npm ci) only when node_modules is missing or the lock changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

export SWITCHYARD_BIN=${SWITCHYARD_BIN:-$PWD/../../build/release/bin/switchyard}
if [[ ${COMPAT_DIRECT:-0} != 1 && ! -x $SWITCHYARD_BIN ]]; then
  echo "tests/compat: no switchyard binary at $SWITCHYARD_BIN (make build, or set SWITCHYARD_BIN)" >&2
  exit 1
fi
# Each test file starts its own fake upstream and gateway; files run one after another.
if [[ $# -eq 0 ]]; then set -- ./*.test.mjs; fi
exec node --test --test-concurrency=1 --test-timeout=120000 "$@"

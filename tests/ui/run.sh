#!/usr/bin/env bash
# The dashboard in a real browser: Debian's Chromium driven by playwright-core.
#   SWITCHYARD_BIN=/path/to/switchyard tests/ui/run.sh [node --test args...]
#   UI_VERBOSE=1      echo the gateway's log
#   CHROMIUM=/path    browser binary (default: chromium on PATH)
# Installs the pinned package (npm ci) only when node_modules is missing or the lock changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

export SWITCHYARD_BIN=${SWITCHYARD_BIN:-$PWD/../../build/release/bin/switchyard}
if [[ ! -x $SWITCHYARD_BIN ]]; then
  echo "tests/ui: no switchyard binary at $SWITCHYARD_BIN (make build, or set SWITCHYARD_BIN)" >&2
  exit 1
fi
export CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z $CHROMIUM ]]; then
  echo "tests/ui: Chromium is not installed (scripts/bootstrap installs Debian's chromium)" >&2
  exit 1
fi
if [[ $# -eq 0 ]]; then set -- ./*.test.mjs; fi
exec node --test --test-concurrency=1 --test-timeout=300000 "$@"

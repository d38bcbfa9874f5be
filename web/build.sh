#!/usr/bin/env bash
# Builds the dashboard bundle (index.html, app.js, app.css) into OUT_DIR with esbuild.
#   web/build.sh OUT_DIR      install the pinned packages if needed, then bundle
#   web/build.sh --deps-only  only install the pinned packages (scripts/bootstrap runs this)
# Packages come from package-lock.json with `npm ci --ignore-scripts` (esbuild's platform binary
# is an optional dependency and needs no install script); they are reinstalled only when
# node_modules is missing or the lock changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "web: installing the dashboard's npm packages (npm ci --ignore-scripts)" >&2
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
fi
if [[ ${1:-} == --deps-only ]]; then exit 0; fi
if [[ $# -ne 1 ]]; then
  echo "usage: web/build.sh OUT_DIR | --deps-only" >&2
  exit 2
fi
exec node build.mjs "$1"

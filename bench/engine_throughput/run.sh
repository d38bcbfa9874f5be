#!/usr/bin/env bash
# Engine throughput: switchyard's in-process engine against llama-server built from the same
# llama.cpp source, on the same model file with the same threads, context and parallel slots.
# llama-server gets -kvu (one KV pool shared by all slots, as the engine does). The servers run one at a time (never both loaded), alternating, ROUNDS times; medians reported.
#
#   bench/engine_throughput/run.sh            # or: make bench-engine
# Environment (defaults in brackets):
#   SWITCHYARD_BIN [build/release/bin/switchyard]   THREADS [2]   PARALLEL [8]   CTX [8192]
#   QUANTS [q8_0 q4_0]   ROUNDS [2]   TOKENS [128] (single)   CTOKENS [64] (per concurrent stream)
#   SYSTEM [300] words of a system prompt all concurrent streams share (the second concurrent row)
#   OMP_WAIT_POLICY [PASSIVE] for both servers (unset it, OMP_WAIT_POLICY=, for libgomp's default
#   spin-then-sleep, which decodes faster on a machine with nothing else to run)
#   MODEL_DIR [~/.cache/switchyard/bench-models]   OUT  also write the markdown table here
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${SWITCHYARD_BIN:-$ROOT/build/release/bin/switchyard}
THREADS=${THREADS:-2}; PARALLEL=${PARALLEL:-8}; CTX=${CTX:-8192}
QUANTS=${QUANTS:-q8_0 q4_0}; ROUNDS=${ROUNDS:-2}; TOKENS=${TOKENS:-128}; CTOKENS=${CTOKENS:-64}
SYSTEM=${SYSTEM:-300}
MODEL_DIR=${MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/bench-models}
# Both servers: no spinning threads between requests (an empty value: libgomp's default).
if [[ -z ${OMP_WAIT_POLICY+set} ]]; then export OMP_WAIT_POLICY=PASSIVE
elif [[ -z $OMP_WAIT_POLICY ]]; then unset OMP_WAIT_POLICY; fi

llama_dir=$("$ROOT/scripts/bootstrap" --with-llama-tools --print-llama-dir)
LLAMA_SERVER=$(find "$llama_dir/build" -name llama-server -type f -perm -u+x | head -1)
[[ -x $LLAMA_SERVER ]] || { echo "llama-server not found under $llama_dir/build" >&2; exit 1; }
[[ -x $BIN ]] || { echo "no switchyard binary at $BIN (make build)" >&2; exit 1; }

tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$MODEL_DIR"
port=$((20000 + RANDOM % 20000))

wait_ready() {  # url
  for _ in $(seq 1 600); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "server at $1 did not come up" >&2; return 1
}

run_scenarios() {  # name base_url model -> appends JSON lines to $tmp/results
  local name=$1 url=$2 model=$3 q=$4
  for sc in "single TOKENS=$TOKENS" "concurrent STREAMS=$PARALLEL TOKENS=$CTOKENS" \
      "concurrent STREAMS=$PARALLEL TOKENS=$CTOKENS SYSTEM=$SYSTEM" "prefix PROMPT=2000 SHARED=1500"; do
    node "$HERE/load.mjs" "$url" "$model" $sc | sed "s/^{/{\"server\":\"$name\",\"quant\":\"$q\",/" >>"$tmp/results"
  done
}

for q in $QUANTS; do
  # -r2: made without llama.cpp's optional per-matrix scales (2026-11-29); older files had them.
  model="$MODEL_DIR/qwen2-0.5b-shape-$q-r2.gguf"
  [[ -f $model ]] || "$BIN" models make-tiny --preset plain --shape qwen2-0.5b --quantize "$q" --out "$model"
  for round in $(seq 1 "$ROUNDS"); do
    order="llama-server switchyard"; ((round % 2 == 0)) && order="switchyard llama-server"
    for server in $order; do
      port=$((port + 1))
      if [[ $server == llama-server ]]; then
        "$LLAMA_SERVER" -m "$model" -t "$THREADS" -tb "$THREADS" -c "$CTX" -np "$PARALLEL" -kvu \
          --port "$port" --host 127.0.0.1 -a bench >"$tmp/llama-server.log" 2>&1 &
        wait_ready "http://127.0.0.1:$port/health"
      else
        cat >"$tmp/sy.yaml" <<YAML
server: { listen: 127.0.0.1:$port }
log: { level: warn, access_log: false }
providers:
  - name: local
    kind: local
    threads: $THREADS
    models:
      - { name: bench, path: $model, context: $CTX, parallel: $PARALLEL, preload: true }
YAML
        "$BIN" serve --config "$tmp/sy.yaml" >"$tmp/switchyard.log" 2>&1 &
        wait_ready "http://127.0.0.1:$port/readyz"
      fi
      pid=$!
      echo "engine bench: $q round $round $server" >&2
      run_scenarios "$server" "http://127.0.0.1:$port/v1" bench "$q"
      kill "$pid"; wait "$pid" 2>/dev/null || true
    done
  done
done

node - "$tmp/results" "$THREADS" "$PARALLEL" "$CTX" <<'JS' | tee ${OUT:-/dev/null}
const fs = require('fs');
const [file, threads, parallel, ctx] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pick = (server, quant, scenario, key) => median(rows.filter((r) => r.server === server &&
  r.quant === quant && r.scenario === scenario).map((r) => r[key]));
const f = (x, d = 1) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(d));
console.log(`threads ${threads}, parallel ${parallel}, context ${ctx}; medians of the rounds\n`);
console.log('| model | metric | llama-server | switchyard | ratio |');
console.log('|---|---|---|---|---|');
for (const q of [...new Set(rows.map((r) => r.quant))]) {
  const line = (label, sc, key, d, inverse) => {
    const a = pick('llama-server', q, sc, key); const b = pick('switchyard', q, sc, key);
    console.log(`| ${q} | ${label} | ${f(a, d)} | ${f(b, d)} | ${f(inverse ? a / b : b / a, 2)}× |`);
  };
  line('1 stream decode tok/s', 'single', 'decode_tok_s', 1);
  line(`${parallel} streams aggregate tok/s`, 'concurrent', 'aggregate_tok_s', 1);
  line(`${parallel} streams sharing a system prompt, aggregate tok/s`, 'concurrent-system',
    'aggregate_tok_s', 1);
  line(`${parallel} streams sharing a system prompt, median TTFT ms`, 'concurrent-system',
    'ttft_ms_median', 0, true);
  line('TTFT cold 2000-token prompt, ms', 'prefix', 'cold_ttft_ms', 0, true);
  line('TTFT 1500 of 2000 tokens seen before, ms', 'prefix', 'warm_ttft_ms', 0, true);
  const sy = pick('switchyard', q, 'prefix', 'cold_ttft_ms') / pick('switchyard', q, 'prefix', 'warm_ttft_ms');
  console.log(`| ${q} | switchyard TTFT cold / warm | | ${f(sy, 2)}× | |`);
}
JS

#!/usr/bin/env bash
# Gateway overhead: wrk against an nginx stub upstream directly, through switchyard and through
# the Portkey gateway (npm, pinned in package.json), all on 127.0.0.1. Prints a markdown table
# of RPS and p50/p99 latency with what each gateway adds over the direct path.
#
#   bench/gateway_overhead/run.sh                      # overhead table
#   MODE=rss REQUESTS=1000000 bench/gateway_overhead/run.sh   # switchyard RSS growth check
#   MODE=callgrind bench/gateway_overhead/run.sh       # instructions per request (valgrind)
#
# Environment (defaults in brackets):
#   SWITCHYARD_BIN  [../../build/release/bin/switchyard]
#   DURATION        seconds per measured run [10]      WARMUP  seconds before each run [2]
#   CONCURRENCY     connection counts [1 64]; c=1 runs wrk -t1, others -t2
#   KINDS           chat (JSON) and/or stream (SSE) [chat stream]; messages / messages-stream:
#                   Anthropic Messages in, the same OpenAI upstream call out (translation cost;
#                   direct = the OpenAI request, so "added" compares with chat / stream)
#   TARGETS         [direct switchyard portkey]        PORTKEY=0 skips Portkey
#                   nginx-proxy: a second nginx as a plain reverse proxy (proxy_pass, upstream
#                   keep-alive, NGINX_PROXY_WORKERS [0 = one per core]): the floor for any proxy
#                   hop on this machine, since it forwards bytes without reading the JSON
#   OUT             also write the report (markdown) to this file
#   NGINX_WORKERS [1]  SWITCHYARD_WORKERS [0 = one per core]  SWITCHYARD_ACCESS_LOG [false]
#   KEEP_TMP=1      keep the temp dir (configs, logs, raw wrk output)
#   SWITCHYARD_TELEMETRY [on]: off turns the request log and /metrics off (bench/telemetry);
#                   log keeps only the request log, metrics only /metrics
#   SWITCHYARD_CACHE [off]: on turns the response cache on (docs/caching.md): every request of
#                   a kind after the first is answered from it, without the nginx stub; redis
#                   adds a Redis tier (a redis-server started here) and leaves the memory tier
#                   too small to keep an answer, so every hit is read from Redis
#   SWITCHYARD_BUSY_POLL_US [0]: server.busy_poll_us (I/O threads poll that long before
#                   sleeping; see docs/configuration.md)
#   SWITCHYARD_TRACES [off]: on exports OTLP traces (every request sampled unless
#                   TRACES_SAMPLE_RATIO [1]) to the nginx stub's /v1/traces (bench/telemetry)
#   RATE            offered requests per second instead of as fast as possible: each of the C
#                   connections waits a random 0 .. 2*C*1000/RATE ms after each answer
#                   (post.lua's delay), so the rate is slightly under RATE; use C >= RATE/1000
#                   (RATE=5000 CONCURRENCY=50: 10 ms on average) [unset]
#   Every switchyard row also carries cpu_us: the gateway process's CPU time (all threads,
#   /proc/PID/task/*/schedstat) during the run divided by its requests.
#   RAW             also copy the raw result lines (kind c path RESULT ...) to this file
#   METRICS_OUT     write switchyard's request-log metrics (rows written/dropped) after the run
#   MODE=rss: at least REQUESTS [1000000] non-streamed, then REQUESTS_STREAM [REQUESTS/4]
#             streamed requests at RSS_CONNECTIONS [64], run as wrk segments of SEGMENT [10] s;
#             VmRSS read from /proc/PID/status after each segment; RSS_MAX_SECONDS [900]
#             bounds each of the two phases.
#   MODE=callgrind: switchyard (one worker) under valgrind --tool=callgrind; after
#             CALLGRIND_WARMUP [200] requests of each kind, counters are zeroed, then
#             CALLGRIND_REQUESTS [2000] sequential keep-alive requests (curl) are counted and
#             dumped. Prints instructions per request; CALLGRIND_KEEP=DIR keeps the dumps
#             (callgrind_annotate DIR/KIND.out shows where they go). Repeatable on a busy
#             machine, unlike wall-clock numbers.
#   MODE=syscalls: the gateway natively under wrk (each KINDS x CONCURRENCY, DURATION after
#             WARMUP); perf stat counts its system calls (all, and recvfrom / recvmsg /
#             sendmsg / epoll_wait) and context switches over the run, per request. Stable
#             where wall-clock numbers are not; perf slows the run, the counts per request
#             hold. Needs tracepoint access (root here).
#   MODE=perf: like callgrind, but the gateway runs natively and `perf stat -e instructions`
#             counts its process (all threads) over PERF_REQUESTS [20000] sequential requests
#             after PERF_WARMUP [500]; needs hardware counters (not in most VMs).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SWITCHYARD_BIN=${SWITCHYARD_BIN:-$HERE/../../build/release/bin/switchyard}
MODE=${MODE:-overhead}
DURATION=${DURATION:-10}; DURATION=${DURATION%s}
WARMUP=${WARMUP:-2}; WARMUP=${WARMUP%s}
CONCURRENCY=${CONCURRENCY:-1 64}
KINDS=${KINDS:-chat stream}
TARGETS=${TARGETS:-direct switchyard portkey}
PORTKEY=${PORTKEY:-1}
NGINX_WORKERS=${NGINX_WORKERS:-1}
NGINX_PROXY_WORKERS=${NGINX_PROXY_WORKERS:-0}
SWITCHYARD_WORKERS=${SWITCHYARD_WORKERS:-0}
SWITCHYARD_ACCESS_LOG=${SWITCHYARD_ACCESS_LOG:-false}
SWITCHYARD_TELEMETRY=${SWITCHYARD_TELEMETRY:-on}
SWITCHYARD_BUSY_POLL_US=${SWITCHYARD_BUSY_POLL_US:-0}
SWITCHYARD_CACHE=${SWITCHYARD_CACHE:-off}
SWITCHYARD_TRACES=${SWITCHYARD_TRACES:-off}
TRACES_SAMPLE_RATIO=${TRACES_SAMPLE_RATIO:-1}
PERF_REQUESTS=${PERF_REQUESTS:-20000}
PERF_WARMUP=${PERF_WARMUP:-500}
REQUESTS=${REQUESTS:-1000000}
REQUESTS_STREAM=${REQUESTS_STREAM:-$((REQUESTS / 4))}
RSS_CONNECTIONS=${RSS_CONNECTIONS:-64}
RSS_MAX_SECONDS=${RSS_MAX_SECONDS:-900}
SEGMENT=${SEGMENT:-10}
OUT=${OUT:-}
CALLGRIND_WARMUP=${CALLGRIND_WARMUP:-200}
CALLGRIND_REQUESTS=${CALLGRIND_REQUESTS:-2000}
CALLGRIND_KEEP=${CALLGRIND_KEEP:-}
SWITCHYARD_WRAPPER=()
if [[ $MODE == callgrind ]]; then
  command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
    { echo "bench: MODE=callgrind needs valgrind" >&2; exit 1; }
  SWITCHYARD_WORKERS=1
  TARGETS=switchyard
fi
if [[ $MODE == perf ]]; then
  command -v perf >/dev/null || { echo "bench: MODE=perf needs perf" >&2; exit 1; }
  if perf stat -x, -e instructions true 2>&1 | grep -q 'not supported'; then
    echo "bench: MODE=perf: no hardware instruction counter here (use MODE=callgrind)" >&2
    exit 1
  fi
  [[ $SWITCHYARD_WORKERS == 0 ]] && SWITCHYARD_WORKERS=1
  TARGETS=switchyard
fi
SYSCALL_EVENTS=raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom,syscalls:sys_enter_recvmsg,syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_wait,sched:sched_switch
if [[ $MODE == syscalls ]]; then
  command -v perf >/dev/null || { echo "bench: MODE=syscalls needs perf" >&2; exit 1; }
  if ! perf stat -x, -e "$SYSCALL_EVENTS" true >/dev/null 2>&1; then
    echo "bench: MODE=syscalls: perf cannot count syscall tracepoints here (needs root or perf_event_paranoid <= -1)" >&2
    exit 1
  fi
  TARGETS=switchyard
fi

for tool in nginx wrk curl ss; do
  command -v "$tool" >/dev/null || { echo "bench: '$tool' is required" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  [[ -f $TMP/wrk.pid ]] && kill "$(cat "$TMP/wrk.pid")" 2>/dev/null
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "bench: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { echo "bench: $*" >&2; }
NOTES=()

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if [[ -z $(ss -Htln "sport = :$p") ]]; then echo "$p"; return 0; fi
  done
  return 1
}

wait_http() {  # URL SECONDS: until anything answers
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.2
  done
  return 1
}

# ---------------------------------------------------------------- nginx stub upstream
CHAT_JSON='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! This is a canned benchmark reply.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":21,"completion_tokens":9,"total_tokens":30}}'
sse_chunk() {  # DELTA FINISH
  printf 'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}],"usage":null}\\n\\n' "$1" "$2"
}
CHAT_SSE="$(sse_chunk '{"role":"assistant","content":""}' null)$(sse_chunk '{"content":"Hello! "}' null)$(sse_chunk '{"content":"This is a canned "}' null)$(sse_chunk '{"content":"benchmark reply."}' null)$(sse_chunk '{}' '"stop"')"
CHAT_SSE+='data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[],"usage":{"prompt_tokens":21,"completion_tokens":9,"total_tokens":30}}\n\ndata: [DONE]\n\n'

NGINX_PORT=$(free_port)
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
# generated by bench/gateway_overhead/run.sh
daemon off;
worker_processes $NGINX_WORKERS;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/client_body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    client_max_body_size 1m;
    location = /v1/chat/completions {
      default_type application/json;
      return 200 '$CHAT_JSON';
    }
    location = /sse/v1/chat/completions {
      default_type text/event-stream;
      add_header Cache-Control no-cache;
      return 200 '$CHAT_SSE';
    }
    location = /v1/traces {
      default_type application/json;
      return 200 '{}';
    }
    location = /v1/models {
      default_type application/json;
      return 200 '{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1700000000,"owned_by":"bench"}]}';
    }
  }
}
EOF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/v1/models" 10 ||
  { cat "$TMP/nginx/error.log" >&2; note "nginx did not start"; exit 1; }
note "nginx stub on 127.0.0.1:$NGINX_PORT"

# ---------------------------------------------------------------- switchyard
SWITCHYARD_PID=
SWITCHYARD_PORT=
start_switchyard() {
  if [[ ! -x $SWITCHYARD_BIN ]]; then
    NOTES+=("switchyard skipped: no binary at $SWITCHYARD_BIN (make build)")
    return 1
  fi
  cat >"$TMP/switchyard.yaml" <<EOF
# generated by bench/gateway_overhead/run.sh
server:
  listen: 127.0.0.1:0
  workers: $SWITCHYARD_WORKERS
  busy_poll_us: $SWITCHYARD_BUSY_POLL_US
log:
  level: info
  access_log: $SWITCHYARD_ACCESS_LOG
storage:
  url: sqlite://$TMP/switchyard.db
providers:
  - name: stub
    kind: openai
    base_url: http://127.0.0.1:$NGINX_PORT/v1
    api_key: sk-bench
    models: [gpt-4o-mini]
  - name: stub-sse
    kind: openai
    base_url: http://127.0.0.1:$NGINX_PORT/sse/v1
    api_key: sk-bench
    models: [gpt-4o-mini]
routes:
  - name: bench
    target: stub/gpt-4o-mini
  - name: bench-stream
    target: stub-sse/gpt-4o-mini
EOF
  local telemetry=""
  case $SWITCHYARD_TELEMETRY in
    off) telemetry+='  request_log:\n    enabled: false\n  metrics:\n    enabled: false\n' ;;
    log) telemetry+='  metrics:\n    enabled: false\n' ;;
    metrics) telemetry+='  request_log:\n    enabled: false\n' ;;
  esac
  if [[ $SWITCHYARD_TRACES == on ]]; then
    telemetry+="  traces:\n    endpoint: http://127.0.0.1:$NGINX_PORT\n"
    telemetry+="    sample_ratio: $TRACES_SAMPLE_RATIO\n"
  fi
  [[ -n $telemetry ]] && printf 'telemetry:\n%b' "$telemetry" >>"$TMP/switchyard.yaml"
  [[ $SWITCHYARD_CACHE == on ]] && printf 'cache:\n  enabled: true\n' >>"$TMP/switchyard.yaml"
  if [[ $SWITCHYARD_CACHE == redis ]]; then
    command -v redis-server >/dev/null || { echo "bench: 'redis-server' is required" >&2; exit 1; }
    local redis_port
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$TMP" >"$TMP/redis.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    printf 'cache:\n  enabled: true\n  max_bytes: 1KiB\n  redis: redis://127.0.0.1:%s\n' \
      "$redis_port" >>"$TMP/switchyard.yaml"
  fi
  [[ $MODE == callgrind ]] && SWITCHYARD_WRAPPER=(valgrind --tool=callgrind
    "--callgrind-out-file=$TMP/callgrind.out.%p" --log-file="$TMP/valgrind.log"
    --compress-strings=no --compress-pos=no)
  "${SWITCHYARD_WRAPPER[@]}" "$SWITCHYARD_BIN" serve --config "$TMP/switchyard.yaml" \
    --listen 127.0.0.1:0 >"$TMP/switchyard.log" 2>&1 &
  SWITCHYARD_PID=$!
  PIDS+=("$SWITCHYARD_PID")
  local deadline=$((SECONDS + (${#SWITCHYARD_WRAPPER[@]} > 0 ? 120 : 20)))
  while ((SECONDS < deadline)); do
    SWITCHYARD_PORT=$(grep -o 'listening.*port[=: ]*[0-9]*' "$TMP/switchyard.log" 2>/dev/null |
      grep -o '[0-9]*$' | grep -v '^0$' | head -1 || true)
    [[ -n $SWITCHYARD_PORT ]] && break
    kill -0 "$SWITCHYARD_PID" 2>/dev/null || break
    sleep 0.2
  done
  if [[ -z $SWITCHYARD_PORT ]]; then
    NOTES+=("switchyard skipped: it did not report a port (log: $(tail -c 400 "$TMP/switchyard.log" | tr '\n' ' '))")
    return 1
  fi
  note "switchyard (pid $SWITCHYARD_PID) on 127.0.0.1:$SWITCHYARD_PORT"
}

# ---------------------------------------------------------------- nginx as a reverse proxy
# The reference hop: nginx forwarding to the stub over pooled keep-alive connections, reading
# neither body. What it adds over direct is the cost of one more process and two more loopback
# sockets per request on this machine; a gateway that reads the JSON cannot add less.
NGINX_PROXY_PORT=
NGINX_PROXY_PID=
start_nginx_proxy() {
  NGINX_PROXY_PORT=$(free_port)
  local workers=$NGINX_PROXY_WORKERS
  ((workers > 0)) || workers=$(nproc)
  mkdir -p "$TMP/nginx-proxy"
  cat >"$TMP/nginx-proxy/nginx.conf" <<EOF
# generated by bench/gateway_overhead/run.sh
daemon off;
worker_processes $workers;
pid $TMP/nginx-proxy/nginx.pid;
error_log $TMP/nginx-proxy/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx-proxy/client_body;
  proxy_temp_path $TMP/nginx-proxy/proxy;
  fastcgi_temp_path $TMP/nginx-proxy/fastcgi;
  uwsgi_temp_path $TMP/nginx-proxy/uwsgi;
  scgi_temp_path $TMP/nginx-proxy/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  upstream stub {
    server 127.0.0.1:$NGINX_PORT;
    keepalive 128;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:$NGINX_PROXY_PORT reuseport;
    client_max_body_size 4m;
    location / {
      proxy_pass http://stub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
EOF
  nginx -p "$TMP/nginx-proxy" -c "$TMP/nginx-proxy/nginx.conf" -e "$TMP/nginx-proxy/error.log" &
  NGINX_PROXY_PID=$!
  PIDS+=("$NGINX_PROXY_PID")
  if ! wait_http "http://127.0.0.1:$NGINX_PROXY_PORT/v1/models" 10; then
    NOTES+=("nginx-proxy skipped: it did not start ($(tail -c 300 "$TMP/nginx-proxy/error.log" | tr '\n' ' '))")
    return 1
  fi
  note "nginx reverse proxy ($workers workers) on 127.0.0.1:$NGINX_PROXY_PORT"
}

# ---------------------------------------------------------------- portkey
PORTKEY_PORT=
start_portkey() {
  if [[ $PORTKEY != 1 ]]; then NOTES+=("Portkey skipped (PORTKEY=$PORTKEY)"); return 1; fi
  if ! command -v node >/dev/null; then NOTES+=("Portkey skipped: no node"); return 1; fi
  local stamp=$HERE/node_modules/.package-lock.sha256 want
  want=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
  if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    if (cd "$HERE" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1; then
      echo "$want" >"$stamp"
    else
      NOTES+=("Portkey skipped: npm ci failed ($(tail -c 300 "$TMP/npm.log" | tr '\n' ' '))")
      return 1
    fi
  fi
  local version
  version=$(node -p "require('$HERE/node_modules/@portkey-ai/gateway/package.json').version")
  PORTKEY_PORT=$(free_port)
  # What `npx @portkey-ai/gateway` runs, started directly so that its pid is ours to stop.
  # (It binds all interfaces and has no host option; the bench talks to it on 127.0.0.1.)
  node "$HERE/node_modules/@portkey-ai/gateway/build/start-server.js" \
    --port="$PORTKEY_PORT" --headless >"$TMP/portkey.log" 2>&1 &
  PIDS+=($!)
  if ! wait_http "http://127.0.0.1:$PORTKEY_PORT/" 30; then
    NOTES+=("Portkey skipped: it did not start ($(tail -c 300 "$TMP/portkey.log" | tr '\n' ' '))")
    return 1
  fi
  PORTKEY_VERSION=$version
  note "portkey $version on 127.0.0.1:$PORTKEY_PORT"
}

# ---------------------------------------------------------------- scenarios
# Anthropic Messages kinds: what the gateway receives in Anthropic's format and translates to the
# same OpenAI upstream call as chat/stream; the direct path (and Portkey) send the OpenAI body.
base_kind() {  # KIND -> chat | stream
  case $1 in messages) echo chat ;; messages-stream) echo stream ;; *) echo "$1" ;; esac
}

body_for() {  # KIND TARGET
  local model=bench stream='' base
  base=$(base_kind "$1")
  if [[ $2 == switchyard && $1 == messages* ]]; then
    [[ $base == stream ]] && { model=bench-stream; stream=',"stream":true'; }
    printf '{"model":"%s","max_tokens":32,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Say hello in one short sentence."}]%s}' "$model" "$stream"
    return
  fi
  [[ $base == stream ]] && { model=bench-stream; stream=',"stream":true,"stream_options":{"include_usage":true}'; }
  [[ $2 == switchyard ]] || model=gpt-4o-mini
  printf '{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":32%s}' "$model" "$stream"
}

# Sets URL and HDRS (array of wrk/curl -H values) for TARGET KIND.
target_setup() {
  HDRS=("Authorization: Bearer sk-bench")
  local base
  base=$(base_kind "$2")
  case $1 in
    direct)
      if [[ $base == stream ]]; then URL=http://127.0.0.1:$NGINX_PORT/sse/v1/chat/completions
      else URL=http://127.0.0.1:$NGINX_PORT/v1/chat/completions; fi ;;
    switchyard)
      if [[ $2 == messages* ]]; then URL=http://127.0.0.1:$SWITCHYARD_PORT/v1/messages
      else URL=http://127.0.0.1:$SWITCHYARD_PORT/v1/chat/completions; fi ;;
    nginx-proxy)
      if [[ $base == stream ]]; then URL=http://127.0.0.1:$NGINX_PROXY_PORT/sse/v1/chat/completions
      else URL=http://127.0.0.1:$NGINX_PROXY_PORT/v1/chat/completions; fi ;;
    portkey)
      URL=http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions
      local upstream=http://127.0.0.1:$NGINX_PORT/v1
      [[ $base == stream ]] && upstream=http://127.0.0.1:$NGINX_PORT/sse/v1
      HDRS+=("x-portkey-provider: openai" "x-portkey-custom-host: $upstream") ;;
  esac
}

# One request with curl; checks status and content. Prints a reason on failure.
sanity() {  # TARGET KIND
  target_setup "$1" "$2"
  local args=() h out code
  for h in "${HDRS[@]}"; do args+=(-H "$h"); done
  out=$(curl -sS --max-time 10 -w '\n%{http_code}' -H 'Content-Type: application/json' \
    "${args[@]}" --data-binary "$(body_for "$2" "$1")" "$URL" 2>&1) || true
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  if [[ $code != 200 ]]; then echo "HTTP $code: ${out:0:300}"; return 1; fi
  if [[ ($1 == portkey || $1 == nginx-proxy) && $2 == messages* ]]; then echo "not measured (Anthropic-in is ours)"; return 1; fi
  if [[ $(base_kind "$2") == chat ]]; then
    [[ $out == *'canned benchmark reply.'* ]] || { echo "unexpected body: ${out:0:300}"; return 1; }
  elif [[ $1 == switchyard && $2 == messages* ]]; then
    [[ $out == *'benchmark reply.'* && $out == *'message_stop'* ]] ||
      { echo "unexpected stream: ${out:0:400}"; return 1; }
  else
    [[ $out == *'benchmark reply.'* && $out == *'data: [DONE]'* ]] ||
      { echo "unexpected stream: ${out:0:400}"; return 1; }
  fi
}

# CPU nanoseconds the process PID (and its child processes: nginx's workers) has run so far,
# all their threads.
cpu_ns() {
  local p files=(/proc/"$1"/task/*/schedstat)
  for p in $(pgrep -P "$1" || true); do files+=(/proc/"$p"/task/*/schedstat); done
  cat "${files[@]}" 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'
}

run_wrk() {  # TARGET KIND CONNECTIONS SECONDS -> RESULT line
  target_setup "$1" "$2"
  local conns=$3 secs=$4 threads=2 args=() h delay=0 cpu0=0 line
  ((conns == 1)) && threads=1
  [[ -n ${RATE:-} ]] && delay=$(((conns * 1000 + RATE / 2) / RATE))
  for h in "${HDRS[@]}"; do args+=(-H "$h"); done
  local cpu_pid=
  [[ $1 == switchyard ]] && cpu_pid=$SWITCHYARD_PID
  [[ $1 == nginx-proxy ]] && cpu_pid=$NGINX_PROXY_PID
  [[ -n $cpu_pid ]] && cpu0=$(cpu_ns "$cpu_pid")
  WRK_DELAY_MS=$delay WRK_BODY=$(body_for "$2" "$1") timeout $((secs + 30)) wrk -t"$threads" \
    -c"$conns" -d"${secs}s" --timeout 10s --latency -s "$HERE/post.lua" "${args[@]}" "$URL" \
    >"$TMP/wrk.$1.$2.$conns.txt" 2>&1 &
  echo $! >"$TMP/wrk.pid"
  wait $! || true
  rm -f "$TMP/wrk.pid"
  line=$(grep '^RESULT ' "$TMP/wrk.$1.$2.$conns.txt" | tail -1 || true)
  if [[ -n $line && -n $cpu_pid ]]; then
    line+=$(awk -v a="$cpu0" -v b="$(cpu_ns "$cpu_pid")" -v l="$line" 'BEGIN {
      n = 0; if (match(l, /requests=[0-9]+/)) n = substr(l, RSTART + 9, RLENGTH - 9) + 0
      printf " cpu_us=%.2f", (n > 0 ? (b - a) / n / 1000 : 0) }')
  fi
  echo "$line"
}

ACTIVE=()
for t in $TARGETS; do
  case $t in
    direct) ACTIVE+=(direct) ;;
    switchyard) start_switchyard && ACTIVE+=(switchyard) || true ;;
    nginx-proxy) [[ $MODE == overhead ]] && { start_nginx_proxy && ACTIVE+=(nginx-proxy) || true; } ;;
    portkey) [[ $MODE == rss ]] || { start_portkey && ACTIVE+=(portkey) || true; } ;;
  esac
done

report() { if [[ -n $OUT ]]; then tee "$OUT"; else cat; fi; }

env_line() {
  echo "Machine: $(nproc) cores, $(uname -srm); nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), node $(node -v 2>/dev/null || echo none)${PORTKEY_VERSION:+, Portkey $PORTKEY_VERSION}; $(date -u +%Y-%m-%dT%H:%MZ)."
}

# ---------------------------------------------------------------- RSS mode
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

field() { sed -n "s/.*$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# Runs wrk segments of KIND until N requests or RSS_MAX_SECONDS; appends "requests kB" rows.
rss_phase() {  # KIND N
  local kind=$1 want=$2 done=0 start=$SECONDS line n
  PHASE_ERRORS=0; PHASE_RPS=()
  while ((done < want && SECONDS - start < RSS_MAX_SECONDS)); do
    kill -0 "$SWITCHYARD_PID" 2>/dev/null || { note "switchyard died"; return 1; }
    line=$(run_wrk switchyard "$kind" "$RSS_CONNECTIONS" "$SEGMENT")
    n=$(field requests "$line"); n=${n:-0}
    ((n > 0)) || { note "wrk segment gave no requests: $(tail -c 300 "$TMP/wrk.switchyard.$kind.$RSS_CONNECTIONS.txt")"; return 1; }
    done=$((done + n)); TOTAL=$((TOTAL + n))
    PHASE_ERRORS=$((PHASE_ERRORS + $(field non2xx "$line") + $(field socket_errors "$line")))
    PHASE_RPS+=("$(field rps "$line" | cut -d. -f1)")
    SAMPLES+=("$TOTAL $(rss_kb "$SWITCHYARD_PID")")
    note "  $kind: $done/$want requests, VmRSS $(rss_kb "$SWITCHYARD_PID") kB"
  done
  PHASE_DONE=$done
}

if [[ $MODE == rss ]]; then
  [[ -n $SWITCHYARD_PID ]] || { printf '%s\n' "${NOTES[@]}" >&2; exit 1; }
  for kind in chat stream; do
    if ! why=$(sanity switchyard "$kind"); then note "switchyard $kind sanity check failed: $why"; exit 1; fi
  done
  idle=$(rss_kb "$SWITCHYARD_PID")
  note "warm-up: 5 s chat + 5 s stream at c=$RSS_CONNECTIONS"
  run_wrk switchyard chat "$RSS_CONNECTIONS" 5 >/dev/null
  run_wrk switchyard stream "$RSS_CONNECTIONS" 5 >/dev/null
  warm=$(rss_kb "$SWITCHYARD_PID")
  TOTAL=0; SAMPLES=("0 $warm")
  note "measured: $REQUESTS chat + $REQUESTS_STREAM stream requests at c=$RSS_CONNECTIONS"
  rss_phase chat "$REQUESTS" || true
  chat_done=${PHASE_DONE:-0}; chat_err=${PHASE_ERRORS:-0}; chat_rps="${PHASE_RPS[*]:-}"
  after_chat=$(rss_kb "$SWITCHYARD_PID")
  stream_done=0; stream_err=0; stream_rps=''
  if ((REQUESTS_STREAM > 0)); then
    rss_phase stream "$REQUESTS_STREAM" || true
    stream_done=${PHASE_DONE:-0}; stream_err=${PHASE_ERRORS:-0}; stream_rps="${PHASE_RPS[*]:-}"
  fi
  end=$(rss_kb "$SWITCHYARD_PID")
  sleep 3
  settled=$(rss_kb "$SWITCHYARD_PID")
  peak=$(hwm_kb "$SWITCHYARD_PID")
  alive=yes; kill -0 "$SWITCHYARD_PID" 2>/dev/null || alive="NO (it died; log: $(tail -c 300 "$TMP/switchyard.log" | tr '\n' ' '))"
  growth=$((settled - warm))
  per=$(awk -v g="$growth" -v n="$TOTAL" 'BEGIN { printf "%.2f", (n > 0 ? g * 1024 / n : 0) }')
  # Growth over the second half of the samples: a leak keeps climbing, a pool levels off.
  half=$(printf '%s\n' "${SAMPLES[@]}" | awk '{ r[NR] = $1; k[NR] = $2 } END {
    m = int((NR + 1) / 2); if (NR < 3 || r[NR] == r[m]) { print "n/a"; exit }
    printf "%+d kB over the last %d requests (%.2f bytes/request)", k[NR] - k[m], r[NR] - r[m], (k[NR] - k[m]) * 1024 / (r[NR] - r[m]) }')
  {
    echo "## switchyard RSS over $TOTAL requests"
    echo
    env_line
    echo
    echo "| point | VmRSS |"
    echo "|---|---|"
    echo "| idle after start | $((idle / 1024)) MiB ($idle kB) |"
    echo "| after warm-up (10 s) | $((warm / 1024)) MiB ($warm kB) |"
    echo "| after $chat_done chat requests (errors $chat_err; rps per segment: $chat_rps) | $((after_chat / 1024)) MiB ($after_chat kB) |"
    ((REQUESTS_STREAM > 0)) && echo "| after $stream_done streamed requests (errors $stream_err; rps per segment: $stream_rps) | $((end / 1024)) MiB ($end kB) |"
    echo "| 3 s idle later | $((settled / 1024)) MiB ($settled kB) |"
    echo "| peak (VmHWM) | $((peak / 1024)) MiB ($peak kB) |"
    echo
    echo "Growth after warm-up: $growth kB ($per bytes/request). Second half: $half. Process alive: $alive."
    echo
    echo "Samples (requests since warm-up → VmRSS kB): $(printf '%s; ' "${SAMPLES[@]}")"
  } | report
  exit 0
fi

# ---------------------------------------------------------------- perf mode
if [[ $MODE == perf ]]; then
  [[ -n $SWITCHYARD_PID ]] || { printf '%s\n' "${NOTES[@]}" >&2; exit 1; }
  ROWS=()
  for kind in $KINDS; do
    if ! why=$(sanity switchyard "$kind"); then note "switchyard $kind sanity check failed: $why"; exit 1; fi
    ok=$(fixed_requests "$kind" "$PERF_WARMUP")
    note "$kind: warm-up $ok/$PERF_WARMUP ok"
    perf stat -x, -e instructions -p "$SWITCHYARD_PID" -o "$TMP/perf.$kind" &
    perf_pid=$!
    sleep 0.5
    ok=$(fixed_requests "$kind" "$PERF_REQUESTS")
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    total=$(awk -F, '$3 ~ /^instructions/ { print $1 }' "$TMP/perf.$kind" | head -1)
    per=$(awk -v t="$total" -v n="$ok" 'BEGIN { printf "%.0f", (n > 0 ? t / n : 0) }')
    note "$kind: $ok/$PERF_REQUESTS ok, $total instructions, $per per request"
    ROWS+=("| $kind | $ok | $total | $per |")
  done
  {
    echo "## switchyard instructions per request (perf stat, $SWITCHYARD_WORKERS worker(s))"
    echo
    env_line
    echo "Binary: $SWITCHYARD_BIN; telemetry $SWITCHYARD_TELEMETRY, traces $SWITCHYARD_TRACES. All threads of the process, after $PERF_WARMUP warm-up requests."
    echo
    echo "| kind | requests (200) | instructions | per request |"
    echo "|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
  } | report
  exit 0
fi

# ---------------------------------------------------------------- syscalls mode
if [[ $MODE == syscalls ]]; then
  [[ -n $SWITCHYARD_PID ]] || { printf '%s\n' "${NOTES[@]}" >&2; exit 1; }
  ROWS=()
  for kind in $KINDS; do
    for c in $CONCURRENCY; do
      if ! why=$(sanity switchyard "$kind"); then note "switchyard $kind sanity check failed: $why"; exit 1; fi
      run_wrk switchyard "$kind" "$c" "$WARMUP" >/dev/null
      perf stat -x, -e "$SYSCALL_EVENTS" -p "$SWITCHYARD_PID" -o "$TMP/syscalls.$kind.$c" &
      perf_pid=$!
      sleep 0.3
      line=$(run_wrk switchyard "$kind" "$c" "$DURATION")
      kill -INT "$perf_pid"; wait "$perf_pid" || true
      n=$(field requests "$line"); n=${n:-0}
      ((n > 0)) || { note "$kind c=$c: wrk gave no requests"; exit 1; }
      ROWS+=("$(awk -F, -v n="$n" -v kind="$kind" -v c="$c" '
        $3 != "" { v[$3] = $1 }
        END {
          printf "| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |", kind, c, n,
            v["raw_syscalls:sys_enter"] / n, v["syscalls:sys_enter_recvfrom"] / n,
            v["syscalls:sys_enter_recvmsg"] / n, v["syscalls:sys_enter_sendmsg"] / n,
            v["syscalls:sys_enter_epoll_wait"] / n, v["sched:sched_switch"] / n
        }' "$TMP/syscalls.$kind.$c")")
      note "$kind c=$c: $n requests"
    done
  done
  {
    echo "## switchyard system calls per request (perf stat, wrk; workers: $SWITCHYARD_WORKERS, 0 = one per core)"
    echo
    env_line
    echo "Binary: $SWITCHYARD_BIN; telemetry $SWITCHYARD_TELEMETRY. All threads of the process (the request log's writer too)."
    echo
    echo "| kind | c | requests | syscalls | recvfrom | recvmsg | sendmsg | epoll_wait | context switches |"
    echo "|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
  } | report
  exit 0
fi

# ---------------------------------------------------------------- callgrind mode
# N sequential requests of KIND on one keep-alive connection (one curl process); prints the
# number of 200 answers.
fixed_requests() {  # KIND N
  target_setup switchyard "$1"
  local h i
  body_for "$1" switchyard >"$TMP/body.$1.json"
  {
    for h in "${HDRS[@]}"; do printf 'header = "%s"\n' "$h"; done
    echo 'header = "Content-Type: application/json"'
    printf 'data-binary = "@%s"\n' "$TMP/body.$1.json"
    for ((i = 0; i < $2; i++)); do printf 'url = "%s"\n' "$URL"; done
  } >"$TMP/curl.$1.cfg"
  curl -s -w '\n%{http_code}\n' -K "$TMP/curl.$1.cfg" | grep -c '^200$' || true
}

if [[ $MODE == callgrind ]]; then
  [[ -n $SWITCHYARD_PID ]] || { printf '%s\n' "${NOTES[@]}" >&2; exit 1; }
  ROWS=()
  for kind in $KINDS; do
    if ! why=$(sanity switchyard "$kind"); then note "switchyard $kind sanity check failed: $why"; exit 1; fi
    ok=$(fixed_requests "$kind" "$CALLGRIND_WARMUP")
    note "$kind: warm-up $ok/$CALLGRIND_WARMUP ok"
    callgrind_control -z "$SWITCHYARD_PID" >/dev/null 2>&1
    ok=$(fixed_requests "$kind" "$CALLGRIND_REQUESTS")
    before=$(ls "$TMP"/callgrind.out.* 2>/dev/null | sort)
    callgrind_control -d "$kind" "$SWITCHYARD_PID" >/dev/null 2>&1
    dump=$(comm -13 <(echo "$before") <(ls "$TMP"/callgrind.out.* | sort) | tail -1)
    total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' "$dump" | head -1)
    per=$(awk -v t="$total" -v n="$ok" 'BEGIN { printf "%.0f", (n > 0 ? t / n : 0) }')
    note "$kind: $ok/$CALLGRIND_REQUESTS ok, $total instructions, $per per request"
    ROWS+=("| $kind | $ok | $total | $per |")
    if [[ -n $CALLGRIND_KEEP ]]; then mkdir -p "$CALLGRIND_KEEP"; cp "$dump" "$CALLGRIND_KEEP/$kind.out"; fi
  done
  {
    echo "## switchyard instructions per request (callgrind, one worker)"
    echo
    env_line
    echo "Binary: $SWITCHYARD_BIN. Counted after $CALLGRIND_WARMUP warm-up requests; all threads of the process."
    echo
    echo "| kind | requests (200) | instructions | per request |"
    echo "|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
  } | report
  exit 0
fi

# ---------------------------------------------------------------- overhead mode
RESULTS=$TMP/results.tsv
: >"$RESULTS"
for kind in $KINDS; do
  for t in "${ACTIVE[@]}"; do
    if ! why=$(sanity "$t" "$kind"); then
      NOTES+=("$t $kind: sanity check failed, not measured: $why")
      continue
    fi
    for c in $CONCURRENCY; do
      note "$t $kind c=$c: warm-up ${WARMUP}s, run ${DURATION}s"
      ((WARMUP > 0)) && run_wrk "$t" "$kind" "$c" "$WARMUP" >/dev/null
      line=$(run_wrk "$t" "$kind" "$c" "$DURATION")
      if [[ -z $line ]]; then
        NOTES+=("$t $kind c=$c: wrk gave no result ($(tail -c 300 "$TMP/wrk.$t.$kind.$c.txt" | tr '\n' ' '))")
        continue
      fi
      echo "$kind $c $t $line" >>"$RESULTS"
      note "  $line"
    done
  done
done
[[ -n ${RAW:-} ]] && cp "$RESULTS" "$RAW"
# The request log's health after the run (rows written, dropped under load).
if [[ -n ${METRICS_OUT:-} && -n $SWITCHYARD_PORT ]]; then
  curl -s --max-time 5 "http://127.0.0.1:$SWITCHYARD_PORT/metrics" |
    grep '^switchyard_request_log_' >"$METRICS_OUT" || true
fi
if [[ -n $SWITCHYARD_PID ]] && ! kill -0 "$SWITCHYARD_PID" 2>/dev/null; then
  NOTES+=("switchyard DIED during the run; last log: $(tail -c 600 "$TMP/switchyard.log" | tr '\n' ' ')")
fi

{
  echo "## Gateway overhead (wrk, nginx stub upstream, loopback)"
  echo
  env_line
  echo "Each run ${DURATION} s after ${WARMUP} s warm-up; c=1 is wrk -t1 -c1, larger c use -t2. wrk, nginx and the gateway share the cores."
  echo
  [[ -n ${RATE:-} ]] && echo "Offered rate: about $RATE requests/s per run (RATE; each connection waits a random 0 .. 2*C*1000/RATE ms after each answer)."
  echo
  echo "| kind | c | path | RPS | p50 | p99 | added p50 | added p99 | RPS vs direct | gateway CPU/request | errors |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  awk '
    function kv(s, k,   m) { if (match(s, k "=[^ ]*")) return substr(s, RSTART + length(k) + 1, RLENGTH - length(k) - 1); return "" }
    function t(us,   a) { us += 0; a = us < 0 ? -us : us; if (a < 1000) return sprintf("%.0f µs", us); if (a < 1e6) return sprintf("%.2f ms", us / 1000); return sprintf("%.2f s", us / 1e6) }
    function plus(us) { return (us >= 0 ? "+" : "") t(us) }
    { kind[NR] = $1; c[NR] = $2; path[NR] = $3; line[NR] = $0
      if ($3 == "direct") { d50[$1 " " $2] = kv($0, "p50_us"); d99[$1 " " $2] = kv($0, "p99_us"); drps[$1 " " $2] = kv($0, "rps") } }
    END {
      for (i = 1; i <= NR; i++) {
        k = kind[i] " " c[i]; s = line[i]
        p50 = kv(s, "p50_us"); p99 = kv(s, "p99_us"); rps = kv(s, "rps")
        err = kv(s, "non2xx") + kv(s, "socket_errors")
        a50 = "—"; a99 = "—"; ratio = "—"
        if (path[i] != "direct" && (k in d50)) {
          a50 = plus(p50 - d50[k]); a99 = plus(p99 - d99[k])
          ratio = sprintf("%.3f×", rps / drps[k])
        }
        cpu = kv(s, "cpu_us"); cpu = cpu == "" ? "—" : sprintf("%.1f µs", cpu)
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", kind[i], c[i], path[i],
          sprintf("%.0f", rps), t(p50), t(p99), a50, a99, ratio, cpu, (err > 0 ? err " (non-2xx+socket)" : "0")
      }
    }' "$RESULTS"
  if ((${#NOTES[@]})); then
    echo
    for n in "${NOTES[@]}"; do echo "- $n"; done
  fi
} | report

#!/usr/bin/env bash
# The gateway-overhead bench on a quiet machine that has no toolchain: run it from a bundle of
# the binaries and their shared libraries, pinned to 2 cores like the dev box, telemetry on and
# off alternating, two rounds. Make the bundle on the build machine:
#   mkdir -p build/db2/{bin,lib}; cp $(which nginx wrk ss) build/release/bin/switchyard build/db2/bin/
#   strip build/db2/bin/switchyard
#   ldd build/release/bin/switchyard | awk '{print $3}' | grep -v -E '^$|libc.so|libm.so' \
#     | xargs -I{} cp -L {} build/db2/lib/   (and the same for nginx and wrk)
#   cp bench/gateway_overhead/device_ab.sh build/db2/run.sh; tar cJf build/db2.tar.xz -C build db2
# then on the quiet machine: tar xJf build/db2.tar.xz -C build && OUT=/tmp build/db2/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/build/db2/bin:$PATH LD_LIBRARY_PATH=$PWD/build/db2/lib
nproc; lscpu | grep -E "Model name"; uptime
switchyard --version
for round in 1 2; do
  for tel in on off; do
    echo "=== round $round telemetry $tel"
    taskset -c 0,1 env KINDS="chat stream" PORTKEY=0 DURATION=6 WARMUP=2 SWITCHYARD_WORKERS=2 \
      SWITCHYARD_TELEMETRY=$tel SWITCHYARD_BIN=$PWD/build/db2/bin/switchyard \
      OUT=$OUT/report-$round-$tel.md bash bench/gateway_overhead/run.sh 2>&1 | tail -14
  done
done

#!/usr/bin/env bash
# The engine on a GPU: its whole test suite and its throughput, on a machine with an NVIDIA GPU,
# nvcc, CMake and Ninja but none of Switchyard's other dependencies (a lent GPU machine).
#
#   tests/cuda/run.sh bundle     here, after `make build`: packs into .devbundle/ the llama.cpp
#                                source (the pinned one, without other backends), the engine's
#                                compiled objects and the shared libraries they need
#   tests/cuda/run.sh device     there, from the repository root: builds llama.cpp with CUDA as
#                                scripts/bootstrap does (SWITCHYARD_CUDA=ON), links the engine's
#                                tests and bench against it through cmake/llama.cmake, runs them;
#                                logs go to $OUT (default build/cuda-out)
#
# STEPS picks what runs after the build (default "test bench llama-bench").
# The engine tests load every model with the default gpu_layers (auto), so on a GPU they decode
# there; EngineTest.LayersGoToTheGpuByDefaultWhenThereIsOne checks that they did.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bundle=$root/.devbundle

case "${1:-}" in
bundle)
  llama_dir=$(cat build/llama-dir) || { echo "run make build first" >&2; exit 1; }
  rel=build/release
  rm -rf "$bundle" && mkdir -p "$bundle"/{obj/engine_test,lib}
  git -C "$llama_dir/src" archive --format=tar HEAD CMakeLists.txt cmake ggml src include common \
      vendor tools licenses LICENSE models/templates models/ggml-vocab-qwen2.gguf \
      $(for b in vulkan sycl opencl hexagon metal et webgpu openvino cann virtgpu; do
          echo ":(exclude)ggml/src/ggml-$b"; done) ':(exclude)tools/ui' ':(exclude)tools/server' \
    | gzip -6 >"$bundle/llama-src.tar.gz"
  cp "$llama_dir/llama.cpp.info.json" "$bundle/"
  basename "$llama_dir" >"$bundle/llama-key"
  cp $rel/src/switchyard/engine/CMakeFiles/engine_test.dir/*.o "$bundle/obj/engine_test/"
  cp $rel/src/switchyard/engine/CMakeFiles/engine_bench.dir/engine_bench.cc.o "$bundle/obj/engine_bench.o"
  cp $rel/src/switchyard/engine/libsy_engine.a $rel/src/switchyard/core/libsy_core.a "$bundle/lib/"
  cp /usr/lib/x86_64-linux-gnu/{libgmock.a,libgtest_main.a,libgtest.a} "$bundle/lib/"
  # The shared libraries the engine test needs, less the C and C++ runtimes the GPU machine has.
  ldd $rel/src/switchyard/engine/engine_test | awk '$3 ~ /^\// {print $3}' \
    | grep -v -E '/(libc|libm|libstdc\+\+|libgcc_s|libgomp|ld-linux[^/]*|libpthread|libdl)\.so' \
    | while read -r so; do cp -L "$so" "$bundle/lib/"; done
  du -sh "$bundle"; ls "$bundle/lib"
  ;;
device)
  out=${OUT:-$root/build/cuda-out}
  mkdir -p "$out"
  exec > >(tee "$out/run.log") 2>&1
  t0=$SECONDS
  stamp() { echo "=== [$((SECONDS - t0)) s] $*"; }
  stamp "machine"
  nproc; nvidia-smi -L; nvcc --version | tail -2; c++ --version | head -1; cmake --version | head -1
  # Where scripts/bootstrap would put it: the test objects name this path for the vocab files.
  llama_dir=$HOME/.cache/switchyard/llama/$(cat "$bundle/llama-key")
  mkdir -p "$llama_dir/src"
  tar xzf "$bundle/llama-src.tar.gz" -C "$llama_dir/src"
  cp "$bundle/llama.cpp.info.json" "$llama_dir/"
  stamp "llama.cpp with CUDA (scripts/bootstrap's flags, SWITCHYARD_CUDA=ON)"
  cmake -S "$llama_dir/src" -B "$llama_dir/build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DGGML_CUDA=ON -DGGML_CCACHE=OFF >"$out/llama-configure.log" 2>&1 \
    || { tail -40 "$out/llama-configure.log"; exit 1; }
  grep -E "CUDA|architectures" "$out/llama-configure.log" | head -5
  steps=" ${STEPS:-test bench llama-bench} "
  targets="llama llama-common"; [[ $steps == *" llama-bench "* ]] && targets+=" llama-bench"
  cmake --build "$llama_dir/build" --target $targets -j "$(nproc)" \
    >"$out/llama-build.log" 2>&1 || { grep -E "error|FAILED" "$out/llama-build.log" | head -30; exit 1; }
  touch "$llama_dir/.built"
  stamp "link the engine test and bench (cmake/llama.cmake)"
  cmake -S tests/cuda -B build/cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DSY_LLAMA_DIR="$llama_dir" \
    -DSY_BUNDLE="$bundle" >"$out/link-configure.log" 2>&1 || { tail -30 "$out/link-configure.log"; exit 1; }
  grep "llama.cpp:" "$out/link-configure.log"
  cmake --build build/cuda >"$out/link.log" 2>&1 || { tail -30 "$out/link.log"; exit 1; }
  export LD_LIBRARY_PATH=$bundle/lib
  ldd build/cuda/engine_test | grep -E "cuda|cublas" || echo "engine_test links no CUDA library"
  if [[ $steps == *" test "* ]]; then
    stamp "engine tests on the GPU"
    timeout "${TEST_TIMEOUT:-240}" build/cuda/engine_test --gtest_brief=1 >"$out/engine_test.log" 2>&1
    echo "engine_test exit $?"
    grep -E "^\[  (FAILED|PASSED) |Failure|tests ran" "$out/engine_test.log" | head -40
  fi
  q=/tmp/engine_bench-q8_0.gguf
  if [[ $steps == *" bench "* ]]; then
    stamp "throughput: a 0.5B-shaped random model (bench/engine_throughput's shape), Q8_0"
    # The last line: 8 streams just ended (each sequence holds a cell per step), then a cold
    # 1,900-token prompt starts; run twice, the second time saving scattered sequences to the
    # host cache as the CPU does (--min-saved-run 0).
    timeout 240 build/cuda/engine_bench --vocab "$llama_dir/src/models/ggml-vocab-qwen2.gguf" \
      --layers 24 --dim 896 --heads 14 --kv-heads 2 --ff 4864 --weights f16 --quant q8_0 \
      --threads 4 --ctx 8192 --tokens 128 --streams 8 --prefix 1500 2>&1 | grep -v "\] \[warning\]"
    timeout 120 build/cuda/engine_bench --model "$q" --threads 4 --ctx 8192 --tokens 128 \
      --streams 8 --prefix 1500 --min-saved-run 0 2>&1 | grep -v "\] \[warning\]"
  fi
  if [[ $steps == *" llama-bench "* ]]; then
    stamp "llama-bench on the same file (all layers on the GPU)"
    [ -f "$q" ] && timeout 120 "$llama_dir/build/bin/llama-bench" -m "$q" -ngl 99 -p 512,2000 -n 128 -r 3
  fi
  stamp "done"
  ;;
*)
  sed -n 2,16p "$0"; exit 2 ;;
esac

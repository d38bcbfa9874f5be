#pragma once
// Sandbox: runs untrusted Python (HumanEval-style tests of model-written code) in a child
// process with resource limits (address space, CPU time, file size, open files, no core dumps),
// its own process group, an empty temporary working directory, no stdin, and — where the kernel
// allows unprivileged user namespaces — a new network namespace with no interfaces. A wall-clock
// timeout kills the whole group. Blocking: call it from a worker thread, never an I/O thread.
// Thread-safe (each call is independent).

#include <chrono>
#include <cstdint>
#include <string>

#include "switchyard/core/status.h"

namespace switchyard::eval {

struct SandboxOptions {
  std::chrono::milliseconds timeout{10'000};
  std::uint64_t memory_bytes = std::uint64_t{1} << 30;
  std::string python;  // interpreter; "" = /usr/bin/python3, else python3 on PATH
  std::size_t max_output = 4096;
};

struct SandboxResult {
  int exit_code = -1;      // the process's exit status; -1 when killed by a signal
  int signal = 0;          // the signal that killed it, if any
  bool timed_out = false;
  bool network_isolated = false;  // a private network namespace was in effect
  std::string output;             // stdout and stderr, truncated to max_output
};

// Fails only when the child could not be started (no temp dir, fork failure).
Result<SandboxResult> runPython(const std::string& program, const SandboxOptions& options = {});

}  // namespace switchyard::eval

#pragma once
// Thread names and scheduling for the program's own threads.

#include <string_view>

namespace switchyard {

// Names the calling thread as `top -H`, `perf` and gdb show it (at most 15 bytes are kept).
void setCurrentThreadName(std::string_view name);

// Background work that must never delay a request: puts the calling thread under SCHED_IDLE
// (it runs only on CPU time that no normal thread wants, so a woken I/O thread takes its core
// at once). One way only: an unprivileged thread cannot return to normal scheduling. Returns
// false if the kernel refused (a seccomp profile may); the thread then keeps its policy.
bool setCurrentThreadBackground();

}  // namespace switchyard

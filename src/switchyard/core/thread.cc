#include "switchyard/core/thread.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>

namespace switchyard {

void setCurrentThreadName(std::string_view name) {
  std::array<char, 16> buf{};  // the kernel's TASK_COMM_LEN, NUL included
  const std::size_t n = std::min(name.size(), buf.size() - 1);
  std::copy_n(name.data(), n, buf.data());
  (void)::pthread_setname_np(::pthread_self(), buf.data());
}

bool setCurrentThreadBackground() {
  sched_param param{};
  return ::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &param) == 0;
}

}  // namespace switchyard

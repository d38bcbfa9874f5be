#pragma once
// What the throwaway servers that tests start (PostgreSQL, Redis) have in common.

#include <string>

namespace switchyard::testing {

// A loopback TCP port that was free a moment ago (bound, read, released), or 0.
int freeLoopbackPort();
// A small text file whole (a server's log for an error message); "" when unreadable.
std::string readTextFile(const std::string& path);

}  // namespace switchyard::testing

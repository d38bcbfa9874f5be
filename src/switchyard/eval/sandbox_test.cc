#include "switchyard/eval/sandbox.h"

#include <gtest/gtest.h>

namespace switchyard::eval {
namespace {

TEST(SandboxTest, RunsPythonAndReportsExitAndOutput) {
  auto ok = runPython("print('hello')\n");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->exit_code, 0);
  EXPECT_EQ(ok->output, "hello\n");
  EXPECT_FALSE(ok->timed_out);

  auto bad = runPython("assert 1 == 2\n");
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->exit_code, 0);
  EXPECT_NE(bad->output.find("AssertionError"), std::string::npos);
}

TEST(SandboxTest, KillsOnTimeout) {
  SandboxOptions o;
  o.timeout = std::chrono::milliseconds(300);
  auto r = runPython("while True:\n    pass\n", o);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->timed_out);
  EXPECT_NE(r->exit_code, 0);
}

TEST(SandboxTest, LimitsMemory) {
  SandboxOptions o;
  o.memory_bytes = std::uint64_t{256} << 20;
  auto r = runPython("x = bytearray(1024 * 1024 * 1024)\n", o);
  ASSERT_TRUE(r);
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->output.find("MemoryError"), std::string::npos) << r->output;
}

TEST(SandboxTest, NoNetworkWhenNamespacesAreAvailable) {
  auto r = runPython(
      "import socket\ns = socket.socket()\ns.settimeout(1)\n"
      "try:\n    s.connect(('1.1.1.1', 80))\n    print('connected')\n"
      "except OSError as e:\n    print('blocked', e)\n");
  ASSERT_TRUE(r);
  if (!r->network_isolated) GTEST_SKIP() << "no unprivileged network namespaces here";
  EXPECT_NE(r->output.find("blocked"), std::string::npos) << r->output;
}

}  // namespace
}  // namespace switchyard::eval

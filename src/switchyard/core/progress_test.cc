#include "switchyard/core/progress.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace switchyard {
namespace {

TEST(ProgressBarTest, PlainOutputPrintsQuartersAndASummary) {
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("loading tiny", 200, "MB");
    bar.setInteractive(false);
    for (int i = 0; i <= 200; ++i) bar.set(static_cast<std::uint64_t>(i));
    bar.done("2 layers");
  }
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("loading tiny:   0% 0/200 MB\n"), std::string::npos) << out;
  EXPECT_NE(out.find("loading tiny:  25% 50/200 MB\n"), std::string::npos) << out;
  EXPECT_NE(out.find("loading tiny:  75% 150/200 MB\n"), std::string::npos) << out;
  EXPECT_NE(out.find("loading tiny: 100% 200/200 MB\n"), std::string::npos) << out;
  EXPECT_NE(out.find("loading tiny: done in "), std::string::npos) << out;
  EXPECT_NE(out.find("(2 layers)\n"), std::string::npos) << out;
  // Five progress lines (0, 25, 50, 75, 100%) and the summary: not one per update.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 6) << out;
}

TEST(ProgressBarTest, SaysWhereItStoppedWhenAbandoned) {
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("quantize");
    bar.setInteractive(false);
    bar.update(0.4);
  }
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("quantize:  40%\n"), std::string::npos) << out;
  EXPECT_NE(out.find("quantize: stopped at 40%\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("done"), std::string::npos) << out;
}

TEST(ProgressBarTest, SilentWhenNothingWasReported) {
  testing::internal::CaptureStderr();
  { ProgressBar bar("idle"); }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace switchyard

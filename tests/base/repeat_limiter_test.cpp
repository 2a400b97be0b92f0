// Repeated log lines at a falling rate: the first logged, then summaries 10 s, 20 s,
// 40 s ... apart, and news again once the condition ended.
#include "base/repeat_limiter.hpp"

#include <gtest/gtest.h>

namespace tether::base {
namespace {

using namespace std::chrono_literals;
const auto t0 = repeat_limiter::clock::time_point{} + 100h;

TEST(RepeatLimiter, AClosedPortEveryTwoSecondsForAnHourLogsAFewLines) {
  repeat_limiter r;
  int lines = 0;
  std::string last;
  for (auto t = 0s; t < 3600s; t += 2s) {
    if (auto l = r.note("2350@phone", "port 2350 is closed: is the app running?", t0 + t)) {
      ++lines;
      last = *l;
    }
  }
  // 1 + summaries at 10, 30, 70, 150, 310, 630, 1270, 2550 s: 9 lines where there were 1800.
  EXPECT_EQ(lines, 9);
  EXPECT_EQ(last,
            "port 2350 is closed: is the app running? (640 times in the last 1280 s; next "
            "summary in 2560 s)");
}

TEST(RepeatLimiter, TheFirstOccurrenceIsLoggedWholeAndRepeatsAreCounted) {
  repeat_limiter r;
  EXPECT_EQ(r.note("k", "closed", t0), "closed");
  EXPECT_EQ(r.note("k", "closed", t0 + 2s), std::nullopt);
  EXPECT_EQ(r.note("k", "closed", t0 + 4s), std::nullopt);
  EXPECT_EQ(r.note("k", "closed", t0 + 10s),
            "closed (3 times in the last 10 s; next summary in 20 s)");
  EXPECT_EQ(r.note("other", "also closed", t0 + 11s), "also closed");  // keys are apart
}

TEST(RepeatLimiter, NewsAgainAfterTheConditionEndsOrAnHourOfQuiet) {
  repeat_limiter r;
  r.note("k", "closed", t0);
  EXPECT_EQ(r.note("k", "closed", t0 + 1s), std::nullopt);
  r.forget("k");  // the app answered
  EXPECT_EQ(r.note("k", "closed", t0 + 2s), "closed");
  EXPECT_EQ(r.note("k", "closed", t0 + 2s + 3601s), "closed");
}

TEST(RepeatLimiter, DistinctKeysAreBounded) {
  repeat_limiter r;
  for (int i = 0; i < 10000; ++i) r.note(std::to_string(i), "x", t0 + std::chrono::seconds(i));
  EXPECT_EQ(r.keys(), repeat_limiter::max_keys);
}

}  // namespace
}  // namespace tether::base

// The live-view meter, without threads or a camera. (The mailbox: tests/base.)
#include "camera/live_view_meter.hpp"

#include <gtest/gtest.h>

namespace tether::camera {
namespace {

using namespace std::chrono_literals;

TEST(LiveViewMeter, RateAgeAndDropsPerWindow) {
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  live_view_meter m(t0);
  m.delivered(t0, t0 + 10ms);
  m.delivered(t0 + 100ms, t0 + 130ms);
  auto s = m.close_window(5, t0 + 1s);
  EXPECT_DOUBLE_EQ(s.fps, 2.0);
  EXPECT_DOUBLE_EQ(s.mean_age_ms, 20.0);
  EXPECT_DOUBLE_EQ(s.max_age_ms, 30.0);
  EXPECT_EQ(s.dropped, 5u);
  s = m.close_window(7, t0 + 2s);  // the next window counts only what is new
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_EQ(s.delivered, 0u);
  EXPECT_DOUBLE_EQ(s.max_age_ms, 0.0);
}

}  // namespace
}  // namespace tether::camera

// A peer that was sent bytes and has not answered for the limit is reported once.
#include "base/silence_watch.hpp"

#include <gtest/gtest.h>

namespace tether::base {
namespace {

using namespace std::chrono_literals;
const auto s0 = silence_watch::clock::time_point{} + 100h;

TEST(SilenceWatch, ReportsOnceWhenAWaitLastsTheLimit) {
  silence_watch w(5s);
  EXPECT_FALSE(w.due(s0 + 60s)) << "nothing sent, nothing awaited";
  EXPECT_EQ(w.waiting(s0), s0 + 5s);
  EXPECT_EQ(w.waiting(s0 + 1s), std::nullopt) << "more bytes do not restart the wait";
  EXPECT_FALSE(w.due(s0 + 4900ms));
  EXPECT_EQ(w.deadline(), s0 + 5s);
  EXPECT_TRUE(w.due(s0 + 5s));
  EXPECT_FALSE(w.due(s0 + 10s)) << "once per connection";
  EXPECT_EQ(w.deadline(), std::nullopt);
  EXPECT_TRUE(w.answered()) << "back after being reported";
  w.waiting(s0 + 20s);
  EXPECT_FALSE(w.due(s0 + 30s)) << "still once per connection";
}

TEST(SilenceWatch, AnAnswerEndsTheWait) {
  silence_watch w(5s);
  w.waiting(s0);
  EXPECT_FALSE(w.answered()) << "never reported";
  EXPECT_FALSE(w.due(s0 + 6s));
  EXPECT_EQ(w.deadline(), std::nullopt);
  EXPECT_EQ(w.waiting(s0 + 7s), s0 + 12s) << "a new wait starts at the next send";
  EXPECT_FALSE(w.due(s0 + 11s));
  EXPECT_TRUE(w.due(s0 + 12s));
}

}  // namespace
}  // namespace tether::base

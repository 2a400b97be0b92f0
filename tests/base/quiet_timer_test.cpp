#include "base/quiet_timer.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tether::base {
namespace {

using namespace std::chrono_literals;

TEST(QuietTimer, FiresAtItsDeadline) {
  asio::io_context io;
  quiet_timer t(io);
  const auto start = quiet_timer::clock::now();
  std::error_code got = asio::error::would_block;
  quiet_timer::clock::time_point when;
  t.expires_after(30ms);
  t.async_wait([&](std::error_code ec) {
    got = ec;
    when = quiet_timer::clock::now();
  });
  io.run_for(1s);
  EXPECT_FALSE(got);
  EXPECT_GE(when - start, 30ms);
  EXPECT_LT(when - start, 500ms);
}

TEST(QuietTimer, CancelAbortsAndNothingFiresLater) {
  asio::io_context io;
  quiet_timer t(io);
  std::vector<std::error_code> calls;
  t.expires_after(20ms);
  t.async_wait([&](std::error_code ec) { calls.push_back(ec); });
  t.cancel();
  io.run_for(100ms);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], asio::error::operation_aborted);
}

TEST(QuietTimer, RearmingAbortsThePendingWaitAndWaitsDoNotPileUp) {
  // device_link re-arms on every flush: ten thousand re-arms must leave one wait.
  asio::io_context io;
  quiet_timer t(io);
  int aborted = 0, fired = 0;
  for (int i = 0; i < 10000; ++i) {
    t.expires_after(20ms);
    t.async_wait([&](std::error_code ec) { ++(ec ? aborted : fired); });
  }
  io.run_for(200ms);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(aborted, 9999);
}

TEST(QuietTimer, DestroyingAbortsThePendingWait) {
  asio::io_context io;
  std::error_code got;
  {
    quiet_timer t(io);
    t.expires_after(10ms);
    t.async_wait([&](std::error_code ec) { got = ec; });
  }
  io.run_for(50ms);
  EXPECT_EQ(got, asio::error::operation_aborted);
}

}  // namespace
}  // namespace tether::base

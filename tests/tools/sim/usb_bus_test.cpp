#include "tools/sim/usb_bus.hpp"

#include <gtest/gtest.h>

namespace tether::sim {
namespace {

using namespace std::chrono_literals;
const usb_bus::clock::time_point t0{};

TEST(UsbBus, TransfersQueueBehindEachOtherAtTheRate) {
  usb_bus bus(40e6, 0us);  // 40 MB/s: 40 kB takes 1 ms
  EXPECT_EQ(bus.schedule(40'000, t0), t0 + 1ms);
  EXPECT_EQ(bus.schedule(40'000, t0), t0 + 2ms);          // the bus was busy: waits its turn
  EXPECT_EQ(bus.schedule(40'000, t0 + 10ms), t0 + 11ms);  // idle bus: starts at once
}

TEST(UsbBus, LatencyDelaysCompletionButNotTheNextTransfer) {
  usb_bus bus(40e6, 250us);
  EXPECT_EQ(bus.schedule(40'000, t0), t0 + 1ms + 250us);
  EXPECT_EQ(bus.schedule(40'000, t0), t0 + 2ms + 250us);
}

TEST(UsbBus, RateZeroIsUnlimited) {
  usb_bus bus(0, 0us);
  EXPECT_TRUE(bus.unlimited());
  EXPECT_EQ(bus.schedule(1 << 20, t0 + 5ms), t0 + 5ms);
}

}  // namespace
}  // namespace tether::sim

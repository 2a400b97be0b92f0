#include "tools/sim/usb_bus.hpp"

#include <gtest/gtest.h>

namespace tether::sim {
namespace {

using namespace std::chrono_literals;
const usb_bus::clock::time_point t0{};

TEST(UsbBus, TransfersQueueBehindEachOtherAtTheRate) {
  usb_bus bus(40e6, 0us);  // 40 MB/s: 40 kB takes 1 ms
  EXPECT_EQ(bus.schedule(40'000, true, t0), t0 + 1ms);
  EXPECT_EQ(bus.schedule(40'000, true, t0), t0 + 2ms);          // the bus was busy: waits its turn
  EXPECT_EQ(bus.schedule(40'000, true, t0 + 10ms), t0 + 11ms);  // idle bus: starts at once
}

TEST(UsbBus, LatencyDelaysCompletionButNotTheNextTransfer) {
  usb_bus bus(40e6, 250us);
  EXPECT_EQ(bus.schedule(40'000, true, t0), t0 + 1ms + 250us);
  EXPECT_EQ(bus.schedule(40'000, true, t0), t0 + 2ms + 250us);
}

TEST(UsbBus, Usb2IsHalfDuplexUsb3HasALaneEachWay) {
  usb_bus usb2(40e6, 0us);  // one bus: an OUT transfer waits for the IN one
  EXPECT_EQ(usb2.schedule(40'000, true, t0), t0 + 1ms);
  EXPECT_EQ(usb2.schedule(40'000, false, t0), t0 + 2ms);
  usb_bus usb3(40e6, 0us, true);  // dual simplex: each direction on its own lane
  EXPECT_EQ(usb3.schedule(40'000, true, t0), t0 + 1ms);
  EXPECT_EQ(usb3.schedule(40'000, false, t0), t0 + 1ms);
  EXPECT_EQ(usb3.schedule(40'000, true, t0), t0 + 2ms);  // same lane: waits its turn
}

TEST(UsbBus, RateZeroIsUnlimited) {
  usb_bus bus(0, 0us);
  EXPECT_TRUE(bus.unlimited());
  EXPECT_EQ(bus.schedule(1 << 20, true, t0 + 5ms), t0 + 5ms);
}

}  // namespace
}  // namespace tether::sim

// The one-slot mailbox: its rules without threads, then a producer and a taker on two
// threads (the TSan stage runs this file).
#include "base/latest_slot.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

namespace tether::base {
namespace {

TEST(LatestSlot, NewestWinsAndReplacedValuesAreCounted) {
  latest_slot<std::shared_ptr<const int>> box;
  EXPECT_FALSE(box.take());
  EXPECT_TRUE(box.put(std::make_shared<const int>(1)));   // empty: the taker needs a wake-up
  EXPECT_FALSE(box.put(std::make_shared<const int>(2)));  // full: it has one coming already
  EXPECT_FALSE(box.put(std::make_shared<const int>(3)));
  EXPECT_EQ(box.replaced(), 2u);
  EXPECT_EQ(**box.take(), 3);
  EXPECT_FALSE(box.take());
  EXPECT_TRUE(box.put(std::make_shared<const int>(4)));
}

TEST(LatestSlot, ATakerOnAnotherThreadSeesNewerValuesOnlyAndNoneIsLost) {
  constexpr int kValues = 5000;
  latest_slot<int> box;
  std::thread producer([&] {
    for (int i = 1; i <= kValues; ++i) box.put(i);
  });
  int last = 0;
  std::uint64_t taken = 0;
  while (last < kValues) {
    if (auto v = box.take()) {
      ASSERT_GT(*v, last) << "a taker must never see an older value than one it has seen";
      last = *v;
      ++taken;
    } else {
      // Not a spin: under qemu-user (the arm64 stage) a taker hammering the lock
      // starved the producer for minutes.
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }
  producer.join();
  // Every value was either taken or counted as replaced.
  EXPECT_EQ(taken + box.replaced(), static_cast<std::uint64_t>(kValues));
  EXPECT_FALSE(box.take());
}

}  // namespace
}  // namespace tether::base

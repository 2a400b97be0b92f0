// The one-slot mailbox, without threads.
#include "base/latest_slot.hpp"

#include <gtest/gtest.h>

#include <memory>

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

}  // namespace
}  // namespace tether::base

#include "usbmux/core/byte_fifo.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "wire_helpers.hpp"

namespace tether::usbmux::test {
namespace {

TEST(ByteFifo, KeepsOrderAcrossCompaction) {
  byte_fifo f;
  std::string expect;
  std::size_t next = 0;
  for (int round = 0; round < 200; ++round) {
    std::string chunk;
    for (int i = 0; i < 37; ++i) chunk.push_back(static_cast<char>('a' + (next++ % 26)));
    f.append(text_bytes(chunk));
    expect += chunk;
    const std::size_t take = static_cast<std::size_t>(round % 50);
    ASSERT_EQ(as_string(f.data()), expect);
    f.consume(std::min(take, f.size()));
    expect.erase(0, std::min(take, expect.size()));
  }
  EXPECT_EQ(as_string(f.data()), expect);
}

TEST(ByteFifo, ConsumingEverythingEmpties) {
  byte_fifo f;
  f.append(text_bytes("abc"));
  f.consume(3);
  EXPECT_TRUE(f.empty());
  EXPECT_EQ(f.data().size(), 0u);
}

TEST(ByteFifo, PreparedRoomIsFilledInPlaceThenCommitted) {
  byte_fifo f;
  f.append(text_bytes("ab"));
  auto room = f.prepare(5);
  ASSERT_EQ(room.size(), 5u);
  std::memcpy(room.data(), "cdefg", 5);
  EXPECT_EQ(f.size(), 2u);  // not there until committed
  EXPECT_TRUE(f.commit(3));
  EXPECT_EQ(as_string(f.data()), "abcde");
  EXPECT_FALSE(f.commit(1));  // the room went with the commit
}

TEST(ByteFifo, CommitBeyondTheRoomOrAfterAChangeIsRefused) {
  byte_fifo f;
  (void)f.prepare(4);
  EXPECT_FALSE(f.commit(5));
  EXPECT_TRUE(f.empty());
  f.append(text_bytes("xy"));
  (void)f.prepare(4);
  f.consume(2);  // empties the FIFO: the room it lent may have moved
  EXPECT_FALSE(f.commit(1));
  EXPECT_TRUE(f.empty());
  (void)f.prepare(4);
  EXPECT_TRUE(f.commit(0));
  EXPECT_TRUE(f.empty());
}

TEST(ByteFifo, PrepareKeepsOrderAcrossCompactionAndGrowth) {
  byte_fifo f;
  std::string expect;
  for (int round = 0; round < 300; ++round) {
    const std::size_t want = static_cast<std::size_t>(1 + (round * 7919) % 3000);
    auto room = f.prepare(want);
    for (std::size_t i = 0; i < want; ++i) room[i] = static_cast<std::byte>('a' + (round % 26));
    ASSERT_TRUE(f.commit(want / 2));
    expect.append(want / 2, static_cast<char>('a' + (round % 26)));
    const std::size_t take = std::min(f.size(), static_cast<std::size_t>((round * 31) % 2000));
    f.consume(take);
    expect.erase(0, take);
    ASSERT_EQ(as_string(f.data()), expect);
  }
}

}  // namespace
}  // namespace tether::usbmux::test

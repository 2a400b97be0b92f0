#include "usbmux/core/byte_fifo.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tether::usbmux::test

#include "base/byte_order.hpp"

#include <gtest/gtest.h>

#include <array>

namespace tether::base {
namespace {

TEST(ByteOrder, BigEndianPutsTheHighByteFirst) {
  std::array<std::byte, 8> b{};
  store_be16(b.data(), 0x0102);
  EXPECT_EQ(b[0], std::byte{0x01});
  EXPECT_EQ(load_be16(b.data()), 0x0102);
  store_be32(b.data(), 0x01020304u);
  EXPECT_EQ(b[3], std::byte{0x04});
  EXPECT_EQ(load_be32(b.data()), 0x01020304u);
  store_be64(b.data(), 0x0102030405060708ull);
  EXPECT_EQ(b[0], std::byte{0x01});
  EXPECT_EQ(b[7], std::byte{0x08});
  EXPECT_EQ(load_be64(b.data()), 0x0102030405060708ull);
}

TEST(ByteOrder, LittleEndianPutsTheLowByteFirst) {
  std::array<std::byte, 8> b{};
  store_le16(b.data(), 0x0102);
  EXPECT_EQ(b[0], std::byte{0x02});
  EXPECT_EQ(load_le16(b.data()), 0x0102);
  store_le32(b.data(), 0x01020304u);
  EXPECT_EQ(b[0], std::byte{0x04});
  EXPECT_EQ(load_le32(b.data()), 0x01020304u);
  store_le64(b.data(), 0xF102030405060708ull);
  EXPECT_EQ(b[0], std::byte{0x08});
  EXPECT_EQ(b[7], std::byte{0xF1});
  EXPECT_EQ(load_le64(b.data()), 0xF102030405060708ull);
  const unsigned char setup[] = {0x34, 0x12, 0x78, 0x56};
  EXPECT_EQ(load_le16(setup), 0x1234);
  EXPECT_EQ(load_le32(setup), 0x56781234u);
}

}  // namespace
}  // namespace tether::base

#include "tools/sim/ptp/ptp_container.hpp"

#include <gtest/gtest.h>

namespace tether::sim::ptp {
namespace {

bytes b(std::initializer_list<int> v) {
  bytes out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

TEST(PtpContainer, CommandEncodesLittleEndianWithParams) {
  // OpenSession(1) in transaction 0, as libgphoto2 sends it.
  const container c{container_type::command, op::open_session, 0, {1}, {}};
  EXPECT_EQ(encode(c), b({0x10, 0, 0, 0, 0x01, 0, 0x02, 0x10, 0, 0, 0, 0, 0x01, 0, 0, 0}));
}

TEST(PtpContainer, DataCarriesPayloadNotParams) {
  const container c{container_type::data, op::get_device_prop_value, 7, {}, b({0x20, 0x03})};
  EXPECT_EQ(encode(c), b({0x0e, 0, 0, 0, 0x02, 0, 0x15, 0x10, 7, 0, 0, 0, 0x20, 0x03}));
}

TEST(PtpContainer, DecodeRoundTripsAndRejectsMalformed) {
  const auto wire = b({0x14, 0, 0, 0, 0x03, 0, 0x01, 0x20, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0});
  auto c = decode(wire);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->type, container_type::response);
  EXPECT_EQ(c->code, rc::ok);
  EXPECT_EQ(c->transaction, 5u);
  EXPECT_EQ(c->params, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_FALSE(decode(b({0x0c, 0, 0, 0, 0x01, 0})));                             // short
  EXPECT_FALSE(decode(b({0x0d, 0, 0, 0, 0x01, 0, 1, 0x10, 0, 0, 0, 0})));        // length lies
  EXPECT_FALSE(decode(b({0x0c, 0, 0, 0, 0x09, 0, 1, 0x10, 0, 0, 0, 0})));        // type 9
  EXPECT_FALSE(decode(b({0x0e, 0, 0, 0, 0x01, 0, 1, 0x10, 0, 0, 0, 0, 1, 0})));  // half param
}

TEST(PtpContainer, AssemblerJoinsSplitTransfersAndSkipsZeroLength) {
  container_assembler a;
  const auto one = encode({container_type::command, op::get_storage_ids, 1, {}, {}});
  const auto two = encode({container_type::data, op::set_device_prop_value, 2, {}, bytes(600)});
  bytes stream = one;
  stream.insert(stream.end(), two.begin(), two.end());
  a.feed(std::span(stream).first(5));
  EXPECT_FALSE(a.next());
  a.feed(std::span(stream).subspan(5, 512));
  a.feed({});  // the zero-length packet after a full one
  ASSERT_EQ(a.next(), one);
  EXPECT_FALSE(a.next());
  a.feed(std::span(stream).subspan(517));
  EXPECT_EQ(a.next(), two);
  EXPECT_EQ(a.buffered(), 0u);
}

TEST(PtpContainer, AssemblerGivesUpOnImpossibleLength) {
  container_assembler a;
  a.feed(b({4, 0, 0, 0, 1, 0}));
  EXPECT_FALSE(a.next());
  EXPECT_TRUE(a.broken());
  a.reset();
  EXPECT_FALSE(a.broken());
}

TEST(PtpDataset, StringsArraysAndSignedValues) {
  writer w;
  w.str("AB").str("");
  const std::uint16_t codes[] = {0x5001, 0xd1a2};
  w.u16_array(codes).value(data_type::int16, -333);
  EXPECT_EQ(w.view(),
            b({3, 'A', 0, 'B', 0, 0, 0, 0, 2, 0, 0, 0, 0x01, 0x50, 0xa2, 0xd1, 0xb3, 0xfe}));
  reader r(w.view());
  EXPECT_EQ(r.str(), "AB");
  EXPECT_EQ(r.str(), "");
  EXPECT_EQ(r.u32(), 2u);
  EXPECT_EQ(r.u16(), 0x5001);
  EXPECT_EQ(r.u16(), 0xd1a2);
  EXPECT_EQ(r.value(data_type::int16), -333);
  EXPECT_EQ(r.left(), 0u);
  EXPECT_FALSE(r.u16());
}

}  // namespace
}  // namespace tether::sim::ptp

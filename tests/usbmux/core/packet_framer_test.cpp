#include "usbmux/core/packet_framer.hpp"

#include <gtest/gtest.h>

#include "wire_helpers.hpp"

namespace tether::usbmux::test {
namespace {

struct collected {
  std::vector<bytes> packets;
  std::error_code feed(packet_framer& f, std::span<const std::byte> in) {
    return f.feed(in, [this](std::span<const std::byte> p) {
      packets.emplace_back(p.begin(), p.end());
      return std::error_code{};
    });
  }
};

bytes three_packets() {
  bytes all;
  for (const bytes& p :
       {version_packet(2), tcp_packet(header_format::v2, th(1, 2, 3, 4, tcp_flag::ack), "hello"),
        mux_packet(header_format::v2, protocol::control, text_bytes("\x07info"))}) {
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}

TEST(PacketFramer, CoalescedTransferYieldsEachPacket) {
  packet_framer f(65536);
  collected c;
  ASSERT_FALSE(c.feed(f, three_packets()));
  ASSERT_EQ(c.packets.size(), 3u);
  EXPECT_EQ(c.packets[0], version_packet(2));
  EXPECT_EQ(f.buffered(), 0u);
}

// Every split point of the stream gives the same packets (Beast's "parsegrind").
class PacketFramerSplit : public ::testing::TestWithParam<int> {};

TEST_P(PacketFramerSplit, SameResultAtEverySplitPoint) {
  const bytes all = three_packets();
  const auto cut = static_cast<std::size_t>(GetParam());
  if (cut > all.size()) GTEST_SKIP();
  packet_framer f(65536);
  collected c;
  ASSERT_FALSE(c.feed(f, std::span(all).first(cut)));
  ASSERT_FALSE(c.feed(f, std::span(all).subspan(cut)));
  ASSERT_EQ(c.packets.size(), 3u);
  collected whole;
  packet_framer g(65536);
  ASSERT_FALSE(whole.feed(g, all));
  EXPECT_EQ(c.packets, whole.packets);
}
INSTANTIATE_TEST_SUITE_P(AllOffsets, PacketFramerSplit, ::testing::Range(0, 83));

TEST(PacketFramer, ByteByByte) {
  const bytes all = three_packets();
  packet_framer f(65536);
  collected c;
  for (std::byte b : all) ASSERT_FALSE(c.feed(f, std::span(&b, 1)));
  EXPECT_EQ(c.packets.size(), 3u);
}

TEST(PacketFramer, LengthShorterThanHeaderIsFatal) {
  packet_framer f(65536);
  collected c;
  EXPECT_EQ(c.feed(f, hex("00 00 00 06 00 00 00 07")), errc::bad_packet_length);
}

TEST(PacketFramer, OversizedPacketIsRejectedBeforeBuffering) {
  packet_framer f(65536);
  collected c;
  // Announces 65537 bytes: refused from the header alone, nothing is buffered.
  EXPECT_EQ(c.feed(f, hex("00 00 00 06 00 01 00 01")), errc::packet_too_large);
  packet_framer g(65536);
  EXPECT_EQ(c.feed(g, hex("00 00 00 06 00 01")), std::error_code{});
  EXPECT_EQ(c.feed(g, hex("00 01")), errc::packet_too_large);
  EXPECT_EQ(g.buffered(), 0u);
}

TEST(PacketFramer, CallbackErrorStopsFeeding) {
  packet_framer f(65536);
  int calls = 0;
  const auto ec = f.feed(three_packets(), [&](std::span<const std::byte>) {
    ++calls;
    return make_error_code(errc::unknown_protocol);
  });
  EXPECT_EQ(ec, errc::unknown_protocol);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace tether::usbmux::test

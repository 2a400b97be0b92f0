#include "usbmux/core/tcp_header.hpp"

#include <gtest/gtest.h>

#include "wire_helpers.hpp"

namespace tether::usbmux::test {
namespace {

// First row of the sample handshake in a usbmuxd debug log posted in
// libimobiledevice/usbmuxd#96 (docs/usbmux-wire.md 3.2; the window is scaled by 256 as in
// usbmuxd's send_tcp()):
// OUT 2->62078 seq 0 ack 0 flags 0x02 window 131072 (wire 512).
TEST(TcpHeader, EncodesReferenceSyn) {
  bytes out(20);
  encode(th(2, 62078, 0, 0, tcp_flag::syn, window_to_wire(131072)), std::span(out).first<20>());
  EXPECT_EQ(to_hex(out), "00 02 f2 7e 00 00 00 00 00 00 00 00 50 02 02 00 00 00 00 00");
}

TEST(TcpHeader, DecodesReferenceSynAck) {
  // IN 62078->2 seq 0 ack 1 flags 0x12 window wire 512 (the same log, usbmuxd#96).
  const bytes in = hex("f2 7e 00 02 00 00 00 00 00 00 00 01 50 12 02 00 00 00 00 00");
  const tcp_header h = decode_tcp_header(std::span<const std::byte>(in).first<20>());
  EXPECT_EQ(h.source_port, 62078);
  EXPECT_EQ(h.dest_port, 2);
  EXPECT_EQ(h.seq, 0u);
  EXPECT_EQ(h.ack, 1u);
  EXPECT_EQ(h.flags, tcp_flag::syn_ack);
  EXPECT_EQ(h.data_offset_words, 5);
  EXPECT_EQ(h.window_bytes(), 131072u);
}

TEST(TcpHeader, WindowIsScaledBy256AndSaturates) {
  EXPECT_EQ(window_to_wire(131072), 512);
  EXPECT_EQ(window_to_wire(255), 0);
  EXPECT_EQ(window_to_wire(0x80000), 0x0800);
  EXPECT_EQ(window_to_wire(0xFFFFFFFF), 0xFFFF);
  EXPECT_EQ(th(0, 0, 0, 0, 0, 0xFFFF).window_bytes(), 0xFFFFu << 8);
}

TEST(TcpHeader, RoundTripWithHighSequenceNumbers) {
  const tcp_header h = th(65535, 1, 0xFFFFFFF0, 0x80000001, tcp_flag::rst, 7);
  bytes out(20);
  encode(h, std::span(out).first<20>());
  const tcp_header back = decode_tcp_header(std::span<const std::byte>(out).first<20>());
  EXPECT_EQ(back.source_port, 65535);
  EXPECT_EQ(back.seq, 0xFFFFFFF0u);
  EXPECT_EQ(back.ack, 0x80000001u);
  EXPECT_EQ(back.flags, tcp_flag::rst);
  EXPECT_EQ(back.window_wire, 7);
}

}  // namespace
}  // namespace tether::usbmux::test

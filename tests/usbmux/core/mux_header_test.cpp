#include "usbmux/core/mux_header.hpp"

#include <gtest/gtest.h>

#include "usbmux/core/errc.hpp"
#include "usbmux/core/version_packet.hpp"
#include "wire_helpers.hpp"

namespace tether::usbmux::test {
namespace {

// The host's VERSION offer, byte for byte (docs/usbmux-wire.md 2.2: usbmuxd 1.1.1
// src/device.c, device_add(), struct version_header: major 2, minor 0, padding 0, v1 header).
const char* const reference_version =
    "00 00 00 00 | 00 00 00 14 | 00 00 00 02 | 00 00 00 00 | 00 00 00 00";
// The SETUP packet that follows in a 16-byte header (docs/usbmux-wire.md 2.3: usbmuxd
// src/device.c, device_version_input(): counters reset to tx 0 / rx 0xFFFF, payload 0x07).
const char* const reference_setup = "00 00 00 02 | 00 00 00 11 | FE ED FA CE | 00 00 | FF FF | 07";

TEST(MuxHeader, VersionOfferMatchesReferenceBytes) {
  EXPECT_EQ(to_hex(version_packet(2, 0)), to_hex(hex(reference_version)));
}

TEST(MuxHeader, DecodesReferenceSetupAsV2) {
  const bytes setup = hex(reference_setup);
  auto h = decode_mux_header(setup, header_format::v2);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->proto, protocol::setup);
  EXPECT_EQ(h->length, 17u);
  EXPECT_EQ(h->magic, v2_magic);
  EXPECT_EQ(h->tx_seq, 0u);
  EXPECT_EQ(h->rx_seq, 0xFFFFu);
  EXPECT_EQ(setup.back(), std::byte{setup_byte});
}

TEST(MuxHeader, V2RoundTripKeepsEveryField) {
  mux_header h{protocol::tcp, 0x01020304, 0xFACEFACE, 0xBEEF, 0x1234};
  bytes out(16);
  encode(h, header_format::v2, out);
  EXPECT_EQ(to_hex(out), "00 00 00 06 01 02 03 04 fa ce fa ce be ef 12 34");
  auto back = decode_mux_header(out, header_format::v2);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->magic, 0xFACEFACEu);  // magic is reported, never validated
  EXPECT_EQ(back->tx_seq, 0xBEEFu);
  EXPECT_EQ(back->rx_seq, 0x1234u);
}

TEST(MuxHeader, V1WritesOnlyEightBytes) {
  bytes out(16, std::byte{0xAA});
  encode(mux_header{protocol::control, 9}, header_format::v1, out);
  EXPECT_EQ(to_hex(out), "00 00 00 01 00 00 00 09 aa aa aa aa aa aa aa aa");
}

TEST(MuxHeader, ShortInputIsAnErrorNotARead) {
  const bytes seven(7);
  EXPECT_EQ(decode_mux_header(seven, header_format::v1).error(), errc::bad_packet_length);
  const bytes fifteen(15);
  EXPECT_EQ(decode_mux_header(fifteen, header_format::v2).error(), errc::bad_packet_length);
}

TEST(VersionPayload, RoundTrip) {
  bytes b(12);
  encode(version_payload{1, 7, 0}, std::span(b).first<12>());
  EXPECT_EQ(to_hex(b), "00 00 00 01 00 00 00 07 00 00 00 00");
  const auto v = decode_version_payload(std::span<const std::byte>(b).first<12>());
  EXPECT_EQ(v.major, 1u);
  EXPECT_EQ(v.minor, 7u);
}

TEST(Errc, FatalCodesAreTheSessionEndingOnes) {
  EXPECT_TRUE(is_fatal(errc::packet_too_large));
  EXPECT_TRUE(is_fatal(errc::handshake_timeout));
  EXPECT_FALSE(is_fatal(errc::not_ready));
  EXPECT_FALSE(is_fatal(errc::unknown_connection));
  EXPECT_FALSE(is_fatal(std::error_code{}));
  EXPECT_STREQ(usbmux_category().name(), "tether.usbmux");
  EXPECT_EQ(make_error_code(errc::handshake_timeout).message(),
            "peer did not answer the VERSION handshake in time");
}

}  // namespace
}  // namespace tether::usbmux::test

#include "usbmux/core/device_session.hpp"

#include <gtest/gtest.h>

#include "usbmux/core/version_packet.hpp"
#include "wire_helpers.hpp"

namespace tether::usbmux::test {
namespace {

constexpr auto v2 = header_format::v2;

class DeviceSession : public ::testing::Test {
 protected:
  explicit DeviceSession(device_options o = {}) : phone(o) {}

  void handshake() {
    ASSERT_FALSE(phone.receive(version_packet(2)));
    drain(phone);
    ASSERT_FALSE(phone.receive(mux_packet(v2, protocol::setup, hex("07"), 0, 0xFFFF)));
    drain_events(phone);
  }

  device_session phone;
};

TEST_F(DeviceSession, AnswersVersion2InAnEightByteHeader) {
  ASSERT_FALSE(phone.receive(version_packet(2)));
  const auto out = drain(phone);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], version_packet(2, 0));
  EXPECT_EQ(phone.format(), v2);
  ASSERT_FALSE(phone.receive(mux_packet(v2, protocol::setup, hex("07"), 0, 0xFFFF)));
  EXPECT_EQ(phone.setup_packets(), 1u);
}

class OldPhone : public DeviceSession {
 protected:
  static device_options v1_only() {
    device_options o;
    o.version_major = 1;
    return o;
  }
  OldPhone() : DeviceSession(v1_only()) {}
};

TEST_F(OldPhone, AnswersVersion1AndStaysOnV1Headers) {
  ASSERT_FALSE(phone.receive(version_packet(2)));
  EXPECT_EQ(drain(phone).at(0), version_packet(1, 0));
  EXPECT_EQ(phone.format(), header_format::v1);
}

TEST_F(DeviceSession, AcceptsSynOnListeningPort) {
  handshake();
  phone.listen(2345);
  ASSERT_FALSE(phone.receive(tcp_packet(v2, th(7, 2345, 0, 0, tcp_flag::syn, 512))));
  const auto acc = only<events::accepted>(drain_events(phone));
  ASSERT_EQ(acc.size(), 1u);
  EXPECT_EQ(acc[0].port, 2345);
  EXPECT_EQ(acc[0].peer_port, 7);
  const auto out = drain_parsed(phone);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->flags, tcp_flag::syn_ack);
  EXPECT_EQ(out[0].tcp->source_port, 2345);
  EXPECT_EQ(out[0].tcp->dest_port, 7);
  EXPECT_EQ(out[0].tcp->seq, 0u);  // phones start at 0; their first data byte is seq 1
  EXPECT_EQ(out[0].tcp->ack, 1u);
  EXPECT_EQ(out[0].tcp->window_wire, 512);

  ASSERT_FALSE(phone.receive(tcp_packet(v2, th(7, 2345, 1, 1, tcp_flag::ack), "ping")));
  EXPECT_EQ(as_string(phone.received(acc[0].id)), "ping");
  ASSERT_TRUE(phone.send(acc[0].id, text_bytes("pong")));
  phone.consume(acc[0].id, 4);
  const auto reply = drain_parsed(phone);
  ASSERT_EQ(reply.size(), 1u);  // the ack rides on the data
  EXPECT_EQ(reply[0].tcp->seq, 1u);
  EXPECT_EQ(reply[0].tcp->ack, 5u);
  EXPECT_EQ(as_string(reply[0].body), "pong");
}

TEST_F(DeviceSession, RefusesClosedPortWithRstAndReason) {
  device_options o;
  o.refused_reason = "nobody home";
  device_session p(o);
  ASSERT_FALSE(p.receive(version_packet(2)));
  drain(p);
  ASSERT_FALSE(p.receive(tcp_packet(v2, th(7, 2345, 0, 0, tcp_flag::syn))));
  const auto out = drain_parsed(p);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->flags, tcp_flag::rst);
  EXPECT_EQ(out[0].tcp->dest_port, 7);
  EXPECT_EQ(as_string(out[0].body), "nobody home");
  EXPECT_EQ(p.connection_count(), 0u);
}

TEST_F(DeviceSession, DuplicateSynResetsTheConnection) {
  handshake();
  phone.listen(80);
  ASSERT_FALSE(phone.receive(tcp_packet(v2, th(7, 80, 0, 0, tcp_flag::syn))));
  ASSERT_FALSE(phone.receive(tcp_packet(v2, th(7, 80, 0, 0, tcp_flag::syn))));
  const auto closed = only<events::closed>(drain_events(phone));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, close_reason::protocol_violation);
}

TEST_F(DeviceSession, ConnectionLimitRefusesExtraSyns) {
  device_options o;
  o.max_connections = 2;
  device_session p(o);
  p.listen(80);
  ASSERT_FALSE(p.receive(version_packet(2)));
  drain(p);
  for (std::uint16_t sp = 1; sp <= 3; ++sp)
    ASSERT_FALSE(p.receive(tcp_packet(v2, th(sp, 80, 0, 0, tcp_flag::syn))));
  const auto out = drain_parsed(p);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].tcp->flags, tcp_flag::rst);
  EXPECT_EQ(p.connection_count(), 2u);
}

TEST_F(DeviceSession, VersionZeroIsRejected) {
  EXPECT_EQ(phone.receive(version_packet(0)), errc::unsupported_version);
}

}  // namespace
}  // namespace tether::usbmux::test

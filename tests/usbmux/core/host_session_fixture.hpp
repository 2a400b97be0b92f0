#pragma once
// The host session with a scripted phone that the host_session tests share: each test
// feeds the phone's packets by hand.
#include <gtest/gtest.h>

#include "usbmux/core/host_session.hpp"
#include "wire_helpers.hpp"

namespace tether::usbmux::test {

constexpr auto v2 = header_format::v2;

class HostSession : public ::testing::Test {
 protected:
  explicit HostSession(session_options o = {}) : host(o) {}

  void handshake(std::uint32_t major = 2) {
    host.start(t0);
    ASSERT_EQ(drain(host).size(), 1u);  // VERSION
    ASSERT_FALSE(host.receive(version_packet(major)));
    drain(host);  // SETUP
    drain_events(host);
  }

  // Opens a connection to `port` and completes the three-way handshake.
  conn_id open(std::uint16_t port = 2345, std::uint16_t phone_window_wire = 512) {
    auto id = host.connect(port, t0);
    EXPECT_TRUE(id);
    const auto syn = drain_parsed(host);
    EXPECT_EQ(syn.size(), 1u);
    sport = syn.at(0).tcp->source_port;
    EXPECT_FALSE(
        host.receive(tcp_packet(v2, th(port, sport, 0, 1, tcp_flag::syn_ack, phone_window_wire))));
    drain_parsed(host);  // the handshake ACK
    drain_events(host);
    return *id;
  }

  void phone_sends(std::uint16_t port, std::uint32_t seq, std::uint32_t ack, std::string_view data,
                   std::uint16_t window = 512, std::uint8_t flags = tcp_flag::ack) {
    ASSERT_FALSE(host.receive(tcp_packet(v2, th(port, sport, seq, ack, flags, window), data)));
  }

  host_session host;
  std::uint16_t sport = 0;
};

}  // namespace tether::usbmux::test

// The host session: handshake, connections, closing from our side, source ports, and a
// stream split at every byte. Data, windows and fatal errors: host_session_data_test.cpp.
#include "usbmux/core/host_session.hpp"

#include <gtest/gtest.h>

#include "host_session_fixture.hpp"

namespace tether::usbmux::test {
namespace {

// --- handshake ---------------------------------------------------------------------

TEST_F(HostSession, OffersVersion2ThenSendsReferenceSetup) {
  host.start(t0);
  const auto out = drain(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(out[0]), to_hex(hex("00000000 00000014 00000002 00000000 00000000")));
  EXPECT_FALSE(host.ready());

  ASSERT_FALSE(host.receive(version_packet(2, 0)));
  const auto setup = drain(host);
  ASSERT_EQ(setup.size(), 1u);
  EXPECT_EQ(to_hex(setup[0]), to_hex(hex("00000002 00000011 FEEDFACE 0000 FFFF 07")));
  EXPECT_TRUE(host.ready());
  EXPECT_EQ(host.format(), v2);

  const auto evs = only<events::handshake_done>(drain_events(host));
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].peer_major, 2u);
}

TEST_F(HostSession, Version1PhoneKeepsEightByteHeadersAndGetsNoSetup) {
  host.start(t0);
  drain(host);
  ASSERT_FALSE(host.receive(version_packet(1)));
  EXPECT_TRUE(drain(host).empty());
  EXPECT_EQ(host.format(), header_format::v1);
  auto id = host.connect(62078, t0);
  ASSERT_TRUE(id);
  const auto syn = drain(host);
  ASSERT_EQ(syn.size(), 1u);
  EXPECT_EQ(syn[0].size(), 8u + 20u);
  EXPECT_EQ(parse(syn[0], header_format::v1).tcp->flags, tcp_flag::syn);
}

TEST_F(HostSession, UnsupportedVersionIsFatal) {
  host.start(t0);
  drain(host);
  EXPECT_EQ(host.receive(version_packet(3)), errc::unsupported_version);
  EXPECT_TRUE(host.failed());
  EXPECT_EQ(host.failure_text(),
            "the phone answered mux protocol version 3.0; tether speaks 1 and 2");
  EXPECT_EQ(host.receive(version_packet(2)), errc::session_failed);
}

TEST_F(HostSession, TruncatedVersionReplyIsFatal) {
  host.start(t0);
  drain(host);
  EXPECT_EQ(host.receive(mux_packet(header_format::v1, protocol::version, hex("00000002"))),
            errc::bad_version_packet);
  EXPECT_EQ(host.failure_text(), "VERSION payload of 4 bytes is shorter than 12");
}

TEST_F(HostSession, SilentPhoneTimesOutInsteadOfHangingForever) {
  host.start(t0);
  drain(host);
  ASSERT_EQ(host.next_deadline(), t0 + 5s);
  EXPECT_FALSE(host.on_timer(t0 + 4999ms));
  EXPECT_EQ(host.on_timer(t0 + 5s), errc::handshake_timeout);
  EXPECT_TRUE(host.failed());
  EXPECT_FALSE(host.next_deadline());
}

// A VERSION from the phone inside a live session: the session starts over. Both orders
// of the old connection's data and the phone's VERSION.
class HostSessionRestart : public HostSession {
 protected:
  void expect_restart(conn_id id) {
    const auto events = drain_events(host);
    ASSERT_EQ(events.size(), 1u);
    const auto* c = std::get_if<events::closed>(&events[0]);
    ASSERT_TRUE(c != nullptr);
    EXPECT_EQ(c->id, id);
    EXPECT_EQ(c->reason, close_reason::session_ended);
    EXPECT_EQ(c->detail, "the phone restarted its mux session (VERSION inside a live session)");
    EXPECT_FALSE(host.ready());
    EXPECT_EQ(host.format(), header_format::v1);
    EXPECT_EQ(host.stats().session_restarts, 1u);
    EXPECT_EQ(host.connect(2345, t0).error(), errc::not_ready);
    // A fresh VERSION offer, bounded by handshake_timeout from the next on_timer().
    const auto out = drain(host);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], hex("00000000 00000014 00000002 00000000 00000000"));
    ASSERT_EQ(host.next_deadline(), time_point{});
    ASSERT_FALSE(host.on_timer(t0));
    EXPECT_EQ(host.next_deadline(), t0 + session_options{}.handshake_timeout);
  }
  void answer_and_reconnect(conn_id old) {
    ASSERT_FALSE(host.receive(version_packet(2)));
    EXPECT_TRUE(host.ready());
    EXPECT_EQ(drain(host).size(), 1u);  // SETUP
    drain_events(host);
    ASSERT_FALSE(host.close(old, t0));
    EXPECT_TRUE(drain(host).empty()) << "no RST for a connection of the old session";
    const conn_id again = open(2345);  // the same source port may be handed out again
    EXPECT_NE(again, old);
    EXPECT_TRUE(host.ready());
  }
};

TEST_F(HostSessionRestart, VersionThenTheOldSessionsDataIsDropped) {
  handshake();
  const conn_id id = open(2345);
  ASSERT_FALSE(host.receive(
      mux_packet(header_format::v1, protocol::version, hex("00000002 00000000 00000000"))));
  expect_restart(id);
  // The old connection's data after the restart comes before the new handshake: dropped.
  ASSERT_FALSE(host.receive(tcp_packet(v2, th(2345, sport, 1, 1, tcp_flag::ack), "old")));
  EXPECT_EQ(host.stats().packets_before_handshake, 1u);
  EXPECT_TRUE(drain_events(host).empty());
  answer_and_reconnect(id);
}

TEST_F(HostSessionRestart, TheOldSessionsDataThenVersion) {
  handshake();
  const conn_id id = open(2345);
  phone_sends(2345, 1, 1, "last words");
  const auto before = drain_events(host);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<events::readable>(before[0]));
  ASSERT_FALSE(host.receive(
      mux_packet(header_format::v1, protocol::version, hex("00000002 00000000 00000000"))));
  expect_restart(id);
  answer_and_reconnect(id);
}

TEST_F(HostSessionRestart, APhoneSilentAfterItsVersionTimesOut) {
  handshake();
  open(2345);
  ASSERT_FALSE(host.receive(
      mux_packet(header_format::v1, protocol::version, hex("00000002 00000000 00000000"))));
  drain_events(host);
  drain(host);
  ASSERT_FALSE(host.on_timer(t0));
  EXPECT_EQ(host.on_timer(t0 + session_options{}.handshake_timeout), errc::handshake_timeout);
}

// A phone refuses a read over 65535 bytes (CONTROL error, data dropped): no option
// makes the host send one, whatever max_packet_size asks for.
class HostSessionHugePackets : public HostSession {
 protected:
  HostSessionHugePackets() : HostSession(huge()) {}
  static session_options huge() {
    session_options o;
    o.max_packet_size = 1 << 20;
    o.send_buffer = 1 << 20;
    return o;
  }
};

TEST_F(HostSessionHugePackets, NoPacketIsOver65535Bytes) {
  EXPECT_EQ(host.options().max_packet_size, largest_host_packet);
  handshake();
  const conn_id id = open(2345, 0xffff);  // the phone's window: 16 MB
  const std::vector<std::byte> data(600000, std::byte{0x5a});
  ASSERT_EQ(*host.send(id, data), data.size());
  std::vector<std::byte> out(1 << 20);
  std::size_t largest = 0, total = 0;
  while (const std::size_t n = host.pull_packet(out)) {
    largest = std::max(largest, n);
    total += n;
  }
  EXPECT_EQ(largest, largest_host_packet);
  EXPECT_GT(total, data.size());
}

TEST_F(HostSession, TcpBeforeHandshakeIsDroppedAndCounted) {
  host.start(t0);
  drain(host);
  EXPECT_FALSE(host.receive(tcp_packet(header_format::v1, th(1, 1, 0, 0, tcp_flag::ack), "x")));
  EXPECT_EQ(host.stats().packets_before_handshake, 1u);
  EXPECT_TRUE(drain(host).empty());
}

TEST_F(HostSession, ConnectBeforeHandshakeIsNotReady) {
  EXPECT_EQ(host.connect(80, t0).error(), errc::not_ready);
}

TEST_F(HostSession, MuxSequenceNumbersCountFromSetup) {
  handshake();
  // The phone's own counters show up in our rx_seq field (libimobiledevice behaviour).
  ASSERT_FALSE(host.receive(mux_packet(v2, protocol::control, text_bytes("\x07hi"), 0, 0x0042)));
  drain_events(host);
  host.connect(1, t0);
  host.connect(2, t0);
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].mux.tx_seq, 1u);  // SETUP was 0
  EXPECT_EQ(out[1].mux.tx_seq, 2u);
  EXPECT_EQ(out[0].mux.rx_seq, 0x0042u);
  EXPECT_EQ(out[0].mux.magic, v2_magic);
}

// --- connections: the documented trace ------------------------------------------------

TEST_F(HostSession, ReferenceTraceHandshakeAndData) {
  handshake();
  // Port 1 goes to an earlier connection so ours gets source port 2, as in the trace.
  auto first = host.connect(5, t0);
  drain(host);
  auto id = host.connect(62078, t0);
  ASSERT_TRUE(id);
  auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  const tcp_header syn = *out[0].tcp;
  EXPECT_EQ(syn.source_port, 2);
  EXPECT_EQ(syn.dest_port, 62078);
  EXPECT_EQ(syn.seq, 0u);
  EXPECT_EQ(syn.ack, 0u);
  EXPECT_EQ(syn.flags, tcp_flag::syn);
  EXPECT_EQ(syn.window_wire, 512);

  sport = 2;
  ASSERT_FALSE(host.receive(tcp_packet(v2, th(62078, 2, 0, 1, tcp_flag::syn_ack, 512))));
  auto evs = drain_events(host);
  ASSERT_EQ(only<events::connected>(evs).size(), 1u);
  EXPECT_EQ(only<events::connected>(evs)[0].id, *id);

  out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->seq, 1u);
  EXPECT_EQ(out[0].tcp->ack, 1u);
  EXPECT_EQ(out[0].tcp->flags, tcp_flag::ack);
  EXPECT_TRUE(out[0].body.empty());

  // OUT seq 1 len 4, OUT seq 5 len 284, IN seq 1 ack 289 len 4.
  ASSERT_TRUE(host.send(*id, bytes(4, std::byte{'a'})));
  ASSERT_EQ(drain_parsed(host).at(0).tcp->seq, 1u);
  ASSERT_TRUE(host.send(*id, bytes(284, std::byte{'b'})));
  out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->seq, 5u);
  EXPECT_EQ(out[0].body.size(), 284u);
  phone_sends(62078, 1, 289, "pong");
  EXPECT_EQ(host.info(*id)->in_flight, 0u);
  EXPECT_EQ(as_string(host.received(*id)), "pong");
  (void)first;
}

TEST_F(HostSession, RefusedByRstCarriesPhoneReasonAndSendsNothingBack) {
  handshake();
  auto id = host.connect(2345, t0);
  const auto syn = drain_parsed(host);
  sport = syn[0].tcp->source_port;
  phone_sends(2345, 0, 1, "no listener\n", 0, tcp_flag::rst);
  const auto closed = only<events::closed>(drain_events(host));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].id, *id);
  EXPECT_EQ(closed[0].reason, close_reason::refused);
  EXPECT_EQ(closed[0].detail, "no listener");
  EXPECT_TRUE(drain(host).empty());
  EXPECT_FALSE(host.close(*id, t0));
  EXPECT_EQ(host.connection_count(), 0u);
}

TEST_F(HostSession, OddReplyToSynIsRefusalWithRst) {
  handshake();
  auto id = host.connect(2345, t0);
  sport = drain_parsed(host)[0].tcp->source_port;
  phone_sends(2345, 0, 1, "", 512, tcp_flag::ack);
  const auto closed = only<events::closed>(drain_events(host));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, close_reason::refused);
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->flags, tcp_flag::rst);
  (void)id;
}

TEST_F(HostSession, ConnectTimesOutAndResets) {
  handshake();
  auto id = host.connect(2345, t0);
  drain(host);
  EXPECT_EQ(host.next_deadline(), t0 + 10s);
  EXPECT_FALSE(host.on_timer(t0 + 10s));
  const auto closed = only<events::closed>(drain_events(host));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].id, *id);
  EXPECT_EQ(closed[0].reason, close_reason::connect_timeout);
  EXPECT_EQ(drain_parsed(host).at(0).tcp->flags, tcp_flag::rst);
  EXPECT_FALSE(host.next_deadline());
}

TEST_F(HostSession, SynAckAfterTimeoutGetsAnonymousRst) {
  handshake();
  host.connect(2345, t0);
  sport = drain_parsed(host)[0].tcp->source_port;
  host.on_timer(t0 + 10s);
  drain(host);
  phone_sends(2345, 0, 1, "", 512, tcp_flag::syn_ack);
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->flags, tcp_flag::rst);
  EXPECT_EQ(out[0].tcp->source_port, sport);
  EXPECT_EQ(out[0].tcp->dest_port, 2345);
}

// --- closing from our side ---------------------------------------------------------------

TEST_F(HostSession, CloseFlushesQueuedBytesThenResets) {
  handshake();
  const conn_id id = open(2345, 1);  // 256-byte window
  ASSERT_TRUE(host.send(id, bytes(600, std::byte{3})));
  drain(host);  // 256 out
  ASSERT_FALSE(host.close(id, t0));
  EXPECT_TRUE(drain(host).empty());
  phone_sends(2345, 1, 257, "", 1);
  auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.size(), 256u);
  phone_sends(2345, 1, 513, "ignored: owner is gone", 2);
  out = drain_parsed(host);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].body.size(), 88u);
  EXPECT_EQ(out[0].tcp->ack,
            23u);  // the dropped bytes are acknowledged, not left to stall the phone
  EXPECT_EQ(out[1].tcp->flags, tcp_flag::rst);
  EXPECT_EQ(out[1].tcp->seq, 601u);
  EXPECT_TRUE(drain_events(host).empty());  // no events after close()
  EXPECT_EQ(host.connection_count(), 0u);
}

TEST_F(HostSession, CloseGivesUpAfterLinger) {
  handshake();
  const conn_id id = open(2345, 0);
  ASSERT_TRUE(host.send(id, bytes(10)));
  ASSERT_FALSE(host.close(id, t0));
  EXPECT_EQ(host.next_deadline(), t0 + 5s);
  host.on_timer(t0 + 5s);
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->flags, tcp_flag::rst);
  EXPECT_EQ(host.connection_count(), 0u);
}

TEST_F(HostSession, AbortResetsAtOnce) {
  handshake();
  const conn_id id = open(2345, 0);
  ASSERT_TRUE(host.send(id, bytes(10)));
  ASSERT_FALSE(host.abort(id));
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->flags, tcp_flag::rst);
  EXPECT_EQ(out[0].tcp->seq, 1u);
}

// --- source ports ---------------------------------------------------------------------

class HostSessionManyConnections : public HostSession {
 protected:
  static session_options many() {
    session_options o;
    o.max_connections = 70000;
    return o;
  }
  HostSessionManyConnections() : HostSession(many()) {}
};

TEST_F(HostSessionManyConnections, PortsNeverCollideAndNeverWrapToZero) {
  handshake();
  // One long-lived connection holds port 1; then 70000 short ones cycle the counter
  // past 65535 twice. None may fail, none may use port 0 or a port in use.
  const conn_id keeper = host.connect(9, t0).value();
  std::vector<bytes> out = drain(host);
  const std::uint16_t kept = parse(out[0], v2).tcp->source_port;
  EXPECT_EQ(kept, 1);
  for (int i = 0; i < 70000; ++i) {
    auto id = host.connect(10, t0);
    ASSERT_TRUE(id) << i << ": " << id.error().message();
    const auto syn = drain_parsed(host);
    ASSERT_EQ(syn.size(), 1u);
    const auto port = syn[0].tcp->source_port;
    ASSERT_NE(port, 0);
    ASSERT_NE(port, kept);
    ASSERT_FALSE(host.abort(*id));
    drain(host);
  }
  EXPECT_TRUE(host.info(keeper));
}

TEST_F(HostSession, ConnectionLimitIsEnforced) {
  handshake();
  for (std::size_t i = 0; i < host.options().max_connections; ++i) ASSERT_TRUE(host.connect(1, t0));
  EXPECT_EQ(host.connect(1, t0).error(), errc::too_many_connections);
}

TEST_F(HostSession, UserDataFollowsTheConnectionAndGoesWithIt) {
  handshake();
  const conn_id a = open(2345);
  int owner_a = 0;
  EXPECT_EQ(host.user_data(a), nullptr);
  host.set_user_data(a, &owner_a);
  EXPECT_EQ(host.user_data(a), &owner_a);
  EXPECT_EQ(host.user_data(a + 1), nullptr);  // no such connection
  host.set_user_data(a + 1, &owner_a);        // ignored, not stored for a future id
  EXPECT_EQ(host.user_data(a + 1), nullptr);
  ASSERT_FALSE(host.abort(a));
  EXPECT_EQ(host.user_data(a), nullptr);  // the id is gone, and its handle with it
}

// --- split at every byte ----------------------------------------------------------------

class HostSessionSplit : public HostSession, public ::testing::WithParamInterface<int> {};

TEST_P(HostSessionSplit, ChunkingNeverChangesTheOutcome) {
  host.start(t0);
  drain(host);
  bytes stream = version_packet(2);
  for (const bytes& p : {tcp_packet(v2, th(2345, 1, 0, 1, tcp_flag::syn_ack)),
                         tcp_packet(v2, th(2345, 1, 1, 1, tcp_flag::ack), "hello phone"),
                         tcp_packet(v2, th(2345, 1, 12, 1, tcp_flag::rst), "gone")})
    stream.insert(stream.end(), p.begin(), p.end());
  // The connect must happen after the handshake but before the SYN|ACK arrives.
  const auto split = static_cast<std::size_t>(GetParam());
  ASSERT_FALSE(host.receive(std::span(stream).first(20)));
  ASSERT_TRUE(host.connect(2345, t0));
  const auto rest = std::span<const std::byte>(stream).subspan(20);
  const std::size_t cut = std::min(split, rest.size());
  ASSERT_FALSE(host.receive(rest.first(cut)));
  ASSERT_FALSE(host.receive(rest.subspan(cut)));
  const auto evs = drain_events(host);
  ASSERT_EQ(only<events::connected>(evs).size(), 1u);
  const auto closed = only<events::closed>(evs);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].detail, "gone");
  EXPECT_EQ(as_string(host.received(closed[0].id)), "hello phone");
}
INSTANTIATE_TEST_SUITE_P(AllOffsets, HostSessionSplit, ::testing::Range(0, 36 + 47 + 40 + 1));

}  // namespace
}  // namespace tether::usbmux::test

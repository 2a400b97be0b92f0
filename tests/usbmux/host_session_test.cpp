#include "usbmux/core/host_session.hpp"

#include <gtest/gtest.h>

#include "wire_helpers.hpp"

namespace tether::usbmux::test {
namespace {

constexpr auto v2 = header_format::v2;

// A host session with a scripted phone: each test feeds the phone's packets by hand.
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

TEST_F(HostSession, SecondVersionAfterHandshakeIsIgnored) {
  handshake();
  EXPECT_FALSE(host.receive(version_packet(1)));
  EXPECT_EQ(host.format(), v2);
  EXPECT_EQ(host.stats().packets_ignored, 1u);
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

// --- data, acks and windows --------------------------------------------------------------

TEST_F(HostSession, AckTracksDeliveredBytesNotReceivedOnes) {
  handshake();
  const conn_id id = open();
  phone_sends(2345, 1, 1, "hello");
  EXPECT_EQ(only<events::readable>(drain_events(host)).size(), 1u);
  EXPECT_TRUE(drain(host).empty());  // nothing delivered yet, so no new ack to give

  host.consume(id, 2);
  host.consume(id, 1);  // two consumes coalesce into one ACK
  auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->ack, 4u);
  EXPECT_EQ(out[0].tcp->window_wire, 512);
  EXPECT_EQ(as_string(host.received(id)), "lo");
}

TEST_F(HostSession, AckRidesOnDataWhenThereIsData) {
  handshake();
  const conn_id id = open();
  phone_sends(2345, 1, 1, "abc");
  host.consume(id, 3);
  ASSERT_TRUE(host.send(id, text_bytes("xyz")));
  // One packet: the data carries the ack, no separate pure ACK.
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->ack, 4u);
  EXPECT_EQ(as_string(out[0].body), "xyz");
}

TEST_F(HostSession, DelayedAckWaitsForDataToRideOn) {
  handshake();
  const conn_id id = open();
  phone_sends(2345, 1, 1, "ping");
  host.consume(id, 4, t0);
  EXPECT_TRUE(drain(host).empty());  // held back, for at most ack_delay
  EXPECT_EQ(host.next_deadline(), t0 + 1ms);
  ASSERT_TRUE(host.send(id, text_bytes("pong")));
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);  // one packet: the reply carries the ACK
  EXPECT_EQ(out[0].tcp->ack, 5u);
  EXPECT_EQ(as_string(out[0].body), "pong");
  EXPECT_EQ(host.next_deadline(), std::nullopt);  // nothing left to wake up for
}

TEST_F(HostSession, DelayedAckGoesAloneWhenNoDataComes) {
  handshake();
  const conn_id id = open();
  phone_sends(2345, 1, 1, "ping");
  host.consume(id, 4, t0);
  EXPECT_FALSE(host.on_timer(t0 + 999us));
  EXPECT_TRUE(drain(host).empty());
  EXPECT_FALSE(host.on_timer(t0 + 1ms));
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->ack, 5u);
  EXPECT_TRUE(out[0].body.empty());
  EXPECT_EQ(host.next_deadline(), std::nullopt);
}

TEST_F(HostSession, DelayedAckGoesAtOnceWhenAQuarterWindowIsOwed) {
  handshake();
  const conn_id id = open();
  const std::string chunk(32768, 'x');  // a quarter of the 128 KiB window
  phone_sends(2345, 1, 1, chunk);
  host.consume(id, chunk.size(), t0);
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->ack, 1u + 32768u);
}

TEST_F(HostSession, ReadableFiresOncePerDrain) {
  handshake();
  const conn_id id = open();
  phone_sends(2345, 1, 1, "a");
  phone_sends(2345, 2, 1, "b");
  EXPECT_EQ(only<events::readable>(drain_events(host)).size(), 1u);
  host.consume(id, 2);
  phone_sends(2345, 3, 1, "c");
  EXPECT_EQ(only<events::readable>(drain_events(host)).size(), 1u);
}

TEST_F(HostSession, HonoursPhoneWindow) {
  handshake();
  const conn_id id = open(2345, /*window wire*/ 1);  // 256 bytes
  ASSERT_EQ(*host.send(id, bytes(1000, std::byte{1})), 1000u);
  auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.size(), 256u);
  EXPECT_EQ(host.info(id)->in_flight, 256u);
  // The phone acknowledges 100 bytes: 100 more may go.
  phone_sends(2345, 1, 1 + 100, "", 1);
  out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.size(), 100u);
  EXPECT_EQ(out[0].tcp->seq, 257u);
  // The phone opens its window wide: the rest goes at once.
  phone_sends(2345, 1, 357, "", 512);
  out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.size(), 644u);
}

TEST_F(HostSession, LargeWritesAreCutAtTheMuxMtu) {
  handshake();
  const conn_id id = open(2345, 0xFFFF);
  ASSERT_EQ(*host.send(id, bytes(100000, std::byte{7})), 100000u);
  const auto out = drain(host);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].size(), 49152u);  // 16 + 20 + 49116, usbmuxd's USB_MTU
  EXPECT_EQ(out[1].size(), 49152u);
  EXPECT_EQ(out[2].size(), 36u + 100000u - 2u * 49116u);
}

TEST_F(HostSession, SendBufferIsBoundedAndSignalsWritable) {
  handshake();
  const conn_id id = open(2345, 0);  // phone window closed
  const auto took = host.send(id, bytes(300000));
  ASSERT_TRUE(took);
  EXPECT_EQ(*took, 262144u);
  EXPECT_EQ(*host.send(id, bytes(1)), 0u);
  EXPECT_TRUE(drain(host).empty());
  EXPECT_TRUE(only<events::writable>(drain_events(host)).empty());
  phone_sends(2345, 1, 1, "", 512);  // window opens
  drain(host);
  EXPECT_EQ(only<events::writable>(drain_events(host)).size(), 1u);
  EXPECT_GT(host.send_space(id), 0u);
}

TEST_F(HostSession, NotifyWritableFiresWhenAFullBufferDrains) {
  handshake();
  const conn_id id = open(2345, 0);  // phone window closed: nothing leaves the buffer
  ASSERT_EQ(*host.send(id, bytes(host.send_space(id))), 262144u);  // exactly full, not short
  drain(host);
  EXPECT_TRUE(only<events::writable>(drain_events(host)).empty());
  host.notify_writable(id);
  phone_sends(2345, 1, 1, "", 512);  // the window opens and bytes leave
  drain(host);
  EXPECT_EQ(only<events::writable>(drain_events(host)).size(), 1u);
}

TEST_F(HostSession, PhoneIgnoringWindowIsReset) {
  handshake();
  const conn_id id = open();
  const std::string big(32768, 'x');
  for (std::uint32_t i = 0; i < 4; ++i)
    phone_sends(2345, 1 + i * 32768, 1, big);  // exactly 128 KiB: allowed
  EXPECT_TRUE(only<events::closed>(drain_events(host)).empty());
  phone_sends(2345, 1 + 131072, 1, "!");  // one byte past the window
  const auto closed = only<events::closed>(drain_events(host));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, close_reason::window_violation);
  EXPECT_EQ(drain_parsed(host).at(0).tcp->flags, tcp_flag::rst);
  // What arrived inside the window is still there to read.
  EXPECT_EQ(host.received(id).size(), 131072u);
}

TEST_F(HostSession, ConsumingOpensTheWindowAgain) {
  handshake();
  const conn_id id = open();
  const std::string big(32768, 'x');
  for (std::uint32_t i = 0; i < 4; ++i) phone_sends(2345, 1 + i * 32768, 1, big);
  host.consume(id, 131072);
  EXPECT_EQ(drain_parsed(host).at(0).tcp->ack, 1u + 131072u);
  phone_sends(2345, 1 + 131072, 1, big);
  EXPECT_TRUE(only<events::closed>(drain_events(host)).empty());
}

TEST_F(HostSession, OutOfSequenceDataResetsTheConnection) {
  handshake();
  open();
  phone_sends(2345, 5, 1, "late");
  const auto closed = only<events::closed>(drain_events(host));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, close_reason::protocol_violation);
  EXPECT_EQ(closed[0].detail, "data out of sequence: expected seq 1, got 5");
}

TEST_F(HostSession, AckForBytesNeverSentResets) {
  handshake();
  open();
  phone_sends(2345, 1, 50, "");
  const auto closed = only<events::closed>(drain_events(host));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].detail, "peer acknowledged bytes never sent");
}

TEST_F(HostSession, NonsenseFlagsResetTheConnection) {
  handshake();
  for (std::uint8_t flags : {tcp_flag::syn, tcp_flag::fin,
                             std::uint8_t(tcp_flag::ack | tcp_flag::psh), std::uint8_t(0)}) {
    const conn_id id = open();
    phone_sends(2345, 1, 1, "x", 512, flags);
    const auto closed = only<events::closed>(drain_events(host));
    ASSERT_EQ(closed.size(), 1u) << int(flags);
    EXPECT_EQ(closed[0].reason, close_reason::protocol_violation);
    EXPECT_EQ(drain_parsed(host).at(0).tcp->flags, tcp_flag::rst);
    host.close(id, t0);
  }
}

TEST_F(HostSession, PhoneResetEndsConnectionButKeepsUnreadBytes) {
  handshake();
  const conn_id id = open();
  phone_sends(2345, 1, 1, "last words");
  phone_sends(2345, 11, 1, "bye", 512, tcp_flag::rst);
  const auto closed = only<events::closed>(drain_events(host));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].reason, close_reason::reset_by_peer);
  EXPECT_EQ(closed[0].detail, "bye");
  EXPECT_EQ(as_string(host.received(id)), "last words");
  EXPECT_TRUE(drain(host).empty());  // RST is never answered with RST
  EXPECT_EQ(host.send(id, text_bytes("x")).error(), errc::connection_closed);
  EXPECT_FALSE(host.close(id, t0));
  EXPECT_EQ(host.close(id, t0), errc::unknown_connection);
}

// --- unknown connections and floods ------------------------------------------------------

TEST_F(HostSession, DataForUnknownConnectionGetsAnonymousRst) {
  handshake();
  ASSERT_FALSE(host.receive(tcp_packet(v2, th(4000, 77, 1234, 9, tcp_flag::ack), "stray")));
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tcp->source_port, 77);
  EXPECT_EQ(out[0].tcp->dest_port, 4000);
  EXPECT_EQ(out[0].tcp->seq, 0u);
  EXPECT_EQ(out[0].tcp->ack, 1234u);
  EXPECT_EQ(out[0].tcp->flags, tcp_flag::rst);
  EXPECT_EQ(out[0].tcp->window_wire, 0);
}

TEST_F(HostSession, RstForUnknownConnectionIsIgnored) {
  handshake();
  for (int i = 0; i < 10000; ++i)
    ASSERT_FALSE(
        host.receive(tcp_packet(v2, th(4000, static_cast<std::uint16_t>(i), 0, 0, tcp_flag::rst))));
  EXPECT_TRUE(drain(host).empty());
  EXPECT_EQ(host.stats().packets_ignored, 10000u);
}

TEST_F(HostSession, FloodOfStrayDataCannotGrowTheReplyQueue) {
  handshake();
  for (int i = 0; i < 10000; ++i)
    ASSERT_FALSE(host.receive(tcp_packet(v2, th(4000, 1, 0, 0, tcp_flag::ack), "x")));
  EXPECT_EQ(drain(host).size(), host.options().max_queued_replies);
  EXPECT_EQ(host.stats().replies_dropped, 10000u - host.options().max_queued_replies);
}

TEST_F(HostSession, ControlMessagesAreReportedAndBounded) {
  handshake();
  ASSERT_FALSE(host.receive(mux_packet(v2, protocol::control, text_bytes("\x03oops\n"))));
  const auto msgs = only<events::control_message>(drain_events(host));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, 3);
  EXPECT_EQ(msgs[0].text, "oops");
  for (int i = 0; i < 1000; ++i)
    ASSERT_FALSE(host.receive(mux_packet(v2, protocol::control, text_bytes("\x07spam"))));
  EXPECT_EQ(drain_events(host).size(), host.options().max_queued_control_messages);
}

// --- fatal framing errors ----------------------------------------------------------------

TEST_F(HostSession, FatalErrorsEndEveryConnection) {
  handshake();
  const conn_id a = open(1000);
  const conn_id b = open(1001);
  EXPECT_EQ(host.receive(mux_packet(v2, protocol{9}, {})), errc::unknown_protocol);
  const auto closed = only<events::closed>(drain_events(host));
  ASSERT_EQ(closed.size(), 2u);
  for (const auto& c : closed) {
    EXPECT_EQ(c.reason, close_reason::session_ended);
    EXPECT_EQ(c.detail, "mux packet has the unknown protocol number 9");
  }
  EXPECT_TRUE(drain(host).empty());
  EXPECT_EQ(host.connect(5, t0).error(), errc::session_failed);
  (void)a;
  (void)b;
}

TEST_F(HostSession, TruncatedTcpHeaderIsFatal) {
  handshake();
  EXPECT_EQ(host.receive(mux_packet(v2, protocol::tcp, bytes(19))), errc::truncated_tcp_header);
  EXPECT_EQ(host.failure_text(), "TCP packet of 19 bytes is shorter than its 20-byte header");
}

TEST_F(HostSession, V2LengthShorterThanV2HeaderIsFatal) {
  handshake();
  EXPECT_EQ(host.receive(hex("00000006 0000000c 00000000")), errc::bad_packet_length);
  EXPECT_EQ(host.failure_text(), "mux packet length 12 is shorter than its 16-byte header");
}

TEST_F(HostSession, OversizedPacketIsFatal) {
  handshake();
  EXPECT_EQ(host.receive(hex("00000006 00010001")), errc::packet_too_large);
  // The offending value is kept, and every connection hears it.
  EXPECT_EQ(host.failure_text(), "mux packet length 65537 exceeds the maximum 65536");
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

// The host session: data, acks and windows; unknown connections and floods; fatal
// framing errors.
#include "usbmux/core/host_session.hpp"

#include <gtest/gtest.h>

#include "host_session_fixture.hpp"

namespace tether::usbmux::test {
namespace {

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

}  // namespace
}  // namespace tether::usbmux::test

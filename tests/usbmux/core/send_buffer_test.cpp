// session::prepare/commit: the send buffer lent to the owner to fill in place (a socket
// read straight into it), Boost.Beast's dynamic-buffer idiom, on a host session with a
// scripted phone.
#include <gtest/gtest.h>

#include <cstring>

#include "usbmux/core/host_session.hpp"
#include "wire_helpers.hpp"

namespace tether::usbmux::test {
namespace {

class SendBuffer : public ::testing::Test {
 protected:
  // A connection to port 2345, handshakes done, the phone's window `window_wire` * 256.
  conn_id open(std::uint16_t window_wire = 512) {
    host.start(t0);
    drain(host);
    EXPECT_FALSE(host.receive(version_packet(2)));
    drain(host);
    auto id = host.connect(2345, t0);
    EXPECT_TRUE(id);
    sport = drain_parsed(host).at(0).tcp->source_port;
    EXPECT_FALSE(host.receive(
        tcp_packet(header_format::v2, th(2345, sport, 0, 1, tcp_flag::syn_ack, window_wire))));
    drain(host);
    drain_events(host);
    return *id;
  }
  void phone_acks(std::uint32_t ack, std::uint16_t window_wire = 512,
                  std::uint8_t flags = tcp_flag::ack) {
    ASSERT_FALSE(
        host.receive(tcp_packet(header_format::v2, th(2345, sport, 1, ack, flags, window_wire))));
  }
  // Fills `n` bytes of prepared room with `c` and commits them.
  std::size_t put(conn_id id, std::size_t n, char c) {
    auto room = host.prepare(id, n);
    EXPECT_TRUE(room);
    std::memset(room->data(), c, room->size());
    auto took = host.commit(id, room->size());
    EXPECT_TRUE(took);
    return *took;
  }

  host_session host;
  std::uint16_t sport = 0;
};

TEST_F(SendBuffer, CommittedBytesAreSentAsIfSent) {
  const conn_id id = open();
  ASSERT_EQ(put(id, 5, 'p'), 5u);
  const auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(as_string(out[0].body), "ppppp");
  EXPECT_EQ(out[0].tcp->seq, 1u);
  EXPECT_EQ(host.info(id)->bytes_sent, 5u);
}

TEST_F(SendBuffer, RoomIsBoundedByTheSendBufferAndAFullOneArmsWritable) {
  const conn_id id = open(0);  // the phone's window is shut: nothing leaves
  EXPECT_EQ(host.prepare(id, 1000)->size(), 1000u);
  ASSERT_EQ(put(id, 300000, 'b'), 262144u);  // only what the buffer holds
  EXPECT_TRUE(host.prepare(id, 1)->empty());
  EXPECT_TRUE(drain(host).empty());
  phone_acks(1, 512);  // the window opens, bytes leave: one writable
  EXPECT_FALSE(drain(host).empty());
  EXPECT_EQ(only<events::writable>(drain_events(host)).size(), 1u);
  EXPECT_GT(host.prepare(id, 1)->size(), 0u);
}

TEST_F(SendBuffer, PackingFollowsThePhonesWindow) {
  const conn_id id = open(1);  // 256 bytes
  ASSERT_EQ(put(id, 1000, 'w'), 1000u);
  auto out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.size(), 256u);
  EXPECT_EQ(host.info(id)->unsent, 744u);
  phone_acks(257, 512);
  out = drain_parsed(host);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.size(), 744u);
}

TEST_F(SendBuffer, CommitOfZeroQueuesNothing) {
  const conn_id id = open();
  ASSERT_TRUE(host.prepare(id, 100));
  const auto took = host.commit(id, 0);
  ASSERT_TRUE(took);
  EXPECT_EQ(*took, 0u);
  EXPECT_TRUE(drain(host).empty());
  EXPECT_EQ(host.info(id)->unsent, 0u);
}

TEST_F(SendBuffer, CommitBeyondThePreparedRoomIsRefused) {
  const conn_id id = open();
  ASSERT_EQ(host.prepare(id, 10)->size(), 10u);
  EXPECT_EQ(host.commit(id, 11).error(), std::errc::invalid_argument);
  EXPECT_EQ(host.info(id)->unsent, 0u);
  // Without a prepare, any commit but 0 is beyond the room.
  EXPECT_EQ(host.commit(id, 1).error(), std::errc::invalid_argument);
  // A send() in between takes the room back.
  ASSERT_TRUE(host.prepare(id, 10));
  ASSERT_EQ(*host.send(id, text_bytes("s")), 1u);
  EXPECT_EQ(host.commit(id, 5).error(), std::errc::invalid_argument);
  EXPECT_EQ(host.info(id)->unsent, 1u);
}

TEST_F(SendBuffer, AConnectionThatEndsWithRoomPreparedRefusesTheCommit) {
  const conn_id id = open();
  ASSERT_EQ(host.prepare(id, 10)->size(), 10u);
  phone_acks(1, 512, tcp_flag::rst);
  ASSERT_EQ(only<events::closed>(drain_events(host)).size(), 1u);
  EXPECT_EQ(host.commit(id, 10).error(), errc::connection_closed);
  EXPECT_EQ(host.prepare(id, 10).error(), errc::connection_closed);
  EXPECT_TRUE(drain(host).empty());
  EXPECT_FALSE(host.close(id, t0));
  EXPECT_EQ(host.commit(id, 0).error(), errc::unknown_connection);
}

TEST_F(SendBuffer, PrepareBeforeTheConnectionIsUpIsNotReady) {
  host.start(t0);
  drain(host);
  ASSERT_FALSE(host.receive(version_packet(2)));
  auto id = host.connect(2345, t0);
  ASSERT_TRUE(id);
  EXPECT_EQ(host.prepare(*id, 10).error(), errc::not_ready);
  EXPECT_EQ(host.prepare(*id + 100, 10).error(), errc::unknown_connection);
}

}  // namespace
}  // namespace tether::usbmux::test

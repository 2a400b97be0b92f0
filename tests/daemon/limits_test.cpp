// tetherd's limits (daemon/limits.hpp) at their edges, in-process.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "in_process.hpp"

namespace tether::daemon::test {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Limits, DefaultsAreTheDocumentedOnes) {
  const daemon_limits d;
  EXPECT_EQ(d.max_clients, 256u);
  EXPECT_EQ(d.max_queued_events, 1024u);
  EXPECT_EQ(d.read_pause_bytes, 65536u);
  EXPECT_EQ(d.relay_chunk, 65536u);
}

TEST(Limits, TheClientOverTheCapIsRefusedInWordsAndLoggedOnce) {
  world w;
  w.ctx.limits.max_clients = 3;
  ::testing::internal::CaptureStderr();
  std::vector<test_client*> served;
  for (int i = 0; i < 3; ++i) {  // up to the cap: served
    served.push_back(&w.socket_client());
    auto r = w.ask(*served.back(), 1, "ListDevices");
    ASSERT_TRUE(r) << i;
    EXPECT_NE(r->find("DeviceList"), std::string::npos);
  }
  for (int i = 0; i < 2; ++i) {  // over it: one reply with the reason, then closed
    auto& over = w.socket_client();
    auto r = w.wait_message(over);
    ASSERT_TRUE(r) << i;
    EXPECT_NE(r->find("tetherd serves at most 3 clients at once"), std::string::npos) << *r;
    EXPECT_TRUE(w.run_until([&] { return over.closed(); }));
  }
  // The ones being served are untouched.
  EXPECT_TRUE(w.ask(*served[0], 2, "ListDevices"));
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(count(log, "refused a client"), 1u) << log;

  served[1]->close();  // one leaves: the next is served
  w.settle();
  auto& next = w.socket_client();
  auto r = w.ask(next, 3, "ListDevices");
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("DeviceList"), std::string::npos) << *r;
}

// Events are queued without running the io_context, so the queue grows one message
// per event: the edge is exact, whatever the socket buffer holds.
TEST(Limits, AListenClientMayLeaveMaxQueuedEventsUnreadAndNotOneMore) {
  world w;
  w.ctx.limits.max_queued_events = 5;
  w.plug("phone");
  const auto id = w.devices.find_udid("phone");
  auto& c = w.client();
  auto r = w.ask(c, 1, "Listen");
  ASSERT_TRUE(r);
  ASSERT_TRUE(w.wait_message(c));  // the phone already there
  w.settle();

  for (int i = 0; i < 5; ++i) w.devices.paired(id);
  std::size_t heard = 0;
  EXPECT_TRUE(w.run_until([&] {
    while (auto m = c.next_message()) heard += has_string(*m, "Paired");
    return heard == 5;
  }));
  EXPECT_FALSE(c.closed());

  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 6; ++i) w.devices.paired(id);
  EXPECT_TRUE(w.run_until([&] { return c.closed(); }));
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("left 5 device events unread"), std::string::npos) << log;
}

TEST(Limits, RequestsResumeAfterRepliesDrainBelowTheReadPause) {
  world w;
  w.ctx.limits.read_pause_bytes = 1;  // every reply pauses reading until it is written
  auto& c = w.client();
  for (std::uint32_t tag = 1; tag <= 50; ++tag) c.request(tag, "ReadBUID");
  std::size_t answered = 0;
  EXPECT_TRUE(w.run_until([&] {
    while (auto m = c.next_message()) answered += m->find("BUID") != std::string::npos;
    return answered == 50;
  }));
  EXPECT_FALSE(c.closed());
}

TEST(Limits, RelayChunkBoundsEachReadFromTheClient) {
  world w;
  w.ctx.limits.relay_chunk = 1000;
  w.plug("phone");
  auto& c = w.client();
  auto r = w.ask(c, 1, "Connect",
                 {{"DeviceID", w.devices.find_udid("phone")}, {"PortNumber", htons(1000)}});
  ASSERT_TRUE(r);
  ASSERT_EQ(number_in(*r), 0);
  const auto before = w.devices.phones().at(0).packets_to_phone;
  c.send(std::string(100000, 'c'));
  ASSERT_TRUE(w.run_until([&] { return c.inbox().size() >= 100000; }, 5s));
  // At most 1000 bytes per read, and each read is sent before the next: 100 packets
  // or more, where the default 64 KiB reads take two.
  EXPECT_GE(w.devices.phones().at(0).packets_to_phone - before, 100u);
}

}  // namespace
}  // namespace tether::daemon::test

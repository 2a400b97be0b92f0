// The usbmuxd protocol as a client sees it, over the daemon's real client_session,
// registry, dialer and relay, with in-memory phones instead of USB.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "in_process.hpp"

namespace tether::daemon::test {
namespace {

std::uint64_t port_number(std::uint16_t port) { return htons(port); }

class ClientSession : public ::testing::Test {
 protected:
  world w;
};

TEST_F(ClientSession, ListsThePhonesThatFinishedTheHandshake) {
  auto& c = w.client();
  auto empty = w.ask(c, 1, "ListDevices");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->find("SerialNumber"), std::string::npos);

  w.plug("00008030-0000000000000001");
  auto listed = w.ask(c, 2, "ListDevices");
  ASSERT_TRUE(listed);
  EXPECT_TRUE(has_string(*listed, "00008030-0000000000000001")) << *listed;
}

TEST_F(ClientSession, ListenHearsAttachedAndDetachedWithFreshIds) {
  auto& first = w.plug("phone-a");
  auto& c = w.client();
  auto result = w.ask(c, 1, "Listen");
  ASSERT_TRUE(result);
  EXPECT_EQ(number_in(*result), 0);
  auto present = w.wait_message(c);
  ASSERT_TRUE(present);
  EXPECT_TRUE(has_string(*present, "Attached") && has_string(*present, "phone-a")) << *present;

  w.plug("phone-b");
  auto attached = w.wait_message(c);
  ASSERT_TRUE(attached);
  EXPECT_TRUE(has_string(*attached, "phone-b")) << *attached;

  const auto old_id = w.devices.find_udid("phone-a");
  w.unplug(first);
  auto detached = w.wait_message(c);
  ASSERT_TRUE(detached);
  EXPECT_TRUE(has_string(*detached, "Detached")) << *detached;
  EXPECT_EQ(w.devices.find_udid("phone-a"), 0u);

  w.plug("phone-a");  // replugged: a new DeviceID, as with usbmuxd
  EXPECT_GT(w.devices.find_udid("phone-a"), old_id);
}

TEST_F(ClientSession, ConnectRelaysBytesBothWays) {
  w.plug("phone");
  auto& c = w.client();
  const auto id = w.devices.find_udid("phone");
  auto result = w.ask(c, 1, "Connect", {{"DeviceID", id}, {"PortNumber", port_number(1000)}});
  ASSERT_TRUE(result);
  EXPECT_EQ(number_in(*result), 0) << *result;
  c.send("ping over the mux");
  ASSERT_TRUE(w.run_until([&] { return c.inbox().size() >= 17; }));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(c.inbox().data()), c.inbox().size()),
            "ping over the mux");
  EXPECT_EQ(w.devices.connections().size(), 1u);

  c.close();  // the client leaves: the phone's connection is reset at once
  ASSERT_TRUE(w.run_until([&] { return w.devices.connections().empty(); }));
  EXPECT_TRUE(w.run_until([&] { return w.phones[0]->device().connection_count() == 0; }));
}

TEST_F(ClientSession, BytesSentWithTheConnectAreThePhonesFirst) {
  w.plug("phone");
  auto& c = w.client();
  c.request(1, "Connect",
            {{"DeviceID", w.devices.find_udid("phone")}, {"PortNumber", port_number(1000)}});
  c.send("early");
  auto result = w.wait_message(c);
  ASSERT_TRUE(result);
  EXPECT_EQ(number_in(*result), 0);
  ASSERT_TRUE(w.run_until([&] { return c.inbox().size() >= 5; }));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(c.inbox().data()), 5), "early");
}

TEST_F(ClientSession, ConnectToAClosedPortIsRefusedAndTheClientMayGoOn) {
  w.plug("phone");
  auto& c = w.client();
  auto refused =
      w.ask(c, 7, "Connect",
            {{"DeviceID", w.devices.find_udid("phone")}, {"PortNumber", port_number(3000)}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(number_in(*refused), 3) << *refused;  // ConnectionRefused
  auto listed = w.ask(c, 8, "ListDevices");
  ASSERT_TRUE(listed);
  EXPECT_TRUE(has_string(*listed, "phone"));
}

TEST_F(ClientSession, ConnectToAnUnknownDeviceIsBadDevice) {
  auto& c = w.client();
  auto r = w.ask(c, 1, "Connect", {{"DeviceID", 99}, {"PortNumber", port_number(1000)}});
  ASSERT_TRUE(r);
  EXPECT_EQ(number_in(*r), 2) << *r;
}

TEST_F(ClientSession, ASlowPhoneHoldsTheClientBackThroughTheWindow) {
  auto& phone = w.plug("phone");
  auto& c = w.client();
  auto r = w.ask(c, 1, "Connect",
                 {{"DeviceID", w.devices.find_udid("phone")}, {"PortNumber", port_number(2000)}});
  ASSERT_TRUE(r);
  ASSERT_EQ(number_in(*r), 0);
  std::vector<std::byte> data(4 << 20);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7 + i / 65536);
  c.send(data);
  w.settle(200ms);
  // The held app reads nothing: what left the client is bounded by the phone's window,
  // the session's send buffer and the relay's one read, not by what the client sent.
  const std::size_t bound = usbmux::session_options{}.receive_window +
                            usbmux::session_options{}.send_buffer + 65536 + (1 << 20);
  EXPECT_GT(c.unsent(), data.size() - bound);
  EXPECT_EQ(phone.bytes_read(), 0u);

  phone.release(2000);  // the app reads and echoes: everything arrives, in order
  ASSERT_TRUE(w.run_until([&] { return c.inbox().size() >= data.size(); }, 10s))
      << c.inbox().size();
  EXPECT_TRUE(std::equal(data.begin(), data.end(), c.inbox().begin()));
}

TEST_F(ClientSession, APhoneUnpluggedMidStreamEndsTheRelayAndNotTheDaemon) {
  auto& phone = w.plug("phone");
  auto& c = w.client();
  auto r = w.ask(c, 1, "Connect",
                 {{"DeviceID", w.devices.find_udid("phone")}, {"PortNumber", port_number(1000)}});
  ASSERT_TRUE(r);
  c.send(std::string(100000, 'x'));
  w.run_until([&] { return !c.inbox().empty(); });
  w.unplug(phone);
  EXPECT_TRUE(w.run_until([&] { return c.closed(); }));
  EXPECT_TRUE(w.devices.connections().empty());

  auto& other = w.client();
  auto listed = w.ask(other, 2, "ListDevices");
  ASSERT_TRUE(listed);
  EXPECT_FALSE(has_string(*listed, "phone"));
}

TEST_F(ClientSession, GarbageEndsOnlyThatClient) {
  auto& bad = w.client();
  bad.send(std::string(64, '\xff'));
  EXPECT_TRUE(w.run_until([&] { return bad.closed(); }));
  auto& good = w.client();
  EXPECT_TRUE(w.ask(good, 1, "ListDevices"));
}

}  // namespace
}  // namespace tether::daemon::test

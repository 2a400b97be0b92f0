#include "phone/virtual_phone.hpp"

#include <gtest/gtest.h>

#include "usbmux/core/host_session.hpp"

namespace tether::sim {
namespace {

using namespace usbmux;

// Drives a virtual phone as a USB host would: one mux packet per OUT transfer,
// 16 KiB IN transfers, with tether's own host session on top.
class VirtualPhone : public ::testing::Test {
 protected:
  VirtualPhone() : phone(iphone_identity{}, phone_options()) {
    phone.add_app(2345, make_echo_app());
    phone.add_app(5000, make_source_app(200000));
    phone.add_app(5001, make_sink_app());
  }
  static device_options phone_options() {
    device_options o;
    o.refused_reason = "no app listening";
    return o;
  }

  void pump() { pump(host); }
  void pump(host_session& h) {
    for (int guard = 0; guard < 100000; ++guard) {
      bool moved = false;
      while (std::size_t n = h.pull_packet(out)) {
        // As tether's device_link does: a ZLP after a transfer of whole packets.
        ASSERT_TRUE(phone.bulk_out(usbmux_out_endpoint, std::span(out).first(n), n % 512 == 0));
        moved = true;
      }
      while (auto n = phone.bulk_in(usbmux_in_endpoint, in)) {
        if (*n % 512 == 0 && *n == in.size()) ++full_transfers;
        if (*n == 0) ++zero_length_transfers;
        ASSERT_FALSE(h.receive(std::span(in).first(*n)));
        moved = true;
      }
      if (!moved) return;
    }
    FAIL() << "link never went idle";
  }

  std::vector<event> events() {
    std::vector<event> v;
    while (auto e = host.poll_event()) v.push_back(*e);
    return v;
  }

  conn_id connect(std::uint16_t port) {
    auto id = host.connect(port, {});
    EXPECT_TRUE(id);
    pump();
    return *id;
  }

  void configure_and_handshake() {
    ASSERT_TRUE(phone.control({0x00, 9, 4, 0, 0}, {}));  // SET_CONFIGURATION 4
    host.start({});
    pump();
    ASSERT_TRUE(host.ready());
    events();
  }

  virtual_phone phone;
  host_session host;
  std::vector<std::byte> out = std::vector<std::byte>(49152);
  std::vector<std::byte> in = std::vector<std::byte>(16384);
  int full_transfers = 0;
  int zero_length_transfers = 0;
};

TEST_F(VirtualPhone, StartsInPtpConfigurationWithoutMux) {
  EXPECT_EQ(phone.configuration(), 1);
  EXPECT_FALSE(phone.bulk_out(usbmux_out_endpoint, {}, false));
  const auto cfg = phone.control({0x80, 8, 0, 0, 1}, {});
  ASSERT_TRUE(cfg);
  EXPECT_EQ((*cfg)[0], 1);
}

TEST_F(VirtualPhone, AnswersDescriptorRequestsLikeTheSysfsCopy) {
  const auto dev = phone.control({0x80, 6, 0x0100, 0, 18}, {});
  ASSERT_TRUE(dev);
  EXPECT_EQ(*dev, device_descriptor(phone.identity()));
  const auto serial = phone.control({0x80, 6, 0x0303, 0x0409, 1032}, {});
  ASSERT_TRUE(serial);
  EXPECT_EQ(*serial, string_descriptor(phone.identity(), 3));
  const auto head = phone.control({0x80, 6, 0x0203, 0, 9}, {});  // config 4, first 9 bytes
  ASSERT_TRUE(head);
  EXPECT_EQ(head->size(), 9u);
}

TEST_F(VirtualPhone, EchoRoundTripAfterConfiguration) {
  configure_and_handshake();
  const conn_id id = connect(2345);
  ASSERT_EQ(std::get<events::connected>(events().at(0)).id, id);
  const std::string msg = "ping through the virtual phone";
  ASSERT_TRUE(host.send(id, std::as_bytes(std::span(msg.data(), msg.size()))));
  pump();
  const auto got = host.received(id);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(got.data()), got.size()), msg);
}

TEST_F(VirtualPhone, ClosedPortIsRefusedWithReason) {
  configure_and_handshake();
  connect(9999);
  const auto evs = events();
  ASSERT_EQ(evs.size(), 1u);
  const auto& closed = std::get<events::closed>(evs[0]);
  EXPECT_EQ(closed.reason, close_reason::refused);
  EXPECT_EQ(closed.detail, "no app listening");
}

TEST_F(VirtualPhone, SourceStreamsItsPatternAcrossSplitTransfers) {
  configure_and_handshake();
  const conn_id id = connect(5000);
  std::uint64_t got = 0;
  for (int i = 0; i < 1000 && got < 200000; ++i) {
    const auto data = host.received(id);
    for (std::size_t k = 0; k < data.size(); ++k)
      ASSERT_EQ(data[k], source_pattern(got + k)) << got + k;
    got += data.size();
    host.consume(id, data.size());
    pump();
  }
  EXPECT_EQ(got, 200000u);
  EXPECT_GT(full_transfers, 0);  // 49 KiB packets arrive as several 16 KiB transfers
}

TEST_F(VirtualPhone, PacketEndingOnAFullTransferIsFollowedByZeroLengthTransfer) {
  configure_and_handshake();
  const conn_id id = connect(5000);
  (void)id;
  EXPECT_GT(zero_length_transfers, 0);  // 49152-byte packets = exactly 3 x 16 KiB
}

TEST_F(VirtualPhone, ANewHostsVersionRestartsTheMux) {
  configure_and_handshake();
  connect(2345);
  host_session second;  // usbmuxd restarted: same phone, no replug
  second.start({});
  pump(second);
  ASSERT_TRUE(second.ready());
  auto id = second.connect(2345, {});
  pump(second);
  bool connected = false;
  while (auto e = second.poll_event()) connected |= std::holds_alternative<events::connected>(*e);
  EXPECT_TRUE(connected);
  (void)id;
}

TEST_F(VirtualPhone, ReconfiguringRestartsTheMuxFunction) {
  configure_and_handshake();
  connect(2345);
  ASSERT_TRUE(phone.set_configuration(3));
  EXPECT_FALSE(phone.session()->ready());
}

// The app's lifecycle (app_lifecycle.hpp): what a real phone shows the host.
std::string text_of(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST_F(VirtualPhone, SuspendedAppAcceptsThenStaysSilentUntilResumed) {
  configure_and_handshake();
  const conn_id before = connect(2345);  // accepted while running
  events();
  ASSERT_TRUE(phone.set_app_state(2345, app_state::suspended));
  EXPECT_EQ(phone.app_state_of(2345), app_state::suspended);
  const conn_id during = connect(2345);  // the kernel's backlog takes it: SYN|ACK
  ASSERT_EQ(std::get<events::connected>(events().at(0)).id, during);
  const std::string a = "old connection", b = "new connection";
  ASSERT_TRUE(host.send(before, std::as_bytes(std::span(a.data(), a.size()))));
  ASSERT_TRUE(host.send(during, std::as_bytes(std::span(b.data(), b.size()))));
  pump();
  EXPECT_TRUE(host.received(before).empty()) << "a suspended app answers nothing";
  EXPECT_TRUE(host.received(during).empty());
  EXPECT_EQ(phone.session()->info(before)->unread, a.size()) << "nor reads: the window fills";
  EXPECT_TRUE(events().empty()) << "and nothing is reset";

  ASSERT_TRUE(phone.set_app_state(2345, app_state::running));
  pump();
  EXPECT_EQ(text_of(host.received(before)), a);
  EXPECT_EQ(text_of(host.received(during)), b) << "the backlog is accepted on resume";
}

TEST_F(VirtualPhone, SuspendedSourceStopsSendingAndGoesOnWhereItStopped) {
  constexpr std::uint64_t total = 4u << 20;  // more than the phone's send buffer holds
  phone.add_app(5002, make_source_app(total));
  configure_and_handshake();
  const conn_id id = connect(5002);
  std::uint64_t got = 0;
  auto drain = [&] {
    for (int i = 0; i < 1000; ++i) {
      const auto data = host.received(id);
      if (data.empty()) return;
      for (std::size_t k = 0; k < data.size(); ++k)
        ASSERT_EQ(data[k], source_pattern(got + k)) << got + k;
      got += data.size();
      host.consume(id, data.size());
      pump();
    }
  };
  ASSERT_TRUE(phone.set_app_state(5002, app_state::suspended));
  drain();  // what the app had handed to the phone's kernel still arrives
  const std::uint64_t while_suspended = got;
  EXPECT_LT(while_suspended, total);
  drain();
  EXPECT_EQ(got, while_suspended) << "a suspended app writes nothing";
  ASSERT_TRUE(phone.set_app_state(5002, app_state::running));
  pump();
  for (int i = 0; i < 20 && got < total; ++i) drain();
  EXPECT_EQ(got, total);
}

TEST_F(VirtualPhone, KilledAppResetsMidStreamAndIsRefusedUntilLaunchedAgain) {
  configure_and_handshake();
  const conn_id id = connect(5000);
  events();
  ASSERT_FALSE(host.received(id).empty()) << "mid-stream";
  ASSERT_TRUE(phone.set_app_state(5000, app_state::killed));
  pump();
  auto evs = events();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(std::get<events::closed>(evs[0]).reason, close_reason::reset_by_peer);

  connect(5000);
  evs = events();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(std::get<events::closed>(evs[0]).reason, close_reason::refused);

  ASSERT_TRUE(phone.set_app_state(5000, app_state::running));
  const conn_id again = connect(5000);
  ASSERT_EQ(std::get<events::connected>(events().at(0)).id, again);
  EXPECT_FALSE(host.received(again).empty());
}

TEST_F(VirtualPhone, KillingASuspendedAppResetsItsBacklogToo) {
  configure_and_handshake();
  ASSERT_TRUE(phone.set_app_state(2345, app_state::suspended));
  const conn_id waiting = connect(2345);
  events();
  ASSERT_TRUE(phone.set_app_state(2345, app_state::killed));
  pump();
  const auto evs = events();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(std::get<events::closed>(evs[0]).id, waiting);
  ASSERT_TRUE(phone.set_app_state(2345, app_state::running));
  const conn_id id = connect(2345);
  const std::string msg = "relaunched";
  ASSERT_TRUE(host.send(id, std::as_bytes(std::span(msg.data(), msg.size()))));
  pump();
  EXPECT_EQ(text_of(host.received(id)), msg);
}

TEST_F(VirtualPhone, LifecycleNeedsAnAppOnThePortAndOnlyTouchesThatPort) {
  EXPECT_FALSE(phone.set_app_state(9999, app_state::suspended));
  configure_and_handshake();
  ASSERT_TRUE(phone.set_app_state(5001, app_state::killed));
  const conn_id id = connect(2345);
  const std::string msg = "others go on";
  ASSERT_TRUE(host.send(id, std::as_bytes(std::span(msg.data(), msg.size()))));
  pump();
  EXPECT_EQ(text_of(host.received(id)), msg);
}

// --- What real phones do (issue 15) ---------------------------------------------------

TEST_F(VirtualPhone, AnswersGetModeWithTheFourByteFormatOfIos16And17) {
  const auto full = phone.control({0xc0, 0x45, 0, 0, 4}, {});
  ASSERT_TRUE(full);
  EXPECT_EQ(*full, (std::vector<std::uint8_t>{0x03, 0x03, 0x03, 0x00}));
  const auto ipheth = phone.control({0xc0, 0x45, 0, 2, 0x40}, {});  // ipheth's wLength 64
  ASSERT_TRUE(ipheth);
  EXPECT_EQ(ipheth->size(), 4u);
  const auto cut = phone.control({0xc0, 0x45, 0, 0, 1}, {});
  ASSERT_TRUE(cut);
  EXPECT_EQ(*cut, (std::vector<std::uint8_t>{0x03}));
  EXPECT_EQ(phone.usb_requests().get_mode, 3u);
}

TEST_F(VirtualPhone, AnswersSetModePerModeAndCountsIt) {
  for (std::uint16_t mode = 0; mode <= 5; ++mode) {
    const auto r = phone.control({0xc0, 0x52, 0, mode, 1}, {});
    ASSERT_TRUE(r) << mode;
    EXPECT_EQ(*r, std::vector<std::uint8_t>{std::uint8_t(mode == 1 ? 0x04 : 0x00)}) << mode;
  }
  EXPECT_EQ(phone.usb_requests().set_mode, 6u);
  EXPECT_NE(phone.stats_text().find("set_mode=6"), std::string::npos) << phone.stats_text();
}

TEST_F(VirtualPhone, StallsTheBosDescriptorAndUnknownRequests) {
  EXPECT_FALSE(phone.control({0x80, 6, 0x0f00, 0, 5}, {}));      // BOS, as USB 3 hosts ask
  EXPECT_FALSE(phone.control({0x80, 6, 0x0201 + 8, 0, 9}, {}));  // configuration 10
  EXPECT_FALSE(phone.control({0xc0, 0x77, 0, 0, 4}, {}));        // unknown vendor request
  EXPECT_TRUE(phone.control({0x40, 0x40, 500, 500, 0}, {}));     // power request: accepted
  EXPECT_EQ(phone.usb_requests().stalled, 3u);
}

TEST_F(VirtualPhone, ALockedPhoneAnswersControlRequestsButNoVersion) {
  phone.set_lock(lock_mode::locked);
  ASSERT_TRUE(phone.control({0x00, 9, 4, 0, 0}, {}));
  ASSERT_TRUE(phone.control({0xc0, 0x45, 0, 0, 4}, {}));
  host.start({});
  pump();
  EXPECT_FALSE(host.ready()) << "a locked phone must not answer VERSION";
  EXPECT_EQ(phone.usb_requests().reads_while_locked, 1u);
  phone.set_lock(lock_mode::unlocked);
  host_session again;  // the host asks afresh after the unlock
  again.start({});
  pump(again);
  EXPECT_TRUE(again.ready());
}

TEST_F(VirtualPhone, SendsControlTextsOnSessionOpenAndCloseWhenAsked) {
  phone.set_control_texts(true);
  configure_and_handshake();
  const conn_id id = connect(2345);
  ASSERT_TRUE(!host.close(id, {}));
  pump();
  std::vector<std::string> texts;
  for (const auto& e : events())
    if (const auto* c = std::get_if<events::control_message>(&e)) {
      EXPECT_EQ(c->type, 7);
      texts.push_back(c->text);
    }
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0].rfind("AppleUSBDeviceMux::handleConnectResult new session 0x", 0), 0u);
  EXPECT_NE(texts[0].find(" established 2345<-lo0->"), std::string::npos) << texts[0];
  EXPECT_NE(texts[0].find(" 2345<-usb->"), std::string::npos) << texts[0];
  EXPECT_EQ(texts[1].rfind("AppleUSBDeviceMux::sessionUpcall socket is closed, session 0x", 0), 0u);
}

// A host restarted without a word (tetherd killed): the phone still holds the old
// session's connection and, on the new host's VERSION, sends a segment of it.
class VirtualPhoneRestart : public VirtualPhone,
                            public ::testing::WithParamInterface<stale_order> {};

TEST_P(VirtualPhoneRestart, OldSessionPacketsGoBeforeOrAfterTheVersionReply) {
  phone.set_stale_order(GetParam());
  configure_and_handshake();
  connect(2345);
  host_session second;
  second.start({});
  pump(second);
  ASSERT_TRUE(second.ready());
  const auto& st = second.stats();
  const bool before = GetParam() == stale_order::before, after = GetParam() == stale_order::after;
  EXPECT_EQ(phone.usb_requests().stale_sent, before || after ? 1u : 0u);
  // Before the reply the new host drops it unread; after, it answers with an RST.
  EXPECT_EQ(st.packets_before_handshake, before ? 1u : 0u);
  EXPECT_EQ(st.anonymous_resets_sent, after ? 1u : 0u);
  auto id = second.connect(2345, {});
  pump(second);
  bool connected = false;
  while (auto e = second.poll_event()) connected |= std::holds_alternative<events::connected>(*e);
  EXPECT_TRUE(connected);
  (void)id;
}

// The phone sends VERSION inside its live session: the host starts over. The old
// session's segment before the VERSION reaches the connection; after it, it is dropped.
TEST_P(VirtualPhoneRestart, APhonesOwnVersionRestartsTheHostSession) {
  phone.set_stale_order(GetParam());
  configure_and_handshake();
  const conn_id id = connect(2345);
  phone.send_version();
  pump();
  std::vector<event> seen = events();
  const bool before = GetParam() == stale_order::before, after = GetParam() == stale_order::after;
  bool readable = false, closed = false;
  for (const auto& e : seen) {
    readable |= std::holds_alternative<events::readable>(e);
    if (const auto* c = std::get_if<events::closed>(&e)) {
      closed = c->id == id && c->reason == close_reason::session_ended;
      EXPECT_EQ(c->detail, "the phone restarted its mux session (VERSION inside a live session)");
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(readable, before) << "the old segment reaches the connection only before the VERSION";
  EXPECT_EQ(host.stats().packets_before_handshake, after ? 1u : 0u);
  EXPECT_EQ(host.stats().session_restarts, 1u);
  EXPECT_EQ(phone.usb_requests().versions_sent, 1u);
  ASSERT_TRUE(host.ready()) << "a fresh handshake follows at once";
  (void)host.close(id, {});
  connect(2345);
  EXPECT_EQ(host.connection_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Orders, VirtualPhoneRestart,
                         ::testing::Values(stale_order::none, stale_order::before,
                                           stale_order::after),
                         [](const auto& p) {
                           return p.param == stale_order::none     ? std::string("None")
                                  : p.param == stale_order::before ? std::string("Before")
                                                                   : std::string("After");
                         });

TEST_F(VirtualPhone, ANewBusAddressMovesTheDeviceNodeAndSysfsPath) {
  const std::string node = phone.dev_node(), path = phone.sysfs_path();
  phone.set_bus_address(64);
  EXPECT_EQ(phone.dev_node(), "/dev/bus/usb/001/064");
  EXPECT_EQ(phone.sysfs_path(), "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-64");
  EXPECT_NE(phone.dev_node(), node);
  EXPECT_NE(phone.sysfs_path(), path);
  EXPECT_NE(phone.sysfs_description().find("DEVNUM=064"), std::string::npos);
}

}  // namespace
}  // namespace tether::sim

// The dialer, relay, registry and forwards on their own, over in-memory phones.
#include <gtest/gtest.h>
#include <asio/local/connect_pair.hpp>

#include "base/log.hpp"
#include "daemon/dialer.hpp"
#include "daemon/relay.hpp"
#include "in_process.hpp"

namespace tether::daemon::test {
namespace {

struct dial_result {
  std::optional<dialer::outcome> outcome;
  std::string why;
};

std::shared_ptr<dialer> dial(world& w, std::uint32_t id, std::uint16_t port, dial_result& r) {
  return dialer::dial(w.devices, id, port, "test",
                      [&r](dialer&, dialer::outcome o, const std::string& why) {
                        r.outcome = o;
                        r.why = why;
                      });
}

TEST(Dialer, ReportsConnectedAndCancelResetsThePhonesEnd) {
  world w;
  auto& phone = w.plug("phone");
  dial_result r;
  auto d = dial(w, w.devices.find_udid("phone"), 1000, r);
  ASSERT_TRUE(w.run_until([&] { return r.outcome.has_value(); }));
  EXPECT_EQ(*r.outcome, dialer::outcome::connected);
  EXPECT_EQ(w.devices.connections().size(), 1u);
  EXPECT_EQ(phone.device().connection_count(), 1u);
  d->cancel();
  EXPECT_TRUE(w.devices.connections().empty());
  EXPECT_TRUE(w.run_until([&] { return phone.device().connection_count() == 0; }));
}

TEST(Dialer, SaysInWordsWhyAConnectionFailed) {
  world w;
  w.plug("00008030-0000000000000001");
  const auto id = w.devices.find_udid("00008030-0000000000000001");
  dial_result refused;
  auto d1 = dial(w, id, 3000, refused);
  ASSERT_TRUE(w.run_until([&] { return refused.outcome.has_value(); }));
  EXPECT_EQ(*refused.outcome, dialer::outcome::refused);
  EXPECT_EQ(refused.why, "port 3000 on 00008030-0000000000000001 is closed: is the app running?");

  dial_result nobody;
  auto d2 = dial(w, 42, 1000, nobody);  // reported at once, inside dial()
  ASSERT_TRUE(nobody.outcome.has_value());
  EXPECT_EQ(*nobody.outcome, dialer::outcome::no_such_phone);
  EXPECT_NE(nobody.why.find("DeviceID 42"), std::string::npos);
  EXPECT_TRUE(w.devices.connections().empty());
}

TEST(Dialer, APhoneThatLeavesWhileConnectingIsPhoneGone) {
  world w;
  auto& phone = w.plug("phone");
  dial_result r;
  auto d = dial(w, w.devices.find_udid("phone"), 1000, r);
  phone.unplug();  // before the SYN crosses
  ASSERT_TRUE(w.run_until([&] { return r.outcome.has_value(); }));
  EXPECT_EQ(*r.outcome, dialer::outcome::phone_gone);
  EXPECT_NE(r.why.find("went away"), std::string::npos) << r.why;
}

TEST(Relay, EndsOnceWithTotalsWhenTheClientLeaves) {
  world w;
  w.plug("phone");
  const auto id = w.devices.find_udid("phone");
  dial_result r;
  auto d = dial(w, id, 1000, r);
  ASSERT_TRUE(w.run_until([&] { return r.outcome.has_value(); }));

  asio::local::stream_protocol::socket ours(w.io), theirs(w.io);
  asio::local::connect_pair(ours, theirs);
  relay::socket_type s(w.io, asio::generic::stream_protocol(AF_UNIX, 0), theirs.release());
  int ended = 0;
  relay::totals moved;
  std::string why;
  std::make_shared<relay>(std::move(s), w.devices, id, d->conn(), 1000, "test", d->phone_closed(),
                          std::vector<std::byte>{},
                          [&](const relay::totals& t, const std::string& y) {
                            ++ended;
                            moved = t;
                            why = y;
                          })
      ->start();
  w.clients.push_back(std::make_unique<test_client>(ours.release()));
  auto& c = *w.clients.back();
  c.send(std::string(300000, 'r'));
  ASSERT_TRUE(w.run_until([&] { return c.inbox().size() == 300000; }, 5s));
  EXPECT_EQ(w.devices.connections().at(0).state, "connected");
  c.close();
  ASSERT_TRUE(w.run_until([&] { return ended > 0; }));
  w.settle();
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(moved.to_phone, 300000u);
  EXPECT_EQ(moved.from_phone, 300000u);
  EXPECT_EQ(why, "client closed the connection");
  EXPECT_TRUE(w.devices.connections().empty());
}

struct counting_watcher : device_registry::watcher {
  int attached = 0, detached = 0, paired = 0;
  void on_attached(const proto::usbmuxd::device&) override { ++attached; }
  void on_detached(std::uint32_t) override { ++detached; }
  void on_paired(std::uint32_t) override { ++paired; }
  proto::usbmuxd::listener describe() const override { return {}; }
};

TEST(DeviceRegistry, ReportsPhonesAndTellsWatchers) {
  world w;
  counting_watcher watcher;
  w.devices.add_watcher(&watcher);
  std::vector<std::size_t> counts;
  w.devices.on_count_change([&](std::size_t n) { counts.push_back(n); });

  auto& a = w.plug("phone-a");
  w.plug("phone-b");
  const auto phones = w.devices.phones();
  ASSERT_EQ(phones.size(), 2u);
  EXPECT_EQ(phones[0].udid, "phone-a");
  EXPECT_EQ(phones[0].product_id, 0x12a8);
  EXPECT_EQ(phones[0].configuration, 4);
  EXPECT_EQ(phones[0].speed_bps, 480'000'000u);
  EXPECT_GT(phones[0].packets_to_phone, 0u);  // the handshake
  EXPECT_EQ(w.devices.id_of(a), w.devices.find_udid("phone-a"));

  w.devices.paired(w.devices.find_udid("phone-a"));
  w.unplug(a);
  EXPECT_EQ(watcher.attached, 2);
  EXPECT_EQ(watcher.detached, 1);
  EXPECT_EQ(watcher.paired, 1);
  EXPECT_EQ(counts, (std::vector<std::size_t>{1, 2, 1}));
  EXPECT_EQ(w.devices.id_of(a), 0u);
  w.devices.remove_watcher(&watcher);
  w.devices.on_count_change({});  // `counts` goes before the world's phones do
}

// The registry finds an event's owner through the session's user data; an owner that
// lets go of itself inside its event lives until that call returns.
TEST(DeviceRegistry, AnOwnerThatLetsGoOfItselfInsideItsEventLivesUntilItReturns) {
  struct record {
    int events = 0;
    bool whole_after_disown = false;
    bool destroyed = false;
  };
  struct owner : device_registry::conn_owner {
    device_registry& devices;
    std::uint32_t device_id;
    usbmux::conn_id conn;
    record& r;
    owner(device_registry& d, std::uint32_t id, usbmux::conn_id c, record& rec)
        : devices(d), device_id(id), conn(c), r(rec) {}
    ~owner() override { r.destroyed = true; }
    void on_conn_event(const usbmux::event&) override {
      ++r.events;
      devices.disown(device_id, conn);
      r.whole_after_disown = !r.destroyed;
    }
    connection_status status() const override { return {}; }
  };
  world w;
  auto& phone = w.plug("phone");
  const auto id = w.devices.find_udid("phone");
  auto conn = phone.session().connect(1000, std::chrono::steady_clock::now());
  ASSERT_TRUE(conn);
  phone.flush();
  record r;
  auto o = std::make_shared<owner>(w.devices, id, *conn, r);
  const owner* handle = o.get();
  w.devices.own(id, *conn, std::move(o));
  EXPECT_EQ(phone.session().user_data(*conn), handle);
  ASSERT_TRUE(w.run_until([&] { return r.destroyed; }));
  EXPECT_EQ(r.events, 1);  // connected; after it, nobody owns the connection
  EXPECT_TRUE(r.whole_after_disown);
  EXPECT_TRUE(w.devices.connections().empty());
  EXPECT_EQ(phone.session().user_data(*conn), nullptr);
  (void)phone.session().close(*conn, std::chrono::steady_clock::now());
}

TEST(DeviceRegistry, APhoneThatFailsBeforeItIsReadyIsNeverListed) {
  world w;
  counting_watcher watcher;
  w.devices.add_watcher(&watcher);
  auto& p = w.plug("phone", 0);  // its very first operation fails
  EXPECT_TRUE(w.run_until([&] { return p.gone(); }));
  EXPECT_TRUE(w.devices.devices().empty());
  EXPECT_EQ(watcher.attached, 0);
  w.devices.remove_watcher(&watcher);
}

// What a phone_link reports reaches the registry as a link_errc, and the registry
// decides on the code, not on words: an unplug is the phone leaving (debug, nothing to
// retry), anything else a failure the transport tries again (a warning that says so).
struct recording_listener : usbmux::phone_link::listener {
  explicit recording_listener(device_registry& r) : registry(r) {}
  void on_ready(usbmux::phone_link& l) override { registry.on_ready(l); }
  void on_event(usbmux::phone_link& l, const usbmux::event& e) override { registry.on_event(l, e); }
  void on_gone(usbmux::phone_link& l, std::error_code why, const std::string& detail) override {
    gone.push_back(why);
    registry.on_gone(l, why, detail);
  }
  device_registry& registry;
  std::vector<std::error_code> gone;
};

std::string registry_log_of(world& w, recording_listener& rec, bool start,
                            std::optional<std::uint64_t> fail_at, bool unplug) {
  usbmux::phone_facts f;
  f.udid = "phone";
  f.bus = 1;
  f.address = 9;
  memory_phone p(w.io, rec, f);
  if (fail_at) p.fail_at(*fail_at);
  const auto level = log::current();
  log::set_level(log::level::debug);
  ::testing::internal::CaptureStderr();
  if (start) p.start();
  if (unplug) p.unplug();
  w.run_until([&] { return p.gone(); });
  log::set_level(level);
  return ::testing::internal::GetCapturedStderr();
}

TEST(DeviceRegistry, AnUnplugBeforeReadyIsAnUnplugNotAFailureToRetry) {
  world w;
  recording_listener rec(w.devices);
  const std::string log = registry_log_of(w, rec, false, std::nullopt, true);
  ASSERT_EQ(rec.gone.size(), 1u);
  EXPECT_EQ(rec.gone[0], usbmux::link_errc::unplugged);
  EXPECT_NE(log.find("phone at 1-9 (phone) left before it was ready"), std::string::npos) << log;
  EXPECT_EQ(log.find("trying again"), std::string::npos) << log;
}

TEST(DeviceRegistry, AFailureBeforeReadyIsAFailureToRetry) {
  world w;
  recording_listener rec(w.devices);
  const std::string log = registry_log_of(w, rec, true, 0, false);
  ASSERT_EQ(rec.gone.size(), 1u);
  EXPECT_EQ(rec.gone[0], usbmux::link_errc::transfer_failed);
  EXPECT_NE(log.find("phone at 1-9 (phone) failed before it was ready: injected failure at "
                     "operation 0; trying again"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("left before it was ready"), std::string::npos) << log;
}

TEST(DeviceRegistry, AnUnplugEndsEveryConnectionWithTheWordUnplugged) {
  world w;
  auto& p = w.plug("phone");
  const auto id = w.devices.find_udid("phone");
  dial_result r;
  auto d = dial(w, id, 1000, r);
  ASSERT_TRUE(w.run_until([&] { return r.outcome.has_value(); }));
  ASSERT_EQ(*r.outcome, dialer::outcome::connected) << r.why;
  ::testing::internal::CaptureStderr();
  w.unplug(p);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("detached phone (device " + std::to_string(id) + "): unplugged"),
            std::string::npos)
      << log;
  EXPECT_TRUE(w.devices.connections().empty());
}

TEST(Forward, ATcpClientReachesThePhonesPort) {
  world w;
  w.plug("phone");
  proto::tetherd::forward_spec spec;
  spec.phone_port = 1000;
  auto added = w.forwards.add(spec);
  ASSERT_TRUE(added) << added.describe();
  ASSERT_NE(added->bound_port, 0);
  auto& c = w.tcp_client(added->bound_port);
  c.send("through the forward");
  ASSERT_TRUE(w.run_until([&] { return c.inbox().size() >= 19; }));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(c.inbox().data()), c.inbox().size()),
            "through the forward");
  EXPECT_EQ(w.devices.connections().size(), 1u);
}

TEST(Forward, AClientOfAClosedPortWaitsThenIsClosedWithTheReason) {
  world w;  // retry 10 ms doubling to 40 ms, give up after 500 ms
  w.plug("phone");
  proto::tetherd::forward_spec spec;
  spec.phone_port = 3000;
  auto added = w.forwards.add(spec);
  ASSERT_TRUE(added) << added.describe();
  auto& c = w.tcp_client(added->bound_port);
  ASSERT_TRUE(w.run_until([&] { return c.closed(); }, 3s));
  const auto list = w.forwards.list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_NE(list[0].last_error.find("is closed"), std::string::npos) << list[0].last_error;
  EXPECT_TRUE(w.devices.connections().empty());
}

}  // namespace
}  // namespace tether::daemon::test

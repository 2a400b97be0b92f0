// tether's libusb transport and engine against virtual iPhones. This program runs
// under tether-sim (see CMakeLists.txt), so its unmodified libusb sees the phones;
// it drives plug/unplug through the socket in TETHER_SIM_CONTROL.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <iomanip>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "phone/phone_apps.hpp"
#include "usbmux/usb/usb_host.hpp"

namespace tether::usb {
namespace {

using namespace std::chrono_literals;
using usbmux::conn_id;

std::string sim_command(const std::string& line) {
  const char* path = std::getenv("TETHER_SIM_CONTROL");
  if (path == nullptr) return "error: not running under tether-sim";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "error: cannot reach tether-sim";
  }
  const std::string msg = line + "\n";
  (void)::send(fd, msg.data(), msg.size(), 0);
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// UDID of the sim's phone N (1-based), from its `list` command.
std::string sim_udid(int n) {
  std::istringstream in(sim_command("list"));
  int index = 0;
  std::string udid, state;
  while (in >> index >> udid >> state)
    if (index == n) return udid;
  return {};
}

// Phone N's `stats` line from the sim, as numbers by name.
std::map<std::string, std::uint64_t> sim_stats(int n) {
  std::istringstream in(sim_command("stats " + std::to_string(n)));
  std::map<std::string, std::uint64_t> v;
  for (std::string pair; in >> pair;)
    if (const auto eq = pair.find('='); eq != std::string::npos)
      v[pair.substr(0, eq)] = std::stoull(pair.substr(eq + 1));
  return v;
}

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::stoull(v) : fallback;
}

// Records what the transport reports, and lets a test wait for it.
class Transport : public ::testing::Test, public usb_host::listener {
 protected:
  void SetUp() override {
    if (std::getenv("TETHER_SIM_CONTROL") == nullptr) GTEST_SKIP() << "run me under tether-sim";
    ASSERT_FALSE(loop.start());
    ASSERT_FALSE(host.start());
  }
  void TearDown() override {
    if (std::getenv("TETHER_SIM_CONTROL") == nullptr) return;
    host.shut_down_all("test over");
    EXPECT_TRUE(run_until([&] { return host.link_count() == 0; }, 5s)) << "teardown hung";
    EXPECT_EQ(loop.wait_failures(), 0u) << "a libusb descriptor could not be waited on";
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      io.run_for(5ms);
    }
    return true;
  }

  // The UDID of the first ready phone. Tests look the link up by UDID at every step
  // (link()), so a link that goes away is a failure, not a dangling pointer.
  // Waits until every phone the sim plugged in is ready; returns phone 1's UDID.
  std::string wait_ready() {
    const std::size_t phones = env_number("TETHER_SIM_PHONES", 1);
    EXPECT_TRUE(run_until([&] { return ready.size() >= phones; }, 10s))
        << ready.size() << " of " << phones << " phones became ready";
    const std::string first = sim_udid(1);
    EXPECT_TRUE(ready.count(first)) << "phone 1 (" << first << ") is not among the ready ones";
    return first;
  }
  device_link* link(const std::string& udid) {
    auto it = ready.find(udid);
    return it == ready.end() ? nullptr : it->second;
  }
  // Runs `step` on the phone's link until it returns true; false if the link goes.
  bool drive(const std::string& udid, const std::function<bool(device_link&)>& step,
             std::chrono::milliseconds limit) {
    bool lost = false;
    const bool done = run_until(
        [&] {
          device_link* l = link(udid);
          if (l == nullptr) return lost = true;
          return step(*l);
        },
        limit);
    if (lost) ADD_FAILURE() << "the link went away: " << (gone.empty() ? "?" : gone.back());
    return done && !lost;
  }

  conn_id connect(device_link& link, std::uint16_t port) {
    auto id = link.session().connect(port, std::chrono::steady_clock::now());
    EXPECT_TRUE(id);
    link.flush();
    EXPECT_TRUE(run_until([&] { return connected.count(*id) || closed.count(*id); }, 5s))
        << "no answer to connect(" << port << ")"
        << (gone.empty() ? "" : "; link gone: " + gone.back());
    return *id;
  }

  // Round-trips n random bytes through phone `udid`'s echo app on a new connection.
  ::testing::AssertionResult echo(const std::string& udid, std::size_t n = 100000) {
    device_link* l = link(udid);
    if (l == nullptr) return ::testing::AssertionFailure() << udid << " is not ready";
    const conn_id id = connect(*l, 2345);
    if (!connected.count(id)) return ::testing::AssertionFailure() << "cannot connect to echo";
    std::vector<std::byte> data(n);
    std::mt19937 rng(static_cast<unsigned>(n));
    for (auto& b : data) b = static_cast<std::byte>(rng());
    std::size_t sent = 0;
    std::vector<std::byte> got;
    const bool ok = drive(
        udid,
        [&](device_link& lk) {
          if (sent < data.size()) sent += *lk.session().send(id, std::span(data).subspan(sent));
          const auto in = lk.session().received(id);
          got.insert(got.end(), in.begin(), in.end());
          lk.session().consume(id, in.size());
          lk.flush();
          return got.size() >= data.size();
        },
        10s);
    if (device_link* lk = link(udid)) {
      (void)lk->session().close(id, std::chrono::steady_clock::now());
      lk->flush();
    }
    if (!ok || got != data)
      return ::testing::AssertionFailure() << "echoed " << got.size() << " of " << n;
    return ::testing::AssertionSuccess();
  }
  // usb_host::listener
  void on_ready(device_link& link) override { ready[link.facts().udid] = &link; }
  void on_event(device_link& link, const usbmux::event& e) override {
    if (auto* c = std::get_if<usbmux::events::connected>(&e)) connected.insert(c->id);
    if (auto* c = std::get_if<usbmux::events::closed>(&e)) closed[c->id] = *c;
    if (on_data) on_data(link, e);
  }
  void on_gone(device_link& link, std::error_code why, const std::string& detail) override {
    ready.erase(link.facts().udid);
    gone.push_back(link.facts().udid + ": " + base::describe(why, detail));
    gone_why.push_back(why);
  }
  void on_attach_failed(std::uint8_t, std::uint8_t, const std::string& what,
                        std::error_code ec) override {
    attach_failures.push_back(what + ": " + ec.message());
  }

  asio::io_context io;
  event_loop loop{io};
  static link_options quick_options() {
    link_options o;
    o.session.handshake_timeout = 1s;  // faults should not make the suite slow
    o.retry_first = 200ms;
    return o;
  }
  usb_host host{loop, quick_options(), *this};
  std::map<std::string, device_link*> ready;
  std::set<conn_id> connected;
  std::map<conn_id, usbmux::events::closed> closed;
  std::vector<std::string> gone;
  std::vector<std::error_code> gone_why;  // the code of each, in step with `gone`
  std::vector<std::string> attach_failures;
  std::function<void(device_link&, const usbmux::event&)> on_data;
};

TEST_F(Transport, FindsThePhoneAndReportsWhatItIs) {
  device_link* l = link(wait_ready());
  ASSERT_NE(l, nullptr);
  const auto& f = l->facts();
  const bool super = std::string(std::getenv("TETHER_SIM_SPEED")) == "super";
  if (std::string(std::getenv("TETHER_SIM_OLD_SERIAL")) == "1") {
    EXPECT_EQ(f.udid.size(), 40u);  // old-style serials are the UDID as they are
  } else {
    EXPECT_EQ(f.udid.size(), 25u);  // 24-hex serial with the hyphen inserted
    EXPECT_EQ(f.udid[8], '-');
  }
  EXPECT_EQ(f.udid, sim_udid(1));
  EXPECT_EQ(f.mux.configuration, 4);
  EXPECT_EQ(f.mux.in_endpoint, 0x85);
  EXPECT_EQ(f.mux.out_endpoint, 0x04);
  EXPECT_EQ(f.mux.max_packet, super ? 1024 : 512);
  EXPECT_EQ(f.speed_bps, super ? 10'000'000'000u : 480'000'000u);  // Gen 2, as the Pros
  EXPECT_EQ(f.location >> 16, 1u);
  EXPECT_TRUE(attach_failures.empty());
}

TEST_F(Transport, EchoRoundTripsTwoMegabytes) { EXPECT_TRUE(echo(wait_ready(), 2'000'000)); }

TEST_F(Transport, SourceStreamArrivesInOrder) {
  const std::string udid = wait_ready();
  ASSERT_NE(link(udid), nullptr);
  const std::uint64_t total = env_number("TETHER_SIM_SOURCE_BYTES", 0);
  ASSERT_GT(total, 0u);
  const conn_id id = connect(*link(udid), 2346);
  std::uint64_t got = 0;
  bool in_order = true;
  ASSERT_TRUE(drive(
      udid,
      [&](device_link& l) {
        const auto in = l.session().received(id);
        for (std::size_t i = 0; i < in.size() && in_order; ++i)
          in_order = in[i] == sim::source_pattern(got + i);
        got += in.size();
        l.session().consume(id, in.size());
        l.flush();
        return got >= total || !in_order;
      },
      30s))
      << "got " << got << " of " << total;
  EXPECT_TRUE(in_order);
  EXPECT_EQ(got, total);
}

// The source app's payload rate against the rate the sim's bus was given (--rate): the
// independent measure, taken in this run. The data is drained as each readable event
// arrives (as tetherd does), not on a polling step. Each stream is timed from its first
// byte; the best counts, and streams stop once one reaches the bound (up to eight), so a
// spell of load on a shared machine costs a few streams, not the figure; a transport that
// cannot reach the bound runs all eight (about 3 s) and fails. ctest runs it at 20 MB/s
// (transport_link_rate): the emulation carries about 30 MB/s on this 2-core machine with
// two other builds running and 66 on a quiet one, so the link is the limit and the
// transport gives 100% of it; one that delivers half (a stall, a lost ACK, a slow loop)
// fails the 70% bound. Sanitizer builds do not register it: their instrumentation, not
// the transport, sets the pace there.
TEST_F(Transport, SourceStreamKeepsUpWithTheLink) {
  const std::string udid = wait_ready();
  ASSERT_NE(link(udid), nullptr);
  const std::uint64_t total = env_number("TETHER_SIM_SOURCE_BYTES", 0);
  const char* rate_env = std::getenv("TETHER_SIM_RATE");
  const double link_mbps = rate_env ? std::strtod(rate_env, nullptr) : 0;
  ASSERT_GT(total, 0u);
  // Registered under `tether-sim --rate 20` only: without a rate the check has nothing to
  // compare with, which is a broken setup, not a pass.
  ASSERT_GT(link_mbps, 0) << "no link rate ($TETHER_SIM_RATE): run under tether-sim --rate N";
  constexpr double bound = 0.70;
  double best = 0;
  std::ostringstream runs;
  const int tries = 8;
  for (int run = 0; run < tries && best < bound * link_mbps; ++run) {
    conn_id id = 0;
    std::uint64_t got = 0;
    std::chrono::steady_clock::time_point first{}, last{};
    on_data = [&](device_link& l, const usbmux::event& e) {
      const auto* r = std::get_if<usbmux::events::readable>(&e);
      if (r == nullptr || r->id != id) return;
      if (got == 0) first = std::chrono::steady_clock::now();
      for (auto in = l.session().received(id); !in.empty(); in = l.session().received(id)) {
        got += in.size();
        l.session().consume(id, in.size());
      }
      l.flush();
      if (got >= total && last == std::chrono::steady_clock::time_point{})
        last = std::chrono::steady_clock::now();
    };
    // Not connect(): the stream may start before it returns, and id must be known first.
    const auto cid = link(udid)->session().connect(2346, std::chrono::steady_clock::now());
    ASSERT_TRUE(cid);
    id = *cid;
    link(udid)->flush();
    ASSERT_TRUE(run_until([&] { return got >= total || link(udid) == nullptr; }, 30s))
        << "got " << got << " of " << total;
    on_data = nullptr;
    ASSERT_EQ(got, total);
    const double s = std::chrono::duration<double>(last - first).count();
    const double mbps = static_cast<double>(got) / s / 1e6;
    runs << (run ? ", " : "") << std::fixed << std::setprecision(1) << mbps;
    best = std::max(best, mbps);
    (void)link(udid)->session().close(id, std::chrono::steady_clock::now());
    link(udid)->flush();
  }
  const double ratio = best / link_mbps;
  std::printf(
      "source stream: %s MB/s; best %.1f MB/s = %.0f%% of the %.0f MB/s link (bound %.0f%%)\n",
      runs.str().c_str(), best, 100 * ratio, link_mbps, 100 * bound);
  EXPECT_GE(ratio, bound) << "the transport carried " << best << " MB/s of a " << link_mbps
                          << " MB/s link in its best stream of " << runs.str()
                          << " (a machine whose emulation cannot carry 70% of the link at all, "
                             "about 5x slower than a quiet 2-core one, fails this too)";
}

TEST_F(Transport, SinkTakesEverything) {
  const std::string udid = wait_ready();
  ASSERT_NE(link(udid), nullptr);
  const conn_id id = connect(*link(udid), 2347);
  const std::vector<std::byte> chunk(65536, std::byte{0x11});
  std::uint64_t sent = 0;
  ASSERT_TRUE(drive(
      udid,
      [&](device_link& l) {
        if (sent < 8'000'000) sent += *l.session().send(id, chunk);
        l.flush();
        const auto info = l.session().info(id);
        return sent >= 8'000'000 && info->unsent == 0 && info->in_flight == 0;
      },
      20s));
}

// Full 49152-byte packets are a multiple of every bulk packet size (512, 1024): the
// phone's read ends only at the ZLP the transport asks libusb for. Without it the phone
// glues the next packet on (the sim's phone then refuses or drops the read, as a real
// one does), and the echo comes back short.
TEST_F(Transport, FullSizePacketsReachThePhoneWholeThroughTheirZlp) {
  const std::string udid = wait_ready();
  const auto before = sim_stats(1);
  ASSERT_TRUE(before.count("packets_on_boundary")) << sim_command("stats 1");
  EXPECT_TRUE(echo(udid, 2'000'000));
  const auto after = sim_stats(1);
  // 2 MB in packets of at most 49116 payload bytes: at least 41 full ones on a busy link.
  EXPECT_GE(after.at("packets_on_boundary") - before.at("packets_on_boundary"), 10u)
      << sim_command("stats 1");
  EXPECT_EQ(after.at("largest_packet"), 49152u);
  EXPECT_EQ(after.at("too_large"), 0u);
  EXPECT_EQ(after.at("mismatched"), 0u);
}

// A phone refuses any read over 65535 bytes (CONTROL error, the packet dropped): no
// setting makes the transport send one. Here at the largest setting there is, a
// megabyte, the packets stop at 65535 and the phone takes them all.
TEST_F(Transport, NoSettingSendsAPacketThePhoneRefuses) {
  wait_ready();
  host.shut_down_all("reopened with huge packets");
  ASSERT_TRUE(run_until([&] { return host.link_count() == 0; }, 5s));
  link_options huge = quick_options();
  huge.session.max_packet_size = 1 << 20;
  huge.session.send_buffer = 1 << 20;
  usb_host big{loop, huge, *this};
  ASSERT_FALSE(big.start());
  const std::string udid = wait_ready();
  const auto before = sim_stats(1);
  EXPECT_TRUE(echo(udid, 2'000'000));
  const auto after = sim_stats(1);
  EXPECT_EQ(after.at("largest_packet"), 65535u) << sim_command("stats 1");
  EXPECT_EQ(after.at("too_large"), before.at("too_large")) << sim_command("stats 1");
  EXPECT_EQ(after.at("mismatched"), before.at("mismatched")) << sim_command("stats 1");
  big.shut_down_all("test over");
  EXPECT_TRUE(run_until([&] { return big.link_count() == 0; }, 5s));
}

TEST_F(Transport, ClosedPortIsRefusedWithThePhonesReason) {
  const std::string udid = wait_ready();
  ASSERT_NE(link(udid), nullptr);
  const conn_id id = connect(*link(udid), 9999);
  ASSERT_TRUE(closed.count(id));
  EXPECT_EQ(closed[id].reason, usbmux::close_reason::refused);
  EXPECT_EQ(closed[id].detail, "no app listening on this port");
  // The phone is fine afterwards.
  EXPECT_TRUE(connected.count(connect(*link(udid), 2345)));
}

TEST_F(Transport, SeesEveryPhoneAtOnce) {
  const std::size_t phones = env_number("TETHER_SIM_PHONES", 1);
  ASSERT_GE(phones, 2u) << "run with --phones 2 or more";
  wait_ready();
  EXPECT_EQ(ready.size(), phones);
  EXPECT_TRUE(ready.count(sim_udid(2)));
}

TEST_F(Transport, SurvivesAHundredUnplugReplugCycles) {
  ASSERT_FALSE(wait_ready().empty());
  const std::size_t phones = ready.size();
  for (int cycle = 0; cycle < 100; ++cycle) {
    ASSERT_EQ(sim_command("unplug 1"), "ok\n");
    ASSERT_TRUE(run_until([&] { return ready.size() == phones - 1; }, 5s))
        << "cycle " << cycle << ": unplug unseen";
    ASSERT_EQ(sim_command("plug 1"), "ok\n");
    ASSERT_TRUE(run_until([&] { return ready.size() == phones; }, 5s))
        << "cycle " << cycle << ": replug unseen";
  }
  EXPECT_EQ(gone.size(), 100u);
  for (const auto& g : gone) EXPECT_NE(g.find(": unplugged"), std::string::npos) << g;
  for (auto why : gone_why) EXPECT_EQ(why, usbmux::link_errc::unplugged) << why.message();
  EXPECT_TRUE(attach_failures.empty()) << attach_failures.front();
}

TEST_F(Transport, UnplugInTheMiddleOfAStreamNeverHangs) {
  const std::string udid = wait_ready();
  ASSERT_NE(link(udid), nullptr);
  const conn_id id = connect(*link(udid), 2346);
  std::uint64_t got = 0;
  ASSERT_TRUE(drive(
      udid,
      [&](device_link& l) {
        const auto in = l.session().received(id);
        got += in.size();
        l.session().consume(id, in.size());
        l.flush();
        return got > 1'000'000;
      },
      10s));
  const auto pulled = std::chrono::steady_clock::now();
  const std::size_t before = ready.size();
  ASSERT_EQ(sim_command("unplug 1"), "ok\n");
  ASSERT_TRUE(run_until([&] { return ready.size() == before - 1; }, 3s))
      << "the link hung after a cable pull";
  EXPECT_FALSE(ready.count(udid));
  const auto took = std::chrono::steady_clock::now() - pulled;
  EXPECT_LT(took, 1s);
  ASSERT_EQ(sim_command("plug 1"), "ok\n");
  EXPECT_TRUE(run_until([&] { return ready.size() == before; }, 5s));
  RecordProperty(
      "teardown_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

// --- faults injected by tether-sim --------------------------------------------------

class TransportFaults : public Transport {
 protected:
  std::string gone_reason(const std::string& udid) {
    for (auto it = gone.rbegin(); it != gone.rend(); ++it)
      if (it->rfind(udid + ": ", 0) == 0) return it->substr(udid.size() + 2);
    return {};
  }
};

TEST_F(TransportFaults, StalledEndpointsAreClearedAndTheLinkCarriesOn) {
  const std::string udid = wait_ready();
  ASSERT_TRUE(echo(udid));
  ASSERT_EQ(sim_command("stall 1 in"), "ok\n");
  EXPECT_TRUE(echo(udid));
  ASSERT_EQ(sim_command("stall 1 out"), "ok\n");
  EXPECT_TRUE(echo(udid));
  EXPECT_TRUE(gone.empty()) << gone.front();
}

TEST_F(TransportFaults, SlowCompletionsSlowTheLinkButDoNotBreakIt) {
  const std::string udid = wait_ready();
  ASSERT_EQ(sim_command("delay 1 40"), "ok\n");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(echo(udid, 1000));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 80ms);  // at least a round trip of delays
  ASSERT_EQ(sim_command("delay 1 0"), "ok\n");
  EXPECT_TRUE(gone.empty());
}

TEST_F(TransportFaults, ALinkDroppedMidTransferTakesDownThatPhoneOnly) {
  const std::string first = wait_ready();
  const std::string second = sim_udid(2);
  ASSERT_TRUE(ready.count(second));
  const conn_id id = connect(*link(first), 2346);
  std::uint64_t got = 0;
  ASSERT_TRUE(drive(
      first,
      [&](device_link& l) {
        got += l.session().received(id).size();
        l.session().consume(id, l.session().received(id).size());
        l.flush();
        return got > 200000;
      },
      10s));
  ASSERT_EQ(sim_command("drop 1"), "ok\n");
  ASSERT_TRUE(run_until([&] { return !ready.count(first); }, 3s));
  const std::string why = gone_reason(first);
  EXPECT_TRUE(why == "unplugged" || why.find("LIBUSB_TRANSFER_ERROR") != std::string::npos) << why;
  EXPECT_TRUE(echo(second)) << "the other phone must not notice";
  ASSERT_EQ(sim_command("plug 1"), "ok\n");
  EXPECT_TRUE(run_until([&] { return ready.count(first) == 1; }, 5s));
}

TEST_F(TransportFaults, AMalformedPacketEndsTheLinkWithAReasonAndItComesBack) {
  const std::string first = wait_ready();
  const std::string second = sim_udid(2);
  ASSERT_EQ(sim_command("garbage 1"), "ok\n");
  ASSERT_TRUE(run_until([&] { return !ready.count(first); }, 3s));
  EXPECT_EQ(gone_reason(first),
            "mux protocol error: mux packet length 3 is shorter than its 8-byte header");
  EXPECT_EQ(gone_why.back(), usbmux::link_errc::protocol_error);
  EXPECT_TRUE(echo(second));
  // Still plugged in: reopened after the retry delay, and a new VERSION restarts its mux.
  ASSERT_TRUE(run_until([&] { return ready.count(first) == 1; }, 5s));
  EXPECT_TRUE(echo(first));
}

TEST_F(TransportFaults, APhoneThatNeverAnswersVersionTimesOutAndIsRetried) {
  const std::string first = wait_ready();
  ASSERT_EQ(sim_command("mute 1"), "ok\n");
  ASSERT_EQ(sim_command("replug 1"), "ok\n");
  ASSERT_TRUE(run_until([&] { return gone.size() >= 2; }, 5s)) << "no handshake timeout";
  EXPECT_EQ(gone.back(), first + ": the phone did not answer the mux VERSION handshake");
  EXPECT_EQ(gone_why.back(), usbmux::link_errc::handshake_failed);
  EXPECT_FALSE(ready.count(first));
  ASSERT_EQ(sim_command("unmute 1"), "ok\n");
  EXPECT_TRUE(run_until([&] { return ready.count(first) == 1; }, 5s))
      << "not retried after the timeout";
  EXPECT_TRUE(echo(first));
}

}  // namespace
}  // namespace tether::usb

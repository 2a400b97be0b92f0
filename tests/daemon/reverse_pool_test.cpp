// Reverse channels over in-memory phones: the pool's spares, its refill when the app
// takes a line, its bound, its back-off when the app or the service is missing, and the
// phone's departure. The board's service is a TCP acceptor on the test's io_context.
#include <gtest/gtest.h>

#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include "daemon/reverse_table.hpp"
#include "in_process.hpp"

namespace tether::daemon::test {
namespace {

// The board's service: accepts every connection and, when `greeting` is set, speaks
// first on each.
struct service {
  explicit service(asio::io_context& io, std::string greeting = {})
      : acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        hello(std::move(greeting)) {
    accept();
  }
  void accept() {
    acceptor.async_accept([this](std::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      auto held = std::make_shared<asio::ip::tcp::socket>(std::move(s));
      if (!hello.empty()) asio::async_write(*held, asio::buffer(hello), [](auto, auto) {});
      sockets.push_back(held);
      accept();
    });
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }

  asio::ip::tcp::acceptor acceptor;
  std::string hello;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets;
};

proto::tetherd::reverse_spec spec(std::uint16_t phone_port, std::uint16_t local_port) {
  proto::tetherd::reverse_spec s;
  s.phone_port = phone_port;
  s.local_port = local_port;
  return s;
}

constexpr reverse_backoff fast{std::chrono::milliseconds(10), std::chrono::milliseconds(40)};

TEST(ReversePool, KeepsItsSparesOpenToTheAppAndTheService) {
  world w;
  w.plug("phone");
  service board(w.io);
  reverse_table reverses(w.io, w.devices, fast);
  auto added = reverses.add(spec(2000, board.port()));  // 2000 holds what arrives
  ASSERT_TRUE(added) << added.describe();
  EXPECT_EQ(added->spec.name, "r2000");
  ASSERT_TRUE(w.run_until([&] { return reverses.list()[0].spares_open == 2; }));
  w.settle(50ms);  // and no more than that
  const auto s = reverses.list()[0];
  EXPECT_EQ(s.spares_open, 2u);
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.phones, 1u);
  EXPECT_EQ(s.state, "2 spares open");
  EXPECT_EQ(board.sockets.size(), 2u);  // each joined to the service at once
  EXPECT_EQ(w.devices.connections().size(), 2u);
  // tetherd's own watchers are not usbmuxd listeners.
  EXPECT_TRUE(w.devices.listeners().empty());
}

// The echo app answers the service's greeting on every line: each counts as taken,
// and the pool refills until its bound.
TEST(ReversePool, RefillsWhenTheAppTakesALineUpToTheBound) {
  world w;
  w.plug("phone");
  service board(w.io, "hello from the board\n");
  reverse_table reverses(w.io, w.devices, fast);
  ASSERT_TRUE(reverses.add(spec(1000, board.port())));
  ASSERT_TRUE(w.run_until([&] { return reverses.list()[0].in_use == max_reverse_lines; }, 5000ms));
  w.settle(50ms);
  const auto s = reverses.list()[0];
  EXPECT_EQ(s.in_use, max_reverse_lines);
  EXPECT_EQ(s.spares_open, 0u);
  EXPECT_EQ(s.total, max_reverse_lines);
  EXPECT_EQ(board.sockets.size(), max_reverse_lines);
  EXPECT_NE(s.state.find("the most per phone"), std::string::npos) << s.state;
}

TEST(ReversePool, NoAppOrNoServiceIsRetriedWithBackOffAndSaid) {
  world w;
  w.plug("phone");
  reverse_table reverses(w.io, w.devices, fast);
  service board(w.io);
  ASSERT_TRUE(reverses.add(spec(3000, board.port())));  // nothing listens on 3000
  ASSERT_TRUE(w.run_until([&] { return reverses.list()[0].refused >= 3; }));
  auto s = reverses.list()[0];
  EXPECT_EQ(s.state, "waiting for the app: port 3000 on phone is closed: is the app running?");
  EXPECT_EQ(s.spares_open, 0u);
  EXPECT_TRUE(board.sockets.empty());  // the service is not bothered meanwhile

  // The app is there, the service is not: the phone's connection is given back.
  asio::ip::tcp::acceptor gone(w.io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto dead_port = gone.local_endpoint().port();
  gone.close();
  ASSERT_TRUE(reverses.add(spec(2000, dead_port)));
  ASSERT_TRUE(w.run_until([&] { return reverses.list()[0].local_failures >= 2; }));
  s = reverses.list()[0];  // r2000, before r3000
  EXPECT_EQ(s.spec.name, "r2000");
  EXPECT_NE(s.last_error.find("cannot reach the board's service at 127.0.0.1:" +
                              std::to_string(dead_port) + " (Connection refused): is it running?"),
            std::string::npos)
      << s.last_error;
  w.settle(30ms);
  // Only lines being retried hold the phone: no connection is left behind.
  EXPECT_LE(w.devices.connections().size(), 1u);
}

TEST(ReversePool, FollowsThePhonesAndComesBackAfterAReplug) {
  world w;
  service board(w.io);
  reverse_table reverses(w.io, w.devices, fast);
  ASSERT_TRUE(reverses.add(spec(2000, board.port())));
  EXPECT_EQ(reverses.list()[0].state, "waiting for a phone");
  auto& a = w.plug("phone-a");
  w.plug("phone-b");
  ASSERT_TRUE(w.run_until([&] { return reverses.list()[0].spares_open == 4; }));
  EXPECT_EQ(reverses.list()[0].state, "4 spares open, 0 in use on 2 phones");
  w.unplug(a);
  ASSERT_TRUE(w.run_until([&] { return reverses.list()[0].phones == 1; }));
  EXPECT_EQ(reverses.list()[0].spares_open, 2u);
  w.plug("phone-a");
  ASSERT_TRUE(w.run_until([&] { return reverses.list()[0].spares_open == 4; }));
  // Removing it closes every line, on the phones and to the service.
  ASSERT_TRUE(reverses.remove("r2000"));
  w.settle(30ms);
  EXPECT_TRUE(w.devices.connections().empty());
  EXPECT_TRUE(reverses.list().empty());
}

TEST(ReverseTable, RefusesWhatCannotWorkInWords) {
  world w;
  reverse_table reverses(w.io, w.devices, fast);
  auto bad = [&](proto::tetherd::reverse_spec s) {
    auto r = reverses.add(std::move(s));
    return r ? std::string() : r.detail();
  };
  EXPECT_EQ(bad(spec(0, 80)), "the phone port is missing");
  EXPECT_EQ(bad(spec(80, 0)), "the local port (the board's service) is missing");
  auto s = spec(80, 81);
  s.spares = 9;
  EXPECT_EQ(bad(s), "spares must be 1 to 8, not 9");
  s = spec(80, 81);
  s.local_address = "board.local";
  EXPECT_EQ(bad(s), "'board.local' is not an IP address");
  s = spec(80, 81);
  s.udid = "iPhone";
  EXPECT_EQ(bad(s), "'iPhone' is not a UDID (hex digits and hyphens)");
  ASSERT_TRUE(reverses.add(spec(80, 81)));
  EXPECT_EQ(bad(spec(80, 82)),
            "a reverse named 'r80' exists already: remove it first, or choose --name");
  for (std::uint16_t p = 1; reverses.size() < max_reverses; ++p)
    ASSERT_TRUE(reverses.add(spec(static_cast<std::uint16_t>(1000 + p), 81)));
  EXPECT_EQ(bad(spec(9999, 81)),
            "tetherd runs at most 64 reverses: remove one first (tether reverse remove NAME)");
}

}  // namespace
}  // namespace tether::daemon::test

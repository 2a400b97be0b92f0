// Failure at every step (Boost.Beast's fail_count idea): a full scenario -- a Listen
// client, a Connect with bytes both ways, a forward's TCP client, then both leave --
// runs once to count the phone link's operations, then once for every N with the
// link failing at its Nth operation. Each run must end cleanly: no crash or leak
// (ASan), every client answered or closed, the log saying why, no connection left
// behind, and the daemon still answering a new client.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "in_process.hpp"

namespace tether::daemon::test {
namespace {

struct outcome {
  std::uint64_t operations = 0;
  bool phone_gone = false;
};

outcome scenario(std::optional<std::uint64_t> fail_at) {
  world w;
  auto& phone = w.plug("phone", fail_at);
  const auto id = w.devices.find_udid("phone");

  auto& listener = w.client();
  auto listening = w.ask(listener, 1, "Listen");
  EXPECT_TRUE(listening);

  auto& c = w.client();
  auto result = w.ask(c, 2, "Connect", {{"DeviceID", id}, {"PortNumber", htons(1000)}});
  EXPECT_TRUE(result || c.closed());
  const bool connected = result && number_in(*result) == 0;
  if (connected) {
    c.send("hello");
    // Echoed, or the socket closes because the phone went.
    EXPECT_TRUE(w.run_until([&] { return c.inbox().size() >= 5 || c.closed(); }));
  } else if (result) {
    EXPECT_TRUE(number_in(*result) == 2 || number_in(*result) == 3) << *result;
  }

  proto::tetherd::forward_spec spec;
  spec.phone_port = 1000;
  auto added = w.forwards.add(spec);
  EXPECT_TRUE(added) << added.describe();
  if (added) {
    auto& f = w.tcp_client(added->bound_port);
    f.send("forwarded");
    // Echoed, or closed once the forward gives up on a phone that went (500 ms).
    EXPECT_TRUE(w.run_until([&] { return f.inbox().size() >= 9 || f.closed(); }, 3s));
    f.close();
  }
  c.close();
  EXPECT_TRUE(w.run_until([&] { return w.devices.connections().empty(); }));

  // The Listen client heard the phone leave if it ever heard it come.
  if (phone.gone() && id != 0) {
    bool detached = false;
    w.run_until([&] {
      while (auto m = listener.next_message()) detached |= has_string(*m, "Detached");
      return detached;
    });
    EXPECT_TRUE(detached);
  }
  auto& later = w.client();
  EXPECT_TRUE(w.ask(later, 3, "ListDevices")) << "the daemon stopped answering";
  return {phone.operations(), phone.gone()};
}

TEST(FailureSweep, EveryOperationOfTheLinkMayFail) {
  const auto clean = scenario(std::nullopt);
  ASSERT_FALSE(clean.phone_gone);
  ASSERT_GT(clean.operations, 10u);
  for (std::uint64_t n = 0; n <= clean.operations; ++n) {
    SCOPED_TRACE("failing at operation " + std::to_string(n));
    ::testing::internal::CaptureStderr();
    const auto run = scenario(n);
    const std::string log = ::testing::internal::GetCapturedStderr();
    // Timers (delayed ACKs) may make a run a packet shorter than the clean one: then
    // the scenario ended before operation n came, and nothing failed.
    EXPECT_TRUE(run.phone_gone || run.operations <= n) << run.operations;
    if (run.phone_gone) {
      // The log names the cause, in the registry's words or the relay's.
      EXPECT_NE(log.find("injected failure at operation " + std::to_string(n)), std::string::npos)
          << log;
    }
    if (::testing::Test::HasFailure()) break;  // one broken N says enough
  }
  std::printf("swept %llu failure points\n", static_cast<unsigned long long>(clean.operations + 1));
}

// Mid-stream: 1 MiB echoed through a relay takes over a hundred operations (window
// updates, full packets, short sends). The link failing at any of them must end the
// stream with a prefix of what was sent and leave the daemon serving.
std::uint64_t stream(std::optional<std::uint64_t> fail_at, std::size_t& echoed) {
  world w;
  auto& phone = w.plug("phone", fail_at);
  auto& c = w.client();
  auto result = w.ask(c, 1, "Connect",
                      {{"DeviceID", w.devices.find_udid("phone")}, {"PortNumber", htons(1000)}});
  std::string sent(1024 * 1024, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('a' + i % 23);
  if (result && number_in(*result) == 0) {
    c.send(sent);
    EXPECT_TRUE(w.run_until([&] { return c.inbox().size() >= sent.size() || c.closed(); }, 5s));
    EXPECT_TRUE(
        std::equal(c.inbox().begin(), c.inbox().end(), std::as_bytes(std::span(sent)).begin()))
        << "the bytes that arrived are not a prefix of those sent";
  }
  echoed = c.inbox().size();
  c.close();
  EXPECT_TRUE(w.run_until([&] { return w.devices.connections().empty(); }));
  auto& later = w.client();
  EXPECT_TRUE(w.ask(later, 2, "ListDevices")) << "the daemon stopped answering";
  return phone.operations();
}

TEST(FailureSweep, EveryOperationOfAStreamMayFail) {
  std::size_t echoed = 0;
  const auto total = stream(std::nullopt, echoed);
  ASSERT_EQ(echoed, 1024u * 1024);
  ASSERT_GT(total, 20u);
  ::testing::internal::CaptureStderr();  // over a hundred runs' worth of log lines
  for (std::uint64_t n = 0; n <= total; ++n) {
    SCOPED_TRACE("failing at operation " + std::to_string(n));
    (void)stream(n, echoed);
    if (::testing::Test::HasFailure()) break;
  }
  (void)::testing::internal::GetCapturedStderr();
  std::printf("swept %llu failure points mid-stream\n", static_cast<unsigned long long>(total + 1));
}

}  // namespace
}  // namespace tether::daemon::test

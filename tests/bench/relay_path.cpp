// The daemon's relay path without USB: a client socket, tetherd's
// relay, the host session, the in-memory link, and a device session whose app drops
// (to the phone) or makes (from the phone) the bytes. Beside it, in the same run, a
// plain relay copies between two socketpairs through one buffer: the most a relay can
// do on this machine, so the ratio between the two is what the daemon's path costs.
// The plain relay's bytes cross two sockets and the daemon's path one, so a ratio above
// 1 is possible; a bare socketpair (one crossing, no relay) is printed as the floor.
//
// Everything runs on one thread (client, relay and phone alike), so the CPU time per
// MB is one core's, endpoints included, for both relays.
//
//   relay_path [--mb N] [--rounds N] [--check RATIO]
// --check fails (exit 1) when either way moves less than RATIO times the plain relay.
#include <array>
#include <asio/executor_work_guard.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/log.hpp"
#include "daemon/device_registry.hpp"
#include "daemon/dialer.hpp"
#include "daemon/relay.hpp"
#include "usbmux/testing/memory_phone.hpp"

namespace {

using namespace tether;
using local_socket = asio::local::stream_protocol::socket;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t chunk = 65536;
const std::array<std::byte, chunk> zeros{};

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct figures {
  double mb_per_s = 0;
  double cpu_ms_per_mb = 0;
};

// Runs `io` until `done`, or fails the benchmark after `limit`: every wait is bounded.
void run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto end = clock_type::now() + limit;
  auto idle_is_not_the_end = asio::make_work_guard(io);
  if (io.stopped()) io.restart();
  while (!done()) {
    if (clock_type::now() > end) {
      std::fprintf(stderr, "relay_path: timed out\n");
      std::exit(2);
    }
    io.run_one_for(std::chrono::milliseconds(100));
  }
}

// Writes `total` zeros into `s` as fast as it takes them.
struct writer {
  local_socket& s;
  std::size_t left;
  void go() {
    if (left == 0) return;
    s.async_write_some(asio::buffer(zeros.data(), std::min(left, chunk)),
                       [this](std::error_code ec, std::size_t n) {
                         if (ec) return;
                         left -= n;
                         go();
                       });
  }
};

// Reads from `s` and counts, dropping the bytes.
struct reader {
  local_socket& s;
  std::size_t got = 0;
  bool eof = false;
  std::unique_ptr<std::byte[]> buf = std::make_unique<std::byte[]>(chunk);
  void go() {
    s.async_read_some(asio::buffer(buf.get(), chunk), [this](std::error_code ec, std::size_t n) {
      if (ec) {
        eof = true;
        return;
      }
      got += n;
      go();
    });
  }
};

template <class Fn>
figures measure(std::size_t bytes, Fn&& run) {
  const double cpu0 = cpu_seconds();
  const auto t0 = clock_type::now();
  run();
  const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double mb = static_cast<double>(bytes) / 1e6;
  return {mb / wall, (cpu_seconds() - cpu0) * 1e3 / mb};
}

// client -> [a] relay [b] -> reader, one 64 KiB buffer, read then write.
figures plain_relay(std::size_t bytes) {
  asio::io_context io;
  local_socket client(io), in(io), out(io), far(io);
  asio::local::connect_pair(client, in);
  asio::local::connect_pair(out, far);
  writer w{client, bytes};
  reader r{far};
  auto buf = std::make_unique<std::byte[]>(chunk);
  std::function<void()> pump = [&] {
    in.async_read_some(asio::buffer(buf.get(), chunk), [&](std::error_code ec, std::size_t n) {
      if (ec) return;
      asio::async_write(out, asio::buffer(buf.get(), n), [&](std::error_code e, std::size_t) {
        if (!e) pump();
      });
    });
  };
  return measure(bytes, [&] {
    w.go();
    r.go();
    pump();
    run_until(io, [&] { return r.got >= bytes; });
  });
}

// client -> reader through one socketpair, no relay: what one socket crossing costs,
// the floor under the daemon's path (which crosses one socket, where the plain relay
// crosses two).
figures one_socket(std::size_t bytes) {
  asio::io_context io;
  local_socket client(io), far(io);
  asio::local::connect_pair(client, far);
  writer w{client, bytes};
  reader r{far};
  return measure(bytes, [&] {
    w.go();
    r.go();
    run_until(io, [&] { return r.got >= bytes; });
  });
}

struct phone_bench {
  asio::io_context io;
  daemon::device_registry devices;
  std::optional<usbmux::testing::memory_phone> phone;
  std::uint32_t id = 0;

  phone_bench() {
    usbmux::phone_facts f;
    f.udid = "bench";
    f.location = (1u << 16) | 2;
    phone.emplace(io, devices, f);
    phone->serve(1000, usbmux::testing::memory_phone::app::sink);
    phone->serve(1001, usbmux::testing::memory_phone::app::source);
    phone->start();
    run_until(io, [&] { return (id = devices.find_udid("bench")) != 0; });
  }

  // Dials `port` and puts a relay on it; returns the client's end of the socket.
  local_socket relay_to(std::uint16_t port, bool& ended) {
    std::optional<daemon::dialer::outcome> outcome;
    auto d = daemon::dialer::dial(
        devices, id, port, "bench",
        [&](daemon::dialer&, daemon::dialer::outcome o, const std::string&) { outcome = o; });
    run_until(io, [&] { return outcome.has_value(); });
    if (*outcome != daemon::dialer::outcome::connected) {
      std::fprintf(stderr, "relay_path: dial failed\n");
      std::exit(2);
    }
    local_socket ours(io), theirs(io);
    asio::local::connect_pair(ours, theirs);
    daemon::relay::socket_type s(io, asio::generic::stream_protocol(AF_UNIX, 0), theirs.release());
    std::make_shared<daemon::relay>(
        std::move(s), devices, id, d->conn(), port, "bench", d->phone_closed(),
        std::vector<std::byte>{},
        [&ended](const daemon::relay::totals&, const std::string&) { ended = true; })
        ->start();
    return ours;
  }
};

figures to_phone(std::size_t bytes) {
  phone_bench b;
  bool ended = false;
  local_socket client = b.relay_to(1000, ended);
  writer w{client, bytes};
  const std::uint64_t before = b.phone->bytes_read();
  const auto f = measure(bytes, [&] {
    w.go();
    run_until(b.io, [&] { return b.phone->bytes_read() - before >= bytes; });
  });
  client.close();
  run_until(b.io, [&] { return ended; });
  return f;
}

figures from_phone(std::size_t bytes) {
  phone_bench b;
  bool ended = false;
  local_socket client = b.relay_to(1001, ended);
  reader r{client};
  const auto f = measure(bytes, [&] {
    r.go();
    run_until(b.io, [&] { return r.got >= bytes; });
  });
  client.close();
  run_until(b.io, [&] { return ended; });
  return f;
}

void print(const char* what, const figures& f, const figures& plain) {
  std::printf("%-26s %9.1f MB/s  %7.3f ms CPU/MB  %5.2fx plain\n", what, f.mb_per_s,
              f.cpu_ms_per_mb, f.mb_per_s / plain.mb_per_s);
}

}  // namespace

int main(int argc, char** argv) {
  // The daemon's attach and relay-end lines would bury the figures: warnings only.
  tether::log::set_program("relay_path");
  tether::log::set_level(tether::log::level::warn);
  std::size_t mb = 256;
  int rounds = 3;
  std::optional<double> check;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--mb") mb = std::stoul(argv[i + 1]);
    if (a == "--check") check = std::stod(argv[i + 1]);
    if (a == "--rounds") rounds = std::stoi(argv[i + 1]);
  }
  const std::size_t bytes = mb * 1000 * 1000;
  // Interleaved, best of three: a shared machine's noise hits every figure alike.
  figures plain, one, up, down;
  for (int round = 0; round < rounds; ++round) {
    const auto p = plain_relay(bytes), o = one_socket(bytes);
    const auto u = to_phone(bytes), d = from_phone(bytes);
    if (p.mb_per_s > plain.mb_per_s) plain = p;
    if (o.mb_per_s > one.mb_per_s) one = o;
    if (u.mb_per_s > up.mb_per_s) up = u;
    if (d.mb_per_s > down.mb_per_s) down = d;
  }
  std::printf("relay path, %zu MB each way, one thread, best of %d\n", mb, rounds);
  print("plain socket relay", plain, plain);
  print("one socket, no relay", one, plain);
  print("tetherd relay, to phone", up, plain);
  print("tetherd relay, from phone", down, plain);
  if (check && (up.mb_per_s < *check * plain.mb_per_s || down.mb_per_s < *check * plain.mb_per_s)) {
    std::printf("FAIL: a way moved under %.2fx the plain relay\n", *check);
    return 1;
  }
  return 0;
}

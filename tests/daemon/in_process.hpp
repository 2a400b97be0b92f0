#pragma once
// The daemon's logic in one process, without USB: a registry fed by memory_phones, the
// client sessions and forwards on one io_context, and test clients on socketpairs
// (or TCP, for forwards) that the test drives without blocking. Every wait is bounded.
#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/repeat_limiter.hpp"
#include "daemon/client_listener.hpp"
#include "daemon/client_session.hpp"
#include "daemon/daemon_context.hpp"
#include "daemon/device_registry.hpp"
#include "daemon/forward_table.hpp"
#include "daemon/pair_records.hpp"
#include "usbmux/testing/memory_phone.hpp"

namespace tether::daemon::test {

using usbmux::testing::memory_phone;
using namespace std::chrono_literals;

// One client of the daemon, seen from the outside: bytes in, bytes out.
class test_client {
 public:
  explicit test_client(int fd);
  ~test_client();
  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  // Sends what the socket takes now; the rest waits for pump().
  void send(std::span<const std::byte> bytes);
  void send(const std::string& s);
  void request(std::uint32_t tag, const std::string& message_type,
               const std::vector<std::pair<std::string, std::uint64_t>>& numbers = {});
  // Moves bytes both ways without blocking; true when the daemon closed the socket.
  bool pump();
  // The next whole usbmuxd message (its XML plist), taken out of what arrived.
  std::optional<std::string> next_message();
  // Raw bytes that arrived (after a Connect).
  std::vector<std::byte>& inbox() { return in_; }
  std::size_t unsent() const { return out_.size(); }
  bool closed() const { return eof_; }
  void close();

 private:
  int fd_;
  bool eof_ = false;
  std::vector<std::byte> in_;
  std::vector<std::byte> out_;
};

// A usbmuxd reply's Number, or -1.
long number_in(const std::string& xml);
bool has_string(const std::string& xml, const std::string& value);

class world {
 public:
  world();
  ~world();

  // Runs the io_context, pumping every client, until `done` or `timeout`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 2000ms);
  // Lets everything due happen (bounded).
  void settle(std::chrono::milliseconds quiet = 20ms);

  // A phone with an echo app on port 1000 and a held one on 2000; nothing on 3000.
  memory_phone& plug(const std::string& udid, std::optional<std::uint64_t> fail_at = {});
  void unplug(memory_phone& p);
  // A client of the usbmuxd socket, its session started.
  test_client& client();
  // A client of a client_listener on a unix socket in `dir` (made on first use), so
  // the listener's own rules (the client cap) apply.
  test_client& socket_client();
  // A TCP client of 127.0.0.1:port (a forward's).
  test_client& tcp_client(std::uint16_t port);
  // Sends a request and waits for the reply (or the socket's end).
  std::optional<std::string> ask(test_client& c, std::uint32_t tag, const std::string& type,
                                 const std::vector<std::pair<std::string, std::uint64_t>>& n = {});
  std::optional<std::string> wait_message(test_client& c,
                                          std::chrono::milliseconds timeout = 2000ms);

  asio::io_context io;
  device_registry devices;
  std::filesystem::path dir;
  pair_records records;
  base::repeat_limiter repeats;
  forward_table forwards;
  daemon_context ctx;
  std::optional<client_listener> listener;
  std::vector<std::unique_ptr<memory_phone>> phones;
  std::vector<std::unique_ptr<test_client>> clients;
  std::vector<std::weak_ptr<client_session>> sessions;
  std::uint32_t next_client = 1;
};

}  // namespace tether::daemon::test

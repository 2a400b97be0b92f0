#pragma once
// A phone_link with no USB under it: the host session talks over a memory_link to a
// device session that plays the phone, so the daemon's logic (registry, dialer,
// relay, client sessions, forwards) runs in a unit test, in-process and
// deterministically, on the test's asio::io_context.
//
// Like device_link, everything the link reports arrives from posted handlers, never
// from inside flush(), so callers may mutate the session freely around it.
//
// Failure injection (Boost.Beast's fail_count idea): fail_at(n) takes the link down
// at its nth operation (a flush, or a packet crossing the cable), so a test can sweep
// n over every operation a scenario takes and check that each ending is clean.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "usbmux/core/device_session.hpp"
#include "usbmux/core/phone_link.hpp"
#include "usbmux/testing/memory_link.hpp"

namespace tether::usbmux::testing {

class memory_phone final : public phone_link {
 public:
  // What the phone's app on a port does with a connection.
  enum class app {
    echo,    // sends back what it reads, as fast as the host takes it
    hold,    // reads nothing: the window fills and the host is held back
    sink,    // reads and drops everything, as fast as it comes (benchmarks)
    source,  // sends zeros for as long as the host takes them (benchmarks)
  };

  memory_phone(asio::io_context& io, listener& l, phone_facts facts, session_options host = {},
               device_options device = {});
  ~memory_phone() override;
  memory_phone(const memory_phone&) = delete;
  memory_phone& operator=(const memory_phone&) = delete;

  // Starts the handshake; on_ready follows once it completes.
  void start();

  const phone_facts& facts() const override { return facts_; }
  host_session& session() override { return host_; }
  void flush() override;
  void shut_down(std::error_code why, const std::string& detail = {}) override;

  // The phone's side.
  void serve(std::uint16_t port, app a);
  // A held port starts reading (and echoing) what waits.
  void release(std::uint16_t port);
  device_session& device() { return device_; }
  // Bytes the phone's apps have read, over all connections.
  std::uint64_t bytes_read() const { return bytes_read_; }
  // Pulls the cable: on_gone(link_errc::unplugged) follows, as from a device_link.
  void unplug() { shut_down(link_errc::unplugged); }

  void fail_at(std::uint64_t n) { fail_at_ = n; }
  std::uint64_t operations() const { return ops_; }
  bool gone() const { return gone_; }

 private:
  void schedule();
  void run();
  bool count_op();
  std::size_t device_events();
  void serve_connection(conn_id id);
  std::size_t host_events();
  void arm_timer();

  asio::io_context& io_;
  listener& listener_;
  phone_facts facts_;
  host_session host_;
  device_session device_;
  memory_link link_;
  asio::steady_timer timer_;
  std::map<std::uint16_t, app> apps_;
  std::map<conn_id, std::uint16_t> conns_;  // device side: connection -> port
  std::uint64_t bytes_read_ = 0;
  std::uint64_t ops_ = 0;
  std::optional<std::uint64_t> fail_at_;
  bool scheduled_ = false;
  bool ready_ = false;
  bool stopping_ = false;
  bool gone_ = false;
  std::error_code why_;
  std::string detail_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted work checks it
};

}  // namespace tether::usbmux::testing

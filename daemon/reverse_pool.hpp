#pragma once
// One reverse channel on one phone: a few mux connections kept open to the app's port,
// each joined at once to the board's service over TCP, so that the app's accept() is
// its connect() to the board. A connection counts as taken once the app has sent its
// first byte; a new spare is opened then, so one is always waiting.
//
// Bounds: at most `spec.spares` connections wait, at most max_reverse_lines exist. A
// refused connection (no app listening) or an unreachable service is retried with
// back-off, so a phone without the app costs one SYN per few seconds.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "base/quiet_timer.hpp"
#include "daemon/device_registry.hpp"
#include "proto/tetherd/control.hpp"

namespace tether::daemon {

// Spares and lines in use together, per phone: what one app can make tetherd hold.
inline constexpr std::size_t max_reverse_lines = 32;

struct reverse_backoff {
  std::chrono::milliseconds first{500};
  std::chrono::milliseconds max{5000};
};

// What all the pools of one reverse add up to, kept by the reverse (reverse_table).
struct reverse_counters {
  std::uint64_t total = 0;  // lines the app took
  std::uint64_t refused = 0;
  std::uint64_t local_failures = 0;
  std::uint64_t bytes_to_phone = 0;
  std::uint64_t bytes_from_phone = 0;
  std::string last_error;
};

class reverse_pool : public std::enable_shared_from_this<reverse_pool> {
 public:
  reverse_pool(asio::io_context& io, device_registry& devices, proto::tetherd::reverse_spec spec,
               std::uint32_t device_id, std::shared_ptr<reverse_counters> counters,
               reverse_backoff backoff = {});
  void start();
  // Closes every line (RST to the phone, FIN to the service); the counters stay.
  void stop();

  std::uint32_t device_id() const { return device_id_; }
  std::size_t spares_open() const;  // connected both ways, not taken yet
  std::size_t in_use() const;
  // "2 spares open", "waiting for the app: port 12345 is closed ...", ...
  std::string state() const;

 private:
  class line;
  void refill();
  void retry_later(const std::string& why);
  void line_failed(const std::shared_ptr<line>& l, const std::string& why);
  void line_joined();
  void line_taken();
  void line_ended(const std::shared_ptr<line>& l);

  asio::io_context& io_;
  device_registry& devices_;
  proto::tetherd::reverse_spec spec_;
  std::uint32_t device_id_;
  std::string udid_;
  std::shared_ptr<reverse_counters> counters_;
  reverse_backoff backoff_;
  std::chrono::milliseconds delay_;
  base::quiet_timer retry_timer_;
  bool waiting_ = false;     // a retry is due: no new line until then
  std::string waiting_why_;  // the last failure, said once; cleared when a line joins
  std::set<std::shared_ptr<line>> lines_;
  bool stopped_ = false;
};

}  // namespace tether::daemon

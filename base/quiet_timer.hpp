#pragma once
// A steady-clock timer on a timerfd of its own, for a daemon that must not wake while
// nothing happens. Asio's timers share one timerfd which asio re-arms for five minutes
// whenever its timer queue empties, so a program that ever armed an asio timer wakes
// every five minutes for good; this timer's descriptor is disarmed when cancelled.
// Same use as asio::steady_timer: one wait at a time; re-arming or cancelling aborts
// the pending wait (its handler gets operation_aborted).
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <system_error>

namespace tether::base {

class quiet_timer {
 public:
  using clock = std::chrono::steady_clock;
  using handler = std::function<void(std::error_code)>;

  explicit quiet_timer(asio::io_context& io);
  ~quiet_timer();
  quiet_timer(const quiet_timer&) = delete;
  quiet_timer& operator=(const quiet_timer&) = delete;

  void expires_at(clock::time_point t);
  void expires_after(clock::duration d) { expires_at(clock::now() + d); }
  void async_wait(handler h);
  void cancel();

 private:
  struct state;
  void abort_pending();
  std::shared_ptr<state> state_;
};

}  // namespace tether::base

#include "base/quiet_timer.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstdint>
#include <stdexcept>

namespace tether::base {

struct quiet_timer::state {
  asio::io_context& io;
  asio::posix::stream_descriptor fd;
  handler pending;
  std::uint64_t generation = 0;  // a wait from before a re-arm or cancel is stale

  explicit state(asio::io_context& context) : io(context), fd(context) {}

  void set(const itimerspec& spec) {
    ::timerfd_settime(fd.native_handle(), TFD_TIMER_ABSTIME, &spec, nullptr);
  }
};

quiet_timer::quiet_timer(asio::io_context& io) : state_(std::make_shared<state>(io)) {
  const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create");
  state_->fd.assign(fd);
}

quiet_timer::~quiet_timer() {
  abort_pending();
  std::error_code ignored;
  state_->fd.close(ignored);
}

void quiet_timer::abort_pending() {
  ++state_->generation;
  std::error_code ignored;
  state_->fd.cancel(ignored);  // the old wait must not pile up
  if (auto h = std::move(state_->pending)) {
    state_->pending = nullptr;
    asio::post(state_->io, [h = std::move(h)] { h(asio::error::operation_aborted); });
  }
}

void quiet_timer::expires_at(clock::time_point t) {
  abort_pending();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  itimerspec spec{};
  // steady_clock is CLOCK_MONOTONIC on Linux. A zero value would disarm: use 1 ns.
  const auto count = std::max<std::int64_t>(ns.count(), 1);
  spec.it_value.tv_sec = static_cast<time_t>(count / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(count % 1'000'000'000);
  state_->set(spec);
}

void quiet_timer::cancel() {
  abort_pending();
  state_->set(itimerspec{});
}

void quiet_timer::async_wait(handler h) {
  state_->pending = std::move(h);
  const std::uint64_t generation = state_->generation;
  state_->fd.async_wait(asio::posix::stream_descriptor::wait_read, [s = state_, generation](
                                                                       std::error_code ec) {
    if (ec == asio::error::operation_aborted || generation != s->generation) return;
    std::uint64_t expirations = 0;
    if (::read(s->fd.native_handle(), &expirations, sizeof expirations) < 0 && errno == EAGAIN) {
      return;  // disarmed between readiness and now
    }
    if (auto pending = std::move(s->pending)) {
      s->pending = nullptr;
      pending(ec);
    }
  });
}

}  // namespace tether::base

#pragma once
// The bus the virtual phones share: half-duplex, one transfer at a time, at a fixed
// byte rate, plus a fixed latency per transfer. 40 MB/s is what a USB 2 phone gives
// in practice; rate 0 means no limit (as fast as the machine goes).
#include <chrono>
#include <cstddef>
#include <mutex>

namespace tether::sim {

class usb_bus {
 public:
  using clock = std::chrono::steady_clock;

  usb_bus(double bytes_per_second, std::chrono::microseconds latency)
      : rate_(bytes_per_second), latency_(latency) {}

  bool unlimited() const { return rate_ <= 0 && latency_.count() == 0; }

  // A transfer of `bytes` handed to the bus at `now` completes at the returned time:
  // after whatever is already on the bus, plus its own time on the wire and latency.
  clock::time_point schedule(std::size_t bytes, clock::time_point now) {
    std::lock_guard lock(mu_);
    const auto start = now > free_at_ ? now : free_at_;
    const auto wire = rate_ > 0
                          ? std::chrono::duration_cast<clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(bytes) / rate_))
                          : clock::duration::zero();
    free_at_ = start + wire;
    return free_at_ + latency_;
  }

 private:
  std::mutex mu_;
  double rate_;
  std::chrono::microseconds latency_;
  clock::time_point free_at_{};
};

}  // namespace tether::sim

#pragma once
// The bus the virtual phones share, at a fixed byte rate plus a fixed latency per
// transfer. USB 2 (high speed) is half-duplex: one transfer at a time, whichever its
// direction. USB 3 (SuperSpeed) has a lane each way (dual simplex), so IN and OUT
// transfers each take their own lane's time. 40 MB/s is what a USB 2 phone gives in
// practice; rate 0 means no limit (as fast as the machine goes).
#include <chrono>
#include <cstddef>
#include <mutex>

namespace tether::sim {

class usb_bus {
 public:
  using clock = std::chrono::steady_clock;

  usb_bus(double bytes_per_second, std::chrono::microseconds latency, bool full_duplex = false)
      : rate_(bytes_per_second), latency_(latency), full_duplex_(full_duplex) {}

  bool unlimited() const { return rate_ <= 0 && latency_.count() == 0; }

  // A transfer of `bytes` handed to the bus at `now` completes at the returned time:
  // after whatever is already on its lane, plus its own time on the wire and latency.
  clock::time_point schedule(std::size_t bytes, bool in, clock::time_point now) {
    std::lock_guard lock(mu_);
    clock::time_point& free_at = full_duplex_ && in ? in_free_at_ : free_at_;
    const auto start = now > free_at ? now : free_at;
    const auto wire = rate_ > 0
                          ? std::chrono::duration_cast<clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(bytes) / rate_))
                          : clock::duration::zero();
    free_at = start + wire;
    return free_at + latency_;
  }

 private:
  std::mutex mu_;
  double rate_;
  std::chrono::microseconds latency_;
  bool full_duplex_;
  clock::time_point free_at_{};     // the whole bus (USB 2), or the OUT lane (USB 3)
  clock::time_point in_free_at_{};  // the IN lane (USB 3 only)
};

}  // namespace tether::sim

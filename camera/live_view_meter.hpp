#pragma once
// Frame rate and frame age as one consumer sees them, over a window the caller closes
// (once a second for the stats event). Age is from the backend's capture to the moment
// the consumer handed the frame on (for a controller: the write to its socket
// completed), so it includes every queue on the way.
#include <algorithm>
#include <chrono>
#include <cstdint>

namespace tether::camera {

struct live_view_stats {
  double fps = 0;          // frames delivered per second in the window
  double mean_age_ms = 0;  // capture to delivery
  double max_age_ms = 0;
  std::uint64_t delivered = 0;  // in the window
  std::uint64_t dropped = 0;    // replaced in the mailbox before being taken, in the window
};

class live_view_meter {
 public:
  using clock = std::chrono::steady_clock;
  explicit live_view_meter(clock::time_point start = clock::now()) : window_start_(start) {}

  void delivered(clock::time_point captured, clock::time_point now = clock::now()) {
    const double age = std::chrono::duration<double, std::milli>(now - captured).count();
    age_sum_ms_ += age;
    max_age_ms_ = std::max(max_age_ms_, age);
    ++delivered_;
  }
  // Closes the window; `dropped_total` is the mailbox's running count.
  live_view_stats close_window(std::uint64_t dropped_total, clock::time_point now = clock::now()) {
    live_view_stats s;
    const double seconds = std::chrono::duration<double>(now - window_start_).count();
    s.delivered = delivered_;
    s.fps = seconds > 0 ? static_cast<double>(delivered_) / seconds : 0;
    s.mean_age_ms = delivered_ > 0 ? age_sum_ms_ / static_cast<double>(delivered_) : 0;
    s.max_age_ms = max_age_ms_;
    s.dropped = dropped_total - dropped_seen_;
    dropped_seen_ = dropped_total;
    window_start_ = now;
    delivered_ = 0;
    age_sum_ms_ = 0;
    max_age_ms_ = 0;
    return s;
  }

 private:
  clock::time_point window_start_;
  std::uint64_t delivered_ = 0;
  std::uint64_t dropped_seen_ = 0;
  double age_sum_ms_ = 0;
  double max_age_ms_ = 0;
};

}  // namespace tether::camera

#pragma once
// Live view to browsers: every frame becomes one part of a multipart/x-mixed-replace
// body, built once and offered to each /stream.mjpg client (a client that is still
// writing an older part gets this one instead of the one waiting). Also the figures the
// page shows: fps, frame age, size, gaps. Use it on the io thread only.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "viewer/http_server.hpp"
#include "viewer/live_frame.hpp"

namespace tether::viewer {

class mjpeg_fanout {
 public:
  static constexpr const char* content_type = "multipart/x-mixed-replace; boundary=tetherframe";

  explicit mjpeg_fanout(std::size_t max_streams) : max_streams_(max_streams) {}
  bool full();  // max_streams clients already
  void add(std::shared_ptr<http_stream> s);
  void publish(const live_frame& f);
  // frames, fps, age_ms, width, height, gaps, streams, replaced (parts slow clients missed)
  nlohmann::json figures();

 private:
  void prune();
  std::size_t max_streams_;
  std::vector<std::weak_ptr<http_stream>> streams_;
  std::deque<std::chrono::steady_clock::time_point> recent_;  // arrivals, last 2 s
  std::uint64_t frames_ = 0, gaps_ = 0, replaced_ = 0;
  std::uint32_t last_sequence_ = 0;
  double age_ms_ = 0;
  std::uint16_t width_ = 0, height_ = 0;
};

}  // namespace tether::viewer

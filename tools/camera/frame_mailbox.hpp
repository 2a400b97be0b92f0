#pragma once
// A one-slot mailbox for live-view frames: the camera thread puts, a consumer takes.
// A put replaces a frame nobody took yet, so a slow consumer gets fewer frames, never
// older ones, and the memory held per consumer is one frame whatever its speed.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "tools/camera/camera_backend.hpp"

namespace tether::camera {

class frame_mailbox {
 public:
  using frame_ptr = std::shared_ptr<const preview_frame>;

  // Returns true when the slot was empty: the consumer may be idle and needs waking.
  // When it replaces an untaken frame, that frame is counted as dropped.
  bool put(frame_ptr f) {
    std::lock_guard lock(m_);
    const bool was_empty = !slot_;
    if (!was_empty) ++dropped_;
    slot_ = std::move(f);
    return was_empty;
  }
  // The newest frame, or nullptr when none arrived since the last take.
  frame_ptr take() {
    std::lock_guard lock(m_);
    return std::move(slot_);
  }
  std::uint64_t dropped() const { return dropped_; }

 private:
  std::mutex m_;
  frame_ptr slot_;
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace tether::camera

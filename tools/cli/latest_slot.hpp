#pragma once
// A one-slot mailbox between two threads: put() replaces a value nobody took yet, so
// the taker gets fewer values, never older ones, and the slot holds one at most (as
// tools/camera/frame_mailbox.hpp does for tether-camera's consumers).
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

namespace tether::cli {

template <class T>
class latest_slot {
 public:
  // True when the slot was empty: the taker may need telling.
  bool put(T v) {
    std::lock_guard lock(m_);
    const bool was_empty = !slot_;
    if (!was_empty) ++replaced_;
    slot_ = std::move(v);
    return was_empty;
  }
  std::optional<T> take() {
    std::lock_guard lock(m_);
    return std::exchange(slot_, std::nullopt);
  }
  std::uint64_t replaced() {
    std::lock_guard lock(m_);
    return replaced_;
  }

 private:
  std::mutex m_;
  std::optional<T> slot_;
  std::uint64_t replaced_ = 0;
};

}  // namespace tether::cli

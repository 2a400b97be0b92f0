#pragma once
// A one-slot mailbox between two threads: put() replaces a value nobody took yet, so a
// slow taker gets fewer values, never older ones, and the slot holds one at most
// whatever the taker's speed (live-view frames from a camera thread to each consumer).
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

namespace tether::base {

template <class T>
class latest_slot {
 public:
  // True when the slot was empty: the taker may be idle and need waking. A value
  // replaced untaken is counted.
  bool put(T v) {
    std::lock_guard lock(m_);
    const bool was_empty = !slot_;
    if (!was_empty) ++replaced_;
    slot_ = std::move(v);
    return was_empty;
  }
  // The newest value, or nothing when none arrived since the last take.
  std::optional<T> take() {
    std::lock_guard lock(m_);
    return std::exchange(slot_, std::nullopt);
  }
  // Values replaced before anyone took them; readable from any thread.
  std::uint64_t replaced() const { return replaced_; }

 private:
  std::mutex m_;
  std::optional<T> slot_;
  std::atomic<std::uint64_t> replaced_{0};
};

}  // namespace tether::base

#pragma once
// A FIFO of bytes that hands out its contents as one contiguous span, so a reader
// can pass it straight to write(2), and lends its free room as one span, so a writer
// can read(2) straight into it (prepare/commit, Boost.Beast's dynamic-buffer idiom).
// Capacity is bounded by whoever appends; the storage is compacted lazily so appends
// and consumes stay amortised O(n).
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

namespace tether::usbmux {

class byte_fifo {
 public:
  std::size_t size() const { return tail_ - head_; }
  bool empty() const { return head_ == tail_; }
  std::span<const std::byte> data() const { return {buf_.get() + head_, size()}; }

  void append(std::span<const std::byte> bytes) {
    if (bytes.empty()) return;
    std::memcpy(prepare(bytes.size()).data(), bytes.data(), bytes.size());
    commit(bytes.size());
  }

  // Room for n more bytes at the back, for the caller to fill in place (a socket read)
  // and then commit(). Any other call on the FIFO takes the room back.
  std::span<std::byte> prepare(std::size_t n) {
    if (capacity_ - tail_ < n) {
      // Slide the live bytes down when they are no more than the dead ones before them
      // (so each byte moves at most once on average); otherwise grow.
      if (head_ != 0 && head_ >= size()) compact();
      if (capacity_ - tail_ < n) grow(tail_ + n);
    }
    prepared_ = n;
    return {buf_.get() + tail_, n};
  }

  // Appends the first n bytes of the room prepare() gave; false, and nothing appended,
  // when n exceeds that room (or it was taken back). Either way the room is gone.
  bool commit(std::size_t n) {
    const bool fits = n <= prepared_;
    prepared_ = 0;
    if (fits) tail_ += n;
    return fits;
  }

  // Removes n bytes from the front; n must not exceed size().
  void consume(std::size_t n) {
    head_ += n;
    prepared_ = 0;
    if (head_ == tail_) head_ = tail_ = 0;
  }

  void clear() { head_ = tail_ = prepared_ = 0; }

 private:
  void compact() {
    const std::size_t n = size();
    if (n != 0) std::memmove(buf_.get(), buf_.get() + head_, n);
    head_ = 0;
    tail_ = n;
  }

  // Not zero-filled: room that is never written costs address space, not memory.
  void grow(std::size_t at_least) {
    const std::size_t cap = std::max(at_least, capacity_ + capacity_ / 2);
    auto bigger = std::make_unique_for_overwrite<std::byte[]>(cap);
    if (size() != 0) std::memcpy(bigger.get(), buf_.get() + head_, size());
    tail_ -= head_;
    head_ = 0;
    buf_ = std::move(bigger);
    capacity_ = cap;
  }

  // [head_, tail_) holds the bytes; the storage past tail_ is room, kept for reuse.
  std::unique_ptr<std::byte[]> buf_;
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
  std::size_t prepared_ = 0;
};

}  // namespace tether::usbmux

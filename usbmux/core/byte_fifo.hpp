#pragma once
// A FIFO of bytes that hands out its contents as one contiguous span, so a reader
// can pass it straight to write(2). Capacity is bounded by whoever appends; the
// storage is compacted lazily so appends and consumes stay amortised O(n).
#include <cstddef>
#include <cstring>
#include <span>
#include <vector>

namespace tether::usbmux {

class byte_fifo {
 public:
  std::size_t size() const { return buf_.size() - head_; }
  bool empty() const { return head_ == buf_.size(); }
  std::span<const std::byte> data() const { return {buf_.data() + head_, size()}; }

  void append(std::span<const std::byte> bytes) {
    if (head_ != 0 && head_ >= buf_.size() / 2) compact();
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  }

  // Removes n bytes from the front; n must not exceed size().
  void consume(std::size_t n) {
    head_ += n;
    if (head_ == buf_.size()) clear();
  }

  void clear() {
    buf_.clear();
    head_ = 0;
  }

 private:
  void compact() {
    const std::size_t n = size();
    if (n != 0) std::memmove(buf_.data(), buf_.data() + head_, n);
    buf_.resize(n);
    head_ = 0;
  }

  std::vector<std::byte> buf_;
  std::size_t head_ = 0;
};

}  // namespace tether::usbmux

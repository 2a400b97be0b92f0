#pragma once
// Splits the bulk IN byte stream into mux packets using each header's length field.
// Transfers may coalesce several packets or split one across many; both work.
// Whole packets found in the input are handed out in place; only a packet that
// straddles two feeds is copied, into a buffer no larger than the packet limit.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "usbmux/core/errc.hpp"
#include "usbmux/core/mux_header.hpp"

namespace tether::usbmux {

class packet_framer {
 public:
  explicit packet_framer(std::uint32_t max_packet) : max_packet_(max_packet) {}

  // Calls `on_packet(std::span<const std::byte>) -> std::error_code` once per complete
  // packet, in order. Stops at the first error, from framing or from the callback.
  template <class OnPacket>
  std::error_code feed(std::span<const std::byte> in, OnPacket&& on_packet);

  std::size_t buffered() const { return partial_.size(); }
  // After a framing error: what was wrong, with the offending value.
  const std::string& error_detail() const { return detail_; }

 private:
  // Length of the packet starting at `head`, or an error; 0 means "need more bytes".
  std::error_code check_length(std::span<const std::byte, v1_header_size> head,
                               std::uint32_t& length);

  std::uint32_t max_packet_;
  std::vector<std::byte> partial_;  // bytes of one incomplete packet
  std::string detail_;
};

inline std::error_code packet_framer::check_length(std::span<const std::byte, v1_header_size> head,
                                                   std::uint32_t& length) {
  length = peek_bounds(head).length;
  if (length < v1_header_size) {
    detail_ = "mux packet length " + std::to_string(length) + " is shorter than its " +
              std::to_string(v1_header_size) + "-byte header";
    return errc::bad_packet_length;
  }
  if (length > max_packet_) {
    detail_ = "mux packet length " + std::to_string(length) + " exceeds the maximum " +
              std::to_string(max_packet_);
    return errc::packet_too_large;
  }
  return {};
}

template <class OnPacket>
std::error_code packet_framer::feed(std::span<const std::byte> in, OnPacket&& on_packet) {
  std::uint32_t length = 0;
  // First complete a packet left over from the previous feed.
  if (!partial_.empty()) {
    if (partial_.size() < v1_header_size) {
      const std::size_t take = std::min(v1_header_size - partial_.size(), in.size());
      partial_.insert(partial_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
      in = in.subspan(take);
      if (partial_.size() < v1_header_size) return {};
    }
    if (auto ec = check_length(
            std::span<const std::byte, v1_header_size>(partial_.data(), v1_header_size), length)) {
      partial_.clear();
      return ec;
    }
    const std::size_t take = std::min<std::size_t>(length - partial_.size(), in.size());
    partial_.insert(partial_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
    in = in.subspan(take);
    if (partial_.size() < length) return {};
    std::error_code ec = on_packet(std::span<const std::byte>(partial_));
    partial_.clear();
    if (ec) return ec;
  }
  // Then every whole packet straight from the input.
  while (in.size() >= v1_header_size) {
    if (auto ec = check_length(in.first<v1_header_size>(), length)) return ec;
    if (in.size() < length) break;
    if (auto ec = on_packet(in.first(length))) return ec;
    in = in.subspan(length);
  }
  partial_.assign(in.begin(), in.end());
  return {};
}

}  // namespace tether::usbmux

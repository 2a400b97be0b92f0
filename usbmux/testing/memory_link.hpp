#pragma once
// Joins two sessions the way a USB cable does: every packet one side pulls is one
// transfer to the other. A chunker may re-cut the byte stream on arrival (split a
// packet, coalesce several) to show that nothing depends on transfer boundaries.
// Used by the tests, the benchmarks and the engine demo; no I/O of any kind.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <system_error>
#include <vector>

#include "usbmux/core/session.hpp"

namespace tether::usbmux::testing {

enum class direction { to_device, to_host };

class memory_link {
 public:
  // Returns the size of the next chunk to deliver out of `pending` bytes (>= 1).
  using chunker = std::function<std::size_t(std::size_t pending)>;
  using tap = std::function<void(direction, std::span<const std::byte> packet)>;

  memory_link(session& host, session& device);

  void set_chunker(chunker c) { chunker_ = std::move(c); }
  void set_tap(tap t) { tap_ = std::move(t); }

  // Moves packets both ways until neither side has one due, or up to max_packets.
  // Returns how many packets crossed. A fatal receive error stops it (see error()).
  std::size_t pump(std::size_t max_packets = SIZE_MAX);

  std::error_code error() const { return error_; }

 private:
  std::size_t move(session& from, session& to, direction d, std::size_t budget);
  void deliver(session& to, std::vector<std::byte>& pending);

  session& host_;
  session& device_;
  chunker chunker_;
  tap tap_;
  std::vector<std::byte> packet_;
  std::vector<std::byte> pending_[2];
  std::error_code error_;
};

}  // namespace tether::usbmux::testing

#pragma once
// Apps listening on the virtual iPhone's ports. Each reacts to the device session's
// events for its connections; none does I/O of its own.
#include <cstdint>
#include <memory>

#include "usbmux/core/device_session.hpp"

namespace tether::sim {

class phone_app {
 public:
  virtual ~phone_app() = default;
  virtual void on_accept(usbmux::device_session& s, usbmux::conn_id id) = 0;
  // Called when bytes wait or send space opened; move what can be moved.
  virtual void on_ready(usbmux::device_session& s, usbmux::conn_id id) = 0;
};

// Sends back whatever arrives; stops reading while its replies cannot be queued.
std::unique_ptr<phone_app> make_echo_app();
// Streams `bytes` of a counting pattern on every connection, then keeps it open.
std::unique_ptr<phone_app> make_source_app(std::uint64_t bytes);
// Reads and drops everything.
std::unique_ptr<phone_app> make_sink_app();

// The byte at `offset` of a source app's stream, so a reader can check what it got.
inline std::byte source_pattern(std::uint64_t offset) {
  return static_cast<std::byte>((offset * 131u + (offset >> 8)) & 0xff);
}

}  // namespace tether::sim

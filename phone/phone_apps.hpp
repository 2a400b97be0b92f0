#pragma once
// Apps listening on the virtual iPhone's ports. Each reacts to the device session's
// events for its connections; none does I/O of its own.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "usbmux/core/device_session.hpp"

namespace tether::sim {

// What an app with I/O of its own (a TCP relay) needs from whoever runs the phone:
// a way back in when its socket is ready, outside any USB request.
struct app_host {
  virtual ~app_host() = default;
  // Runs `f` on the phone's current session under the phone's lock (nullptr while no
  // mux configuration is active), then puts whatever became due onto the bus.
  virtual void with_session(const std::function<void(usbmux::device_session*)>& f) = 0;
};

class phone_app {
 public:
  virtual ~phone_app() = default;
  // Whether a SYN may be accepted now; an app that is not there yet says no, and the
  // host's connection is refused.
  virtual bool ready_to_accept() { return true; }
  virtual void on_accept(usbmux::device_session& s, usbmux::conn_id id) = 0;
  // Called when bytes wait or send space opened; move what can be moved.
  virtual void on_ready(usbmux::device_session& s, usbmux::conn_id id) = 0;
  // The connection ended (host RST, or the mux restarted); the id is gone.
  virtual void on_closed(usbmux::conn_id) {}
  // The same end, told while the mux lives on (the host's RST, a violation: not a
  // replug, a mux restart, a kill or reset_connections, which call on_closed alone), so
  // an app can turn to its other connections on `s` at once. The id is still in `s`
  // (dead, its unread bytes readable) until this returns. Calls on_closed by default.
  virtual void on_ended(usbmux::device_session&, usbmux::conn_id id) { on_closed(id); }
  // The app went to the background (true) or came back (false). The phone stops calling
  // on_accept and on_ready meanwhile; an app with I/O of its own stops it too.
  virtual void on_suspended(bool) {}
  void set_host(app_host* host) { host_ = host; }

 protected:
  app_host* host_ = nullptr;
};

// Sends back whatever arrives; stops reading while its replies cannot be queued.
std::unique_ptr<phone_app> make_echo_app();
// Streams `bytes` of a counting pattern on every connection, then keeps it open.
std::unique_ptr<phone_app> make_source_app(std::uint64_t bytes);
// Reads and drops everything.
std::unique_ptr<phone_app> make_sink_app();

// Relays each connection to a TCP server on this machine, so any program can play the
// iOS app: bytes both ways, backpressure both ways, either side's close ends both.
std::unique_ptr<phone_app> make_tcp_relay_app(std::string host, std::uint16_t port);
// The same for any stream socket: `open` returns a connected socket for each new
// connection, or -1 to refuse it (the app is not there).
std::unique_ptr<phone_app> make_socket_relay_app(std::function<int()> open);

// The byte at `offset` of a source app's stream, so a reader can check what it got.
inline std::byte source_pattern(std::uint64_t offset) {
  return static_cast<std::byte>((offset * 131u + (offset >> 8)) & 0xff);
}

}  // namespace tether::sim
